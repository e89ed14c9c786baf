"""The Flask host: one factory that wires the runtime, the blueprints, JSON errors and the CLI.

gunicorn runs ``connector.app:create_app()``; tests pass their own settings and
runtime. Everything the views need lives in ``app.extensions["connector"]`` (the
``Runtime``), so there is no module-level state and two apps never share one.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from flask import Flask, Response, redirect, request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from connector.config import InsecureSecretKey, Settings, check_secret_key
from connector.core.errors import ConnectorError, ProviderError, ValidationError
from connector.core.runtime import Runtime
from connector.request_context import EXTENSION, current_runtime, error_response

__all__ = ["EXTENSION", "create_app", "current_runtime", "error_response"]

#: Any request body above this is refused with 413 before it is read. The webhook route
#: (``CONNECTOR_WEBHOOK_MAX_BYTES``) and the API set their own limits per request.
MAX_CONTENT_LENGTH = 1_048_576

#: Paths whose errors are always JSON.
_JSON_PREFIXES = ("/api/", "/webhooks/", "/healthz")
#: The browser-facing console: its errors are HTML pages.
_ADMIN_PREFIX = "/admin"
#: A console session ends after this long without a request (the signed cookie carries its own age).
ADMIN_SESSION_IDLE = timedelta(hours=12)

log = logging.getLogger("connector.web")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app. Without a ``runtime`` one is built from ``settings`` (or the environment)."""
    if runtime is None and settings is None:
        settings = Settings.from_env()
    settings = settings or runtime.settings  # type: ignore[union-attr]
    # Before anything starts (jobs, plugins): a server that would sign forgeable sessions does not start.
    try:
        check_secret_key(settings.secret_key)
    except InsecureSecretKey as exc:
        log.critical("%s", exc)  # gunicorn shows this line; the exception stops the worker's boot
        raise
    if runtime is None:
        from connector.bootstrap import build_runtime

        runtime = build_runtime(settings)

    app = Flask("connector")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        MAX_FORM_MEMORY_SIZE=500_000,
        MAX_FORM_PARTS=1_000,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=min(ADMIN_SESSION_IDLE, timedelta(hours=settings.session_lifetime_hours)),
    )
    if settings.trusted_proxies:
        # Only then is X-Forwarded-For believed (the last N hops); otherwise anyone could pick their address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = runtime

    from connector.admin import bp as admin_bp
    from connector.api import bp as api_bp
    from connector.routing import CONVERTERS
    from connector.shop_install_routes import bp as shop_install_bp
    from connector.webhooks import bp as webhooks_bp

    app.url_map.converters.update(CONVERTERS)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(shop_install_bp)
    _register_error_handlers(app)
    _register_security_headers(app, hsts=settings.secure_cookies)
    from connector.webhooks.fast_path import webhook_fast_path

    # Outermost: a delivery that is stored answers here, without Flask's request cycle (see fast_path.py).
    app.wsgi_app = webhook_fast_path(  # type: ignore[method-assign,assignment]
        app.wsgi_app, runtime, hsts=HSTS if settings.secure_cookies else None
    )
    _register_root_routes(app)
    _register_cli(app)
    return app


# -- errors ------------------------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.path.startswith(_JSON_PREFIXES) or request.path in {"/api", "/webhooks"}


def _wants_admin_html() -> bool:
    return request.path == _ADMIN_PREFIX or request.path.startswith(_ADMIN_PREFIX + "/")


