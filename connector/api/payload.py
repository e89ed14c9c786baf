"""Reading request input through marshmallow schemas into the core's ``ValidationError``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import Schema, fields
from marshmallow import ValidationError as SchemaError

from connector.api.schemas import CONTROL_CHARACTERS, STORED_ID_MAX
from connector.core.errors import ConnectorError, NotFoundError, ValidationError


class InvalidJsonError(ConnectorError):
    status_code = 400
    code = "invalid_json"


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested ``{"field": ["msg", ...]}`` as ``{"field": "msg ..."}`` (dotted for nesting)."""
    if isinstance(messages, Mapping):
        out: dict[str, str] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_messages(value, name))
        return out
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": " ".join(messages)}
        out = {}
        for item in messages:
            out.update(flatten_messages(item, prefix))
        return out
    return {prefix or "_schema": str(messages)}


_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def _bad_text(value: Any, path: str, out: dict[str, str]) -> None:
    """Every string in ``value`` (at any depth) with a control character or a lone surrogate, by dotted path."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            out[path] = "plain text without control characters (tab and line breaks are allowed)"
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                out[path] = "valid Unicode text (a lone surrogate such as \\ud800 is not a character)"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _bad_text(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _bad_text(item, f"{path}.{n}", out)


def _load(schema: Schema, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    # Refused here for every field at once: no text the API stores or searches takes control characters
    # (PostgreSQL refuses NUL outright, which was a 500), and the document declares it as each string's pattern.
    problems: dict[str, str] = {}
    _bad_text(data, "", problems)
    if problems:
        summary = "; ".join(f"{name}: {text}" for name, text in problems.items())
        raise ValidationError(f"invalid {what}: {summary}", fields=problems)
    try:
        loaded: dict[str, Any] = schema.load(data)
    except SchemaError as exc:
        problems = flatten_messages(exc.messages)
        summary = "; ".join(f"{name}: {text}" for name, text in problems.items())
        raise ValidationError(f"invalid {what}: {summary}", fields=problems) from None
    _refuse_unstored_ids(schema, loaded)
    return loaded


def _refuse_unstored_ids(schema: Schema, loaded: Mapping[str, Any]) -> None:
    """404 for an id in the API's 64-bit range that no row can have (the columns are 32-bit on PostgreSQL).

    Checked before any query: PostgreSQL would refuse the value ("integer out of range", a 500), and a CSV
    export would fail after its first bytes were sent.
    """
    unstored: dict[str, str] = {}
    for name, f in schema.fields.items():
        inner = f.inner if isinstance(f, fields.List) else f
        if not (isinstance(inner, fields.Integer) and inner.metadata.get("format") == "int64"):
            continue
        value = loaded.get(name)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, int) and v > STORED_ID_MAX for v in values):
            unstored[f.data_key or name] = f"no record has this id (ids go up to {STORED_ID_MAX})"
    if unstored:
        raise NotFoundError(f"not found: {', '.join(unstored)} names no record", fields=unstored)


def _no_constant(name: str) -> Any:
    # Python's decoder takes NaN and Infinity, which are not JSON and mean nothing as an amount or an id.
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (RFC 8259) from request bytes, or ``InvalidJsonError`` (400) saying what is wrong.

    A document nested thousands deep exhausts the decoder's recursion (a ``RecursionError``, once a 500);
    no request this API takes nests more than a few levels, so it is refused as malformed input.
    """
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidJsonError("the request body is nested too deeply; send a flat JSON object") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidJsonError(f"the request body is not valid JSON: {exc}") from None


def load_body(schema: Schema) -> dict[str, Any]:
    """The JSON object body validated by ``schema``; an empty body counts as ``{}``."""
    raw = request.get_data(cache=True)
    data: Any = {} if not raw.strip() else parse_json(raw)
    if not isinstance(data, dict):
        raise ValidationError(
            "the request body must be a JSON object", fields={"_body": f"got a JSON {type(data).__name__}"}
        )
    return _load(schema, data, "request body")


def load_form(schema: Schema) -> dict[str, Any]:
    """A multipart upload's text fields validated by ``schema`` (a repeated field is refused, not dropped)."""
    if None in request.form:
        # werkzeug gives a part whose Content-Disposition name it cannot read (``name="D\"``) the key None.
        raise ValidationError(
            "invalid form fields: a part has no readable name",
            fields={"_form": 'give every part a plain name, like Content-Disposition: form-data; name="file"'},
        )
    repeated = sorted(name for name, values in request.form.lists() if len(values) > 1)
    if repeated:
        raise ValidationError(
            f"invalid form fields: {', '.join(repeated)} given more than once",
            fields={name: "give this field once" for name in repeated},
        )
    return _load(schema, request.form.to_dict(flat=True), "form fields")


def load_query(schema: Schema) -> dict[str, Any]:
    """The query string validated by ``schema`` (a repeated parameter is refused, not silently dropped)."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise ValidationError(
            f"invalid query parameters: {', '.join(repeated)} given more than once",
            fields={name: "give this parameter once" for name in repeated},
        )
    return _load(schema, request.args.to_dict(flat=True), "query parameters")
