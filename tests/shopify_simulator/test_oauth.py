"""The simulator's OAuth side: authorize, the three grants, rotation, expiry, revocation, lost answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import requests

from shopify_sim import SimControlError, SimServer
from shopify_sim.app import UNAUTHORIZED_BODY

from .oauth_flow import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORDERS_PAGE,
    REDIRECT_URI,
    authorize,
    callback_params,
    exchange,
    install,
    refresh,
    status_with,
    token_request,
)


def _grants(sim: SimServer) -> dict[str, int]:
    return sim.control("stats")["token_grants"]


# -- authorize ----------------------------------------------------------------------------
def test_authorize_redirects_to_the_callback_with_a_hex_hmac_an_app_can_verify(sim: SimServer) -> None:
    response = authorize(sim, state="nonce-42")
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    params = callback_params(response)
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert params["shop"] == "sim-shop.myshopify.com"
    assert params["state"] == "nonce-42"
    assert params["timestamp"].isdigit()
    padded = params["host"] + "=" * (-len(params["host"]) % 4)
    assert base64.b64decode(padded).decode() == "admin.shopify.com/store/sim-shop"

    # What the connector's callback does: hex HMAC-SHA256 keyed by the client secret over the
    # other parameters sorted by name, k=v joined with &.
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    expected = hmac.new(CLIENT_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(params["hmac"], expected)
    wrong_key = hmac.new(b"another-secret", message.encode(), hashlib.sha256).hexdigest()
    assert params["hmac"] != wrong_key


def test_authorize_keeps_a_query_already_on_the_redirect_uri(sim: SimServer) -> None:
    response = authorize(sim, redirect_uri="https://connector.example/cb?brand=7", state=None)
    assert response.headers["Location"].startswith("https://connector.example/cb?brand=7&code=")
    params = callback_params(response)
    assert "state" not in params
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "brand"))
    assert params["hmac"] == hmac.new(CLIENT_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_authorize_refusals_never_redirect(sim: SimServer) -> None:
    wrong_client = authorize(sim, client_id="someone-else")
    assert wrong_client.status_code == 400
    assert "Location" not in wrong_client.headers
    assert "client_id" in wrong_client.text

    sim.control("config", {"redirect_uris": [REDIRECT_URI]})
    assert authorize(sim).status_code == 302
    elsewhere = authorize(sim, redirect_uri="https://attacker.example/cb")
    assert elsewhere.status_code == 400 and "Location" not in elsewhere.headers
    assert "redirect_uri" in elsewhere.text

    bad_scope = authorize(sim, scope="read_orders,DROP TABLE")
    assert bad_scope.status_code == 400 and "invalid_scope" in bad_scope.text

    sim.control("config", {"auto_approve": False})
    declined = authorize(sim)
    assert declined.status_code == 403 and "Location" not in declined.headers

    outcomes = [(g["status"], g["error"]) for g in sim.control("oauth/grants")["grants"]]
    assert outcomes == [
        (400, "invalid_request"),
        (302, None),
        (400, "invalid_request"),
        (400, "invalid_scope"),
        (403, "access_denied"),
    ]


# -- authorization code grant -------------------------------------------------------------
def test_expiring_code_grant_answers_like_shopify_and_the_token_works(sim: SimServer) -> None:
    code = callback_params(authorize(sim))["code"]
    response = exchange(sim, code)  # form-encoded, expiring=1
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert body["scope"] == "read_orders,write_orders"
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 90 * 86400
    assert body["access_token"] != body["refresh_token"]
    assert status_with(sim, body["access_token"]) == 200
    assert status_with(sim, body["refresh_token"]) == 401  # a refresh token is not an access token
    assert _grants(sim) == {"authorization_code": 1, "refresh_token": 0, "client_credentials": 0}

    log = sim.control("oauth/grants")["grants"]
    exchanged = log[-1]
    assert exchanged["grant"] == "authorization_code" and exchanged["expiring"] is True
    assert exchanged["status"] == 200
    text = json.dumps(log) + json.dumps(sim.control("oauth/tokens"))
    for secret in (body["access_token"], body["refresh_token"], code, CLIENT_SECRET):
        assert secret not in text


def test_a_code_is_good_once(sim: SimServer) -> None:
    code = callback_params(authorize(sim))["code"]
    assert exchange(sim, code).status_code == 200
    again = exchange(sim, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_request"
    assert "error_description" in again.json()
    assert sim.control("oauth/tokens")["count"] == 2  # one access + one refresh token, not four
    assert _grants(sim)["authorization_code"] == 1


def test_a_code_expires(sim: SimServer) -> None:
    sim.control("config", {"authorization_code_lifetime_seconds": 0})
    response = exchange(sim, callback_params(authorize(sim))["code"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert sim.control("oauth/tokens")["count"] == 0


def test_without_expiring_the_token_never_expires_and_the_request_is_recorded(sim: SimServer) -> None:
    code = callback_params(authorize(sim))["code"]
    response = exchange(sim, code, expiring=False, as_json=True)  # JSON is accepted too
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope"}
    assert sim.control("stats")["non_expiring_offline_tokens"] == 1
    assert sim.control("oauth/grants")["grants"][-1]["expiring"] is False
    sim.control("oauth/expire", {})
    assert status_with(sim, body["access_token"]) == 200


def test_granted_scopes_setting_overrides_what_was_asked(sim: SimServer) -> None:
    sim.control("config", {"granted_scopes": ["read_orders"]})
    assert install(sim, scope="read_orders,write_orders")["scope"] == "read_orders"


def test_client_authentication_and_malformed_requests(sim: SimServer) -> None:
    code = callback_params(authorize(sim))["code"]
    wrong = token_request(sim, {"client_id": CLIENT_ID, "client_secret": "guess", "code": code, "expiring": "1"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = token_request(sim, {"client_id": "other", "client_secret": CLIENT_SECRET, "code": code})
    assert unknown.status_code == 401
    missing = token_request(sim, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    odd = token_request(sim, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "password"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"
    assert sim.control("oauth/tokens")["count"] == 0
    # The refused attempts did not spend the code.
    assert exchange(sim, code).status_code == 200


# -- refresh ------------------------------------------------------------------------------
def test_refresh_rotates_both_tokens_and_keeps_the_old_refresh_token_until_a_new_one_is_used(
    sim: SimServer,
) -> None:
    first = install(sim)
    second = refresh(sim, first["refresh_token"], as_json=True)
    assert second.status_code == 200
    pair = second.json()
    assert set(pair) == {"access_token", "scope", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert pair["access_token"] != first["access_token"]
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["scope"] == first["scope"]

    # Nothing of the new pair used yet: the old refresh token still works (a lost answer is recoverable).
    third = refresh(sim, first["refresh_token"]).json()
    assert _grants(sim)["refresh_token"] == 2

    # The app uses the new refresh token: the one it replaced is retired for good.
    assert refresh(sim, third["refresh_token"]).status_code == 200
    refused = refresh(sim, first["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert _grants(sim)["refresh_token"] == 3


def test_using_the_new_access_token_retires_the_old_refresh_token(sim: SimServer) -> None:
    first = install(sim)
    new = refresh(sim, first["refresh_token"]).json()
    assert status_with(sim, new["access_token"]) == 200
    assert refresh(sim, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(sim, new["refresh_token"]).status_code == 200
    retired = [t for t in sim.control("oauth/tokens")["tokens"] if t["status"] == "retired"]
    assert [t["id"] for t in retired] == ["rt-1"]  # rt-2 waits for its own replacement to be used


def test_lost_refresh_answer_is_recovered_by_retrying_the_old_refresh_token(sim: SimServer) -> None:
    first = install(sim)
    sim.control("faults", {"queue": [{"kind": "after_effect_500", "operation": "oauth:refresh_token"}]})
    # A GraphQL request does not spend the token endpoint's fault.
    assert status_with(sim, first["access_token"]) == 200
    lost = refresh(sim, first["refresh_token"])
    assert lost.status_code == 500
    assert "access_token" not in lost.text
    assert _grants(sim)["refresh_token"] == 1  # Shopify did the refresh; the answer was lost

    retried = refresh(sim, first["refresh_token"])
    assert retried.status_code == 200
    recovered = retried.json()
    assert status_with(sim, recovered["access_token"]) == 200
    assert refresh(sim, first["refresh_token"]).json()["error"] == "invalid_grant"
    log = [g for g in sim.control("oauth/grants")["grants"] if g.get("grant") == "refresh_token"]
    assert [(g["status"], g["fault"]) for g in log] == [(200, "after_effect_500"), (200, None), (400, None)]


def test_lost_refresh_answer_by_timeout(sim: SimServer) -> None:
    first = install(sim)
    lose = {"kind": "after_effect_timeout", "operation": "oauth:access_token", "seconds": 1}
    sim.control("faults", {"queue": [lose]})
    with pytest.raises(requests.Timeout):
        refresh(sim, first["refresh_token"], timeout=0.3)
    assert refresh(sim, first["refresh_token"]).status_code == 200
    assert _grants(sim)["refresh_token"] == 2


def test_faults_stay_on_their_side(sim: SimServer) -> None:
    first = install(sim)
    sim.control("faults", {"queue": [{"kind": "503"}]})  # unscoped: GraphQL only
    assert refresh(sim, first["refresh_token"]).status_code == 200
    assert status_with(sim, sim.access_token) == 503
    with pytest.raises(SimControlError, match="cannot fire on the token endpoint"):
        sim.control("faults", {"queue": [{"kind": "throttled", "operation": "oauth:refresh_token"}]})
    sim.control("faults", {"queue": [{"kind": "503", "operation": "oauth:refresh_token"}]})
    second = install(sim)  # authorization_code grant: not this fault's
    assert refresh(sim, second["refresh_token"]).status_code == 503
    assert refresh(sim, second["refresh_token"]).status_code == 200  # a pre-empting fault issued nothing


# -- expiry and revocation ----------------------------------------------------------------
def test_expired_tokens_get_shopifys_401_and_a_refresh_brings_access_back(sim: SimServer) -> None:
    first = install(sim)
    assert sim.control("oauth/expire", {}) == {"expired": 1}
    response = sim.graphql(ORDERS_PAGE, token=first["access_token"])
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED_BODY
    new = refresh(sim, first["refresh_token"]).json()
    assert status_with(sim, new["access_token"]) == 200
    assert status_with(sim, sim.access_token) == 200  # the static token is not an issued one


def test_a_zero_lifetime_token_is_expired_on_arrival(sim: SimServer) -> None:
    sim.control("config", {"access_token_lifetime_seconds": 0})
    first = install(sim)
    assert first["expires_in"] == 0
    assert status_with(sim, first["access_token"]) == 401


def test_revoking_one_token_or_all(sim: SimServer) -> None:
    one, two = install(sim), install(sim)
    assert sim.control("oauth/revoke", {"token": one["access_token"]}) == {"revoked": 1}
    assert status_with(sim, one["access_token"]) == 401
    assert status_with(sim, two["access_token"]) == 200
    assert sim.control("oauth/revoke", {}) == {"revoked": 3}  # two's pair and one's refresh token
    assert status_with(sim, two["access_token"]) == 401
    assert refresh(sim, two["refresh_token"]).json()["error"] == "invalid_grant"
    assert status_with(sim, sim.access_token) == 200
    assert sim.control("oauth/revoke", {"token": sim.access_token}) == {"revoked": 1}
    assert status_with(sim, sim.access_token) == 401
    with pytest.raises(SimControlError, match="404"):
        sim.control("oauth/revoke", {"token": "shpat_never_issued"})


# -- client credentials -------------------------------------------------------------------
def test_client_credentials_grant(sim: SimServer) -> None:
    response = token_request(
        sim, {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in"}
    assert body["expires_in"] == 86399
    assert "read_orders" in body["scope"].split(",")
    assert status_with(sim, body["access_token"]) == 200
    assert _grants(sim) == {"authorization_code": 0, "refresh_token": 0, "client_credentials": 1}
    wrong = token_request(sim, {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"})
    assert wrong.status_code == 401
    assert _grants(sim)["client_credentials"] == 1
