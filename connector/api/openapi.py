"""The OpenAPI 3.1 document, generated from the routes and their marshmallow schemas.

Each view carries an ``Operation`` (set by ``@operation``) naming its schemas,
responses and errors; the document walks ``app.url_map``, so a route exists in
the document exactly when it exists in the app. Component schemas come from the
marshmallow schemas through ``JsonSchemaConverter`` (field type → JSON Schema),
never from a hand-kept copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify
from marshmallow import Schema, fields, validate
from marshmallow.utils import missing
from werkzeug.routing import Rule

import connector
from connector.api.blueprint import bp
from connector.api.schemas import ID_MAX, NOT_BLANK_PATTERN, PLAIN_TEXT_PATTERN, ErrorSchema
from connector.config import Settings
from connector.core.platform_refs import REF_PATTERN

ATTR = "__openapi__"
_DOCUMENT_KEY = "connector.openapi"
F = TypeVar("F", bound=Callable[..., Any])

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request body is not valid JSON.",
    401: "Missing, invalid or revoked bearer token (see WWW-Authenticate).",
    403: "The token's role may not do this.",
    404: "Not found, or not visible to this token's brand.",
    409: "Conflicts with the current state (illegal transition, reused Idempotency-Key).",
    413: "The request body is over the limit.",
    502: "The shop (or another provider) did not answer as expected; `error.details` says whether to retry.",
    422: "Invalid input: `error.fields` names each bad field or parameter and what is wrong with it.",
    503: "A dependency (the database) is unavailable, or a setting the operation needs is not set (the message "
    "names it); nothing was changed.",
}


@dataclass(frozen=True)
class HeaderParam:
    name: str
    description: str
    max_length: int | None = None
    required: bool = False
    #: The JSON Schema ``pattern`` the value must match, when the server checks its characters.
    pattern: str | None = None


@dataclass(frozen=True)
class Operation:
    """What the document says about one view."""

    summary: str
    tag: str
    responses: Mapping[int, tuple[str, type[Schema] | None]]
    description: str = ""
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    headers: tuple[HeaderParam, ...] = ()
    response_headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    #: No bearer token needed (the API's auth check reads this flag too).
    public: bool = False
    #: A raw (unparsed, signed) body: its description; ``body`` is then ignored.
    raw_body: str | None = None
    #: A ``multipart/form-data`` body: its text fields (``form``) and file parts (name → description).
    form: type[Schema] | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    #: The largest body this operation accepts, in bytes or read from the settings; None: the API's 64 KiB.
    max_bytes: int | Callable[[Settings], int] | None = None
    #: Responses that are not JSON: status → media type (e.g. ``{200: "text/csv"}``).
    media_types: Mapping[int, str] = field(default_factory=dict)
    #: Path parameters that take a fixed list of values (name → the values), declared as an ``enum``.
    path_enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def operation(**kwargs: Any) -> Callable[[F], F]:
    """Attach an ``Operation`` to a view function."""
    op = Operation(**kwargs)

    def attach(view: F) -> F:
        setattr(view, ATTR, op)
        return view

    return attach


def operation_of(view: Callable[..., Any] | None) -> Operation | None:
    return getattr(view, ATTR, None) if view is not None else None


# -- marshmallow → JSON Schema ------------------------------------------------------------------------------


class JsonSchemaConverter:
    """Turns marshmallow schemas into JSON Schema (2020-12, as OpenAPI 3.1 uses) component schemas.

    Request schemas list their ``required`` fields and refuse unknown ones;
    response schemas list every field as required (it is always present,
    possibly null) unless its metadata says ``optional``.
    """

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, tuple[type[Schema], bool]] = {}

    @staticmethod
    def name_of(schema: type[Schema]) -> str:
        return schema.__name__.removesuffix("Schema") or schema.__name__

    def ref(self, schema: type[Schema] | Schema, *, response: bool) -> dict[str, Any]:
        cls = schema if isinstance(schema, type) else type(schema)
        name = self.name_of(cls)
        owner = self._owners.get(name)
        if owner is None:
            self._owners[name] = (cls, response)
            self.components[name] = {}  # placeholder first: a schema may nest itself
            self.components[name] = self.object_schema(cls, response=response)
        elif owner != (cls, response):
            raise ValueError(f"two schemas (or one in two roles) would both be called {name!r} in the document")
        return {"$ref": f"#/components/schemas/{name}"}

    def object_schema(self, schema: type[Schema], *, response: bool) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, f in schema().fields.items():
            if (f.dump_only and not response) or (f.load_only and response):
                continue
            key = f.data_key or name
            properties[key] = self.field_schema(f, response=response)
            if (f.required and not response) or (response and not f.metadata.get("optional")):
                required.append(key)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if not response:
            out["additionalProperties"] = False
        if schema.__doc__ and schema.__doc__.strip():
            out["description"] = schema.__doc__.strip().splitlines()[0]
        return out

    def field_schema(self, f: fields.Field, *, response: bool) -> dict[str, Any]:
        out = self._type_of(f, response=response)
        for validator in f.validators:
            out.update(self._validator(validator, out))
        if f.metadata.get("format"):
            out["format"] = f.metadata["format"]
        if not response and out.get("type") == "string" and not {"enum", "format", "pattern"} & set(out):
            # What ``payload`` and the core refuse in any text: control characters, and blank required text.
            out["pattern"] = NOT_BLANK_PATTERN if out.get("minLength", 0) >= 1 else PLAIN_TEXT_PATTERN
        if f.allow_none:
            out = self._nullable(out)
        if f.metadata.get("description"):
            out["description"] = f.metadata["description"]
        if not response and f.load_default is not missing and not callable(f.load_default):
            out["default"] = f.load_default
        return out

    def _type_of(self, f: fields.Field, *, response: bool) -> dict[str, Any]:
        # Subclasses before their bases: AwareDateTime is a DateTime, Email and Url are Strings.
        if isinstance(f, fields.Nested):
            target = f.nested() if callable(f.nested) and not isinstance(f.nested, type) else f.nested
            ref = self.ref(target, response=response)  # type: ignore[arg-type]
            return {"type": "array", "items": ref} if f.many else ref
        if isinstance(f, fields.List):
            return {"type": "array", "items": self.field_schema(f.inner, response=response)}
        if isinstance(f, fields.Tuple):
            items = [self.field_schema(inner, response=response) for inner in f.tuple_fields]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        if isinstance(f, fields.Mapping):
            values = f.value_field
            return {
                "type": "object",
                "additionalProperties": self.field_schema(values, response=response) if values else {},
            }
        if isinstance(f, fields.Boolean):
            return {"type": "boolean"}
        if isinstance(f, fields.Integer):
            return {"type": "integer"}
        if isinstance(f, fields.Number):
            return {"type": "number"}
        if isinstance(f, fields.DateTime):
            return {"type": "string", "format": "date-time"}
        if isinstance(f, fields.Date):
            return {"type": "string", "format": "date"}
        if isinstance(f, fields.Time):
            return {"type": "string", "format": "time"}
        if isinstance(f, fields.Email):
            return {"type": "string", "format": "email"}
        if isinstance(f, fields.Url):
            return {"type": "string", "format": "uri"}
        if isinstance(f, fields.UUID):
            return {"type": "string", "format": "uuid"}
        if isinstance(f, fields.Enum):
            return {"enum": [m.value if f.by_value else m.name for m in f.enum]}
        if isinstance(f, fields.String):
            return {"type": "string"}
        if isinstance(f, fields.Constant):
            return {"const": f.constant}
        return {}

    @staticmethod
    def _validator(v: object, current: Mapping[str, Any]) -> dict[str, Any]:
        array = current.get("type") == "array"
        if isinstance(v, validate.OneOf):
            return {"enum": list(v.choices)}
        if isinstance(v, validate.Length):
            lo, hi = ("minItems", "maxItems") if array else ("minLength", "maxLength")
            if v.equal is not None:
                return {lo: v.equal, hi: v.equal}
            return {k: n for k, n in ((lo, v.min), (hi, v.max)) if n is not None}
        if isinstance(v, validate.Range):
            out: dict[str, Any] = {}
            if v.min is not None:
                out["minimum" if v.min_inclusive else "exclusiveMinimum"] = v.min
            if v.max is not None:
                out["maximum" if v.max_inclusive else "exclusiveMaximum"] = v.max
            return out
        if isinstance(v, validate.Regexp):
            return {"pattern": v.regex.pattern}
        return {}

    @staticmethod
    def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return {"anyOf": [schema, {"type": "null"}]}
        out = dict(schema)
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out


# -- the document --------------------------------------------------------------------------------------------

_RULE_ARG = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_]\w*)>")
_PATH_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": ID_MAX},
    "float": {"type": "number"},
    "uuid": {"type": "string"},
    "ref": {"type": "string", "pattern": REF_PATTERN, "minLength": 1, "maxLength": 100},
}


def openapi_path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """``/x/<int:id>`` → ``/x/{id}`` and its path parameters."""
    params = [
        {
            "name": m.group("name"),
            "in": "path",
            "required": True,
            "schema": dict(_PATH_TYPES.get(m.group("converter") or "", {"type": "string"})),
        }
        for m in _RULE_ARG.finditer(rule.rule)
    ]
    return _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule.rule), params


def _operation(
    op: Operation,
    endpoint: str,
    path_params: list[dict[str, Any]],
    conv: JsonSchemaConverter,
    error_ref: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": endpoint, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = [
        {**p, "schema": {"type": "string", "enum": list(op.path_enums[p["name"]])}} if p["name"] in op.path_enums else p
        for p in path_params
    ]
    if op.query is not None:
        for name, f in op.query().fields.items():
            schema = conv.field_schema(f, response=False)
            param: dict[str, Any] = {
                "name": f.data_key or name,
                "in": "query",
                "required": bool(f.required),
                "schema": {k: v for k, v in schema.items() if k != "description"},
            }
            if "description" in schema:
                param["description"] = schema["description"]
            params.append(param)
    for header in op.headers:
        header_schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if header.max_length:
            header_schema["maxLength"] = header.max_length
        if header.pattern:
            header_schema["pattern"] = header.pattern
        params.append(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "description": header.description,
                "schema": header_schema,
            }
        )
    if params:
        out["parameters"] = params
    if op.form is not None or op.files:
        form: dict[str, Any] = (
            conv.object_schema(op.form, response=False) if op.form is not None else {"type": "object"}
        )
        properties = dict(form.get("properties", {}))
        required = list(form.get("required", []))
        for name, text in op.files.items():
            properties[name] = {"type": "string", "contentMediaType": "application/octet-stream", "description": text}
            required.append(name)
        multipart: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            multipart["required"] = required
        out["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": multipart}}}
    elif op.raw_body is not None:
        out["requestBody"] = {
            "required": True,
            "description": op.raw_body,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    elif op.body is not None:
        body_required = any(f.required for f in op.body().fields.values())
        out["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": conv.ref(op.body, response=False)}},
        }
    responses: dict[str, Any] = {}
    for status, (description, response_schema) in sorted(op.responses.items()):
        media = op.media_types.get(status, "application/json")
        if response_schema is not None:
            body_schema = conv.ref(response_schema, response=True)
        else:
            body_schema = {"type": "object"} if media == "application/json" else {"type": "string"}
        entry: dict[str, Any] = {"description": description, "content": {media: {"schema": body_schema}}}
        headers = op.response_headers.get(status)
        if headers:
            entry["headers"] = {
                name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
            }
        responses[str(status)] = entry
    errors = set(op.errors)
    if not op.public:
        errors.add(401)
    if op.body is not None or op.query is not None or op.headers or op.form is not None or op.files:
        errors.add(422)
    if any(_names_ids(schema) for schema in (op.body, op.query, op.form)):
        errors.add(404)  # an id names no record (see payload._refuse_unstored_ids)
    if op.body is not None:
        errors.update({400, 413})
    if op.form is not None or op.files:
        errors.add(413)
    for status in sorted(errors):
        if str(status) in responses:
            continue
        entry = {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {"schema": error_ref}}}
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"description": 'Bearer realm="connector"', "schema": {"type": "string"}}
            }
        responses[str(status)] = entry
    out["responses"] = responses
    if op.public:
        out["security"] = []
    return out


def _names_ids(schema: type[Schema] | None) -> bool:
    """Whether a request schema takes an id (at any depth): a record it names may not exist (404)."""
    if schema is None:
        return False
    for f in schema().fields.values():
        inner = f.inner if isinstance(f, fields.List) else f
        if isinstance(inner, fields.Integer) and inner.metadata.get("format") == "int64":
            return True
        if isinstance(inner, fields.Nested) and isinstance(inner.nested, type) and _names_ids(inner.nested):
            return True
    return False


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every documented route of ``app``."""
    conv = JsonSchemaConverter()
    error_ref = conv.ref(ErrorSchema, response=True)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions.get(rule.endpoint))
        if op is None:
            continue
        path, path_params = openapi_path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(op, rule.endpoint, path_params, conv, error_ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "connector API",
            "version": connector.__version__,
            "description": (
                "Loyalty reward redemptions turned into real fulfillment. Every /api/v1 route except this "
                "document needs `Authorization: Bearer <token>`; create a token with "
                "`connector tokens create --name NAME --role ROLE [--brand SLUG]`. Errors have one shape: "
                '`{"error": {"code", "message", "fields"?, "details"?}}`. Datetimes are ISO 8601 in UTC.'
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [
            {"name": "redemptions", "description": "Claim, list, inspect, reverse and retry rewards."},
            {"name": "members", "description": "Members and their points."},
            {
                "name": "platform",
                "description": "The loyalty platform's integration: members, rewards and redemptions by its own ids, "
                "and signed webhooks when a redemption moves (docs/platform-integration.md).",
            },
            {"name": "rewards", "description": "The rewards catalogue: what points buy, its SKUs and limits."},
            {"name": "shops", "description": "Connected shops: connection, status, scopes, webhooks, health."},
            {"name": "users", "description": "Console users: invite, role and scope, disable, password links."},
            {"name": "tokens", "description": "API tokens: create (the secret shown once) and revoke."},
            {"name": "audit", "description": "Who changed which user or token, when, before and after."},
            {"name": "webhooks", "description": "Signed deliveries from providers such as Shopify."},
            {"name": "health", "description": "Liveness."},
            {"name": "meta", "description": "This description."},
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(conv.components.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `connector tokens create`; stored hashed, shown once.",
                }
            },
        },
        "security": [{"bearerAuth": []}],
    }


@bp.get("/openapi.json")
@operation(
    summary="This OpenAPI 3.1 document",
    tag="meta",
    public=True,
    responses={200: ("The OpenAPI document", None)},
)
def openapi_document() -> Response:
    doc = current_app.extensions.get(_DOCUMENT_KEY)
    if doc is None:
        doc = current_app.extensions[_DOCUMENT_KEY] = build_document(current_app)
    return jsonify(doc)
