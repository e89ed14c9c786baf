"""Bearer tokens: missing, malformed, unknown and revoked tokens get 401 with a way forward."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from connector.core.catalog import hash_token
from connector.core.database import transaction
from connector.core.tables import ApiToken
from tests.web.support import bearer

URL = "/api/v1/redemptions"


def _unauthorized(response, *, invalid_token: bool) -> str:
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid_token
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert "connector tokens create" in error["message"]
    return error["message"]


def test_api_without_token_is_401_with_how_to_get_one(client, tokens):
    assert _unauthorized(client.get(URL), invalid_token=False).startswith("missing bearer token")


def test_api_malformed_or_unknown_token_is_401(client, tokens):
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"):
        _unauthorized(client.get(URL, headers={"Authorization": header}), invalid_token=False)
    message = _unauthorized(client.get(URL, headers=bearer("cn_not-a-real-token")), invalid_token=True)
    assert message.startswith("invalid bearer token")
    # A non-ASCII token (Werkzeug hands header bytes over as latin-1) is a 401, never a 500.
    _unauthorized(client.get(URL, headers={"Authorization": "Bearer caf\u00e9"}), invalid_token=True)


def test_api_revoked_token_is_401(client, rt, tokens):
    assert client.get(URL, headers=bearer(tokens.support)).status_code == 200
    with transaction(rt.sessions) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_token(tokens.support))
            .values(revoked_at=datetime.now(UTC))
        )
    message = _unauthorized(client.get(URL, headers=bearer(tokens.support)), invalid_token=True)
    assert "revoked" in message


def test_api_every_route_but_the_document_needs_a_token(app, client, tokens):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)  # every URL variable, whatever the route
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_api_last_used_at_is_written_at_most_once_a_minute(client, rt, tokens):
    start = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    clock = {"now": start}
    rt.now = lambda: clock["now"]

    def last_used() -> datetime | None:
        with rt.sessions() as s:
            return s.scalar(select(ApiToken.last_used_at).where(ApiToken.token_hash == hash_token(tokens.viewer)))

    assert last_used() is None
    assert client.get(URL, headers=bearer(tokens.viewer)).status_code == 200
    assert last_used() == start
    clock["now"] = start + timedelta(seconds=30)
    assert client.get(URL, headers=bearer(tokens.viewer)).status_code == 200
    assert last_used() == start
    clock["now"] = start + timedelta(seconds=61)
    assert client.get(URL, headers=bearer(tokens.viewer)).status_code == 200
    assert last_used() == start + timedelta(seconds=61)


def test_api_tokens_are_stored_hashed(rt, tokens):
    with rt.sessions() as s:
        hashes = set(s.scalars(select(ApiToken.token_hash)))
    assert tokens.support not in hashes and hash_token(tokens.support) in hashes
