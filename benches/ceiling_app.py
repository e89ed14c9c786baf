"""The ceilings the connector's webhook route is measured against (served by gunicorn).

One Flask app, three rungs chosen with ``BENCH_CEILING_MODE``, each doing a little more of
what ``POST /webhooks/shopify`` does:

* ``bare``: read the body, answer 200 (Flask + gunicorn + the load generator, nothing else);
* ``hmac-redis``: verify the base64 HMAC-SHA256 of the raw body (secret held in memory, bytes
  compared in constant time), ``LPUSH`` the body to a Redis list, answer 200;
* ``hmac-pg-redis``: the same plus one ``INSERT`` into a PostgreSQL table (autocommit), which is
  the shape of the DESIGN's "HMAC + PostgreSQL insert + Redis push" figure.

Environment: ``BENCH_WEBHOOK_SECRET``, ``BENCH_REDIS_URL``, ``BENCH_REDIS_KEY`` and, for
``hmac-pg-redis``, ``BENCH_DATABASE_URL`` (a libpq URL; the table is ``bench_ceiling``).

Run: ``gunicorn --chdir benches 'ceiling_app:create_app()'`` (``webhook_ingest.py`` does it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

from flask import Flask, Response, request

MODES = ("bare", "hmac-redis", "hmac-pg-redis")


def _json(body: bytes, status: int) -> Response:
    return Response(body, status=status, mimetype="application/json")


def create_app() -> Flask:
    mode = os.environ.get("BENCH_CEILING_MODE", "hmac-redis")
    if mode not in MODES:
        raise ValueError(f"BENCH_CEILING_MODE must be one of {MODES}, not {mode!r}")
    app = Flask("ceiling")
    secret = os.environ.get("BENCH_WEBHOOK_SECRET", "").encode()
    redis_key = os.environ.get("BENCH_REDIS_KEY", "bench:ceiling")
    redis_client = None
    if mode != "bare":
        from redis import Redis

        redis_client = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    local = threading.local()

    def pg_connection():  # one autocommit connection per gunicorn thread
        conn = getattr(local, "conn", None)
        if conn is None:
            import psycopg

            conn = psycopg.connect(database_url, autocommit=True)
            local.conn = conn
        return conn

    @app.post("/webhooks/shopify")
    def receive() -> Response:
        body = request.get_data(cache=False)
        if mode == "bare":
            return _json(b'{"status":"accepted"}', 200)
        provided = request.headers.get("X-Shopify-Hmac-Sha256", "").encode("ascii", "replace")
        expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, provided):
            return _json(b'{"error":{"code":"webhook_rejected"}}', 401)
        if mode == "hmac-pg-redis":
            pg_connection().execute(
                "INSERT INTO bench_ceiling (webhook_id, body) VALUES (%s, %s)",
                (request.headers.get("X-Shopify-Webhook-Id"), body.decode("utf-8")),
            )
        assert redis_client is not None
        redis_client.lpush(redis_key, body)
        return _json(b'{"status":"accepted"}', 200)

    return app