def _admin_error(
    status: int, message: str, *, fix: str | None = None, fields: dict[str, Any] | None = None
) -> BaseResponse:
    from connector.admin.error_pages import render_error

    return render_error(status, message, fix=fix, fields={k: str(v) for k, v in (fields or {}).items()})


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ConnectorError)
    def connector_error(exc: ConnectorError) -> BaseResponse:
        if exc.status_code >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.path, exc.message)
        if _wants_admin_html():
            fix = exc.fix if isinstance(exc, ProviderError) else None
            fields_ = exc.fields if isinstance(exc, ValidationError) else None
            return _admin_error(exc.status_code, _sentence(exc.message), fix=fix, fields=fields_)
        fields: dict[str, Any] | None = None
        details: dict[str, Any] | None = None
        if isinstance(exc, ValidationError):
            fields = dict(exc.fields)
        elif isinstance(exc, ProviderError):
            details = {"fix": exc.fix, "retryable": exc.retryable}
        elif exc.details:
            details = dict(exc.details)
        return error_response(
            exc.status_code,
            exc.code,
            exc.message,
            fields=fields,
            details=details,
            headers=getattr(exc, "headers", None),
        )

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError) -> BaseResponse:
        # The database went away mid-request: nothing was committed, so a retry is safe (and Shopify retries).
        log.error("database error on %s %s: %s", request.method, request.path, type(exc.orig).__name__)
        if _wants_admin_html():
            return _admin_error(503, "The database is unavailable; nothing was changed.")
        return error_response(
            503,
            "unavailable",
            "the database is unavailable; nothing was changed, retry shortly",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> BaseResponse | HTTPException:
        if _wants_admin_html():
            return _admin_error(500, "An unexpected error happened; it was logged.")
        if not _wants_json():
            return exc
        return error_response(
            500, "internal_error", "unexpected error; it was logged. Retry, and report it if it persists."
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> BaseResponse | HTTPException:
        if _wants_admin_html() and exc.code is not None and exc.code >= 400:
            message = "There is no page at this address." if exc.code == 404 else (exc.description or exc.name)
            response = _admin_error(exc.code, message)
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        if not _wants_json() or exc.code is None:
            return exc
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        code = {413: "payload_too_large", 405: "method_not_allowed", 404: "not_found"}.get(exc.code, _snake(exc.name))
        message = exc.description or exc.name
        if exc.code == 404:
            message = f"no such resource: {request.path} (the API is described at /api/v1/openapi.json)"
        elif exc.code == 405:
            allowed = headers.get("Allow", "")
            message = f"{request.method} is not allowed on {request.path}" + (f"; use {allowed}" if allowed else "")
        elif exc.code == 413:
            limit = request.max_content_length
            message = "request body too large" + (f"; the limit is {limit} bytes" if limit else "")
        return error_response(exc.code, code, message, headers=headers)


def _sentence(message: str) -> str:
    """A core message (lower-case, no full stop, made for JSON) as a sentence for a page."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


# -- headers on every response --------------------------------------------------------------------------------

#: One year, the usual HSTS max-age; sent only when the operator said the site is HTTPS (secure cookies).
HSTS = "max-age=31536000; includeSubDomains"


def _register_security_headers(app: Flask, *, hsts: bool) -> None:
    """Every answer (API, console, webhooks, errors): never content-sniffed; HTTPS-only once TLS is declared."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


# -- health and root ----------------------------------------------------------------------------------------


def _register_root_routes(app: Flask) -> None:
    @app.get("/")
    def index() -> Response:
        # The front door is the console (which sends a signed-out visitor to its sign-in page).
        return redirect("/admin", code=302)  # type: ignore[return-value]

    from connector.api.openapi import operation
    from connector.api.schemas import HealthSchema

    @app.get("/healthz")
    @operation(
        summary="Liveness and dependencies",
        description="200 when the database (and Redis, when configured) answer; 503 otherwise.",
        tag="health",
        public=True,
        responses={200: ("Everything answers", HealthSchema), 503: ("A dependency is down", HealthSchema)},
    )
    def healthz() -> tuple[dict[str, Any], int]:
        rt = current_runtime()
        checks: dict[str, str] = {}
        try:
            with rt.sessions() as s:
                s.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            checks["database"] = f"error: {type(exc).__name__}"
        if rt.settings.redis_url:
            checks["redis"] = _ping_redis(rt.settings.redis_url)
        else:
            checks["redis"] = "not configured"
        checks["jobs"] = rt.settings.jobs_mode
        healthy = checks["database"] == "ok" and checks["redis"] in {"ok", "not configured"}
        return HealthSchema().dump({"status": "ok" if healthy else "unavailable", "checks": checks}), (
            200 if healthy else 503
        )


def _ping_redis(url: str) -> str:
    try:
        from redis import Redis

        client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - never echo the URL (it may hold a password)
        return f"error: {type(exc).__name__}"


# -- CLI ----------------------------------------------------------------------------------------------------


def _register_cli(app: Flask) -> None:
    """Mount the ``connector`` commands so ``flask --app connector.app <command>`` works too."""
    from connector.cli import main as cli_group

    for name, command in cli_group.commands.items():
        if name not in app.cli.commands:
            app.cli.add_command(command, name)
