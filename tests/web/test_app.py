"""The app factory: health, the front door, JSON errors under /api and /webhooks, the CLI."""

from __future__ import annotations

import json

from connector.app import create_app
from connector.core.model import Role
from tests.web.support import bearer, make_token


def test_app_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured", "jobs": "sync"},
    }


def test_app_healthz_is_503_when_a_dependency_is_down(make_runtime):
    rt = make_runtime(redis_url="redis://127.0.0.1:1/0")
    response = create_app(runtime=rt).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ") and "127.0.0.1" not in body["checks"]["redis"]


def test_app_database_down_is_503_json_not_500(make_runtime, rt, world):
    token = make_token(rt, Role.SUPPORT)
    down = make_runtime(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    client = create_app(runtime=down).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["checks"]["database"].startswith("error: ")
    response = client.get("/api/v1/redemptions", headers=bearer(token))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable" and response.headers["Retry-After"] == "5"


def test_app_root_redirects_to_the_admin_console(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin"


def test_app_unknown_api_path_and_wrong_method_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/redemptions")
    assert response.status_code == 405
    error = response.get_json()["error"]
    assert error["code"] == "method_not_allowed" and "GET" in error["message"] and "POST" in error["message"]
    assert "POST" in response.headers["Allow"]


def test_app_unexpected_error_is_a_json_500(rt, world):
    app = create_app(runtime=rt)

    def boom() -> None:
        raise RuntimeError("kaboom with a secret inside")

    app.add_url_rule("/api/v1/boom", "boom", boom)
    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "internal_error" and "secret" not in error["message"]


def test_app_uses_the_settings_secret_key_and_limits(settings, rt):
    app = create_app(settings=settings, runtime=rt)
    assert app.config["SECRET_KEY"] == settings.secret_key
    assert app.config["MAX_CONTENT_LENGTH"] >= 1_000_000
    assert app.extensions["connector"] is rt


def test_app_builds_its_own_runtime_from_settings(settings):
    app = create_app(settings)
    rt = app.extensions["connector"]
    assert rt.settings is settings and rt.dispatcher is not None
    assert app.test_client().get("/healthz").status_code == 200


def test_app_mounts_the_connector_commands_and_runs_them(app):
    assert {"db", "plugins", "shops", "tokens", "sweep"} <= set(app.cli.commands)
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    assert "shopify" in {p["name"] for p in json.loads(result.output)}


def test_every_answer_is_nosniff_and_hsts_only_with_secure_cookies(rt, world, tokens):
    import dataclasses

    plain = create_app(runtime=rt).test_client()
    tls = create_app(settings=dataclasses.replace(rt.settings, secure_cookies=True), runtime=rt).test_client()
    requests = [
        ("get", "/healthz", {}),
        ("get", "/api/v1/redemptions", {"headers": bearer(tokens.support)}),
        ("get", "/api/v1/redemptions", {}),  # a 401
        ("get", "/api/v1/no-such-thing", {}),  # a 404
        ("get", "/api/v1/openapi.json", {}),
        ("post", "/webhooks/shopify", {"data": b"{}"}),  # unsigned: refused
        ("get", "/admin/login", {}),
        ("get", "/", {}),
    ]
    for method, url, kwargs in requests:
        answer = getattr(plain, method)(url, **kwargs)
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", (url, answer.status_code)
        assert "Strict-Transport-Security" not in answer.headers, url
        secure = getattr(tls, method)(url, **kwargs)
        assert secure.headers.get("X-Content-Type-Options") == "nosniff", url
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000"), url
