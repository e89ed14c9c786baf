"""Serving the simulator over real HTTP on 127.0.0.1.

:class:`SimServer` runs it on an ephemeral port in a background thread for tests and
benchmarks (a real socket, so client timeouts, retries and connection handling are
exercised exactly as against Shopify); :func:`run` serves it in the foreground for the
demo and the ``connector shopify-sim`` CLI command.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from shopify_sim.app import SimState, create_sim_app, sim_state
from shopify_sim.config import API_VERSION


class SimControlError(RuntimeError):
    """A control-API call answered with HTTP 4xx/5xx."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"simulator control call failed with HTTP {status}: {body}")
        self.status = status
        self.body = body


def _handler_for(state: SimState) -> type[WSGIRequestHandler]:
    """A request handler that logs only when the simulator's ``verbose`` setting is on."""

    class Handler(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
            if state.config.verbose:
                super().log(type, message, *args)

    return Handler


def _serve(app: Flask, host: str, port: int) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True, request_handler=_handler_for(sim_state(app)))
    server.daemon_threads = True  # a request sleeping in a timeout fault must not block shutdown
    return server


class SimServer:
    """The simulator on ``127.0.0.1:<ephemeral port>`` in a background thread.

    Usage::

        with SimServer(latency_ms=5, bucket_size=200) as sim:
            sim.control("products", {"sku": "REWARD-1", "inventory": 3})
            requests.post(sim.graphql_url, json={...}, headers={"X-Shopify-Access-Token": sim.access_token})

    Keyword arguments are :class:`~shopify_sim.config.SimConfig` settings.
    ``sim.state`` gives in-process access to the store, buckets, faults and stats.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.host = host
        self._requested_port = port
        self.app = create_sim_app(**config)
        self.state: SimState = sim_state(self.app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> SimServer:
        """Bind and start serving (idempotent)."""
        if self._server is None:
            self._server = _serve(self.app, self.host, self._requested_port)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"shopify-sim-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (requests still sleeping are abandoned)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self.state.webhooks.stop()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("SimServer is not running; call start() or use it as a context manager")
        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what replaces ``https://{shop}.myshopify.com`` for a client."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Same as :attr:`base_url` (the server's root URL)."""
        return self.base_url

    def graphql_endpoint(self, version: str | None = None) -> str:
        """``{base_url}/admin/api/{version}/graphql.json``."""
        return f"{self.base_url}/admin/api/{version or API_VERSION}/graphql.json"

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint for the pinned API version."""
        return self.graphql_endpoint()

    @property
    def access_token(self) -> str:
        """The token the simulator currently accepts."""
        return self.state.config.access_token

    # -- conveniences -----------------------------------------------------------------
    def control(
        self, path: str, json: Any = None, method: str | None = None, check: bool = True, timeout: float = 30.0
    ) -> Any:
        """Call ``/_sim/<path>``: POST when ``json`` is given, else GET (or ``method``).

        Returns the decoded JSON body; raises :class:`SimControlError` on HTTP >= 400
        unless ``check`` is false.
        """
        verb = method or ("POST" if json is not None else "GET")
        response = requests.request(verb, f"{self.base_url}/_sim/{path.lstrip('/')}", json=json, timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if check and response.status_code >= 400:
            raise SimControlError(response.status_code, body)
        return body

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
        version: str | None = None,
        timeout: float = 30.0,
    ) -> requests.Response:
        """POST a GraphQL document the way a Shopify client does; returns the raw response."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return requests.post(
            self.graphql_endpoint(version),
            json=body,
            timeout=timeout,
            headers={"X-Shopify-Access-Token": self.access_token if token is None else token},
        )


def run(host: str = "127.0.0.1", port: int = 6789, **config: Any) -> None:
    """Serve the simulator in the foreground until interrupted (Ctrl-C).

    ``host``/``port``: where to listen (default ``127.0.0.1:6789``; use port 0 for any).
    Other keyword arguments are :class:`~shopify_sim.config.SimConfig` settings:

    * ``access_token`` (str): token required in ``X-Shopify-Access-Token``;
    * ``latency_ms`` (float): delay added to every GraphQL request;
    * ``bucket_size`` (float, default 2000) and ``restore_rate`` (float, default 100/s):
      the leaky bucket; ``max_query_cost`` (int, default 1000);
    * ``search_lag_seconds`` (float): new orders stay invisible to ``orders(query:)``;
    * ``missing_scopes`` (list/comma string): scopes answered with ``ACCESS_DENIED``;
    * ``webhook_target_url``, ``webhook_secret``, ``webhook_topics``,
      ``webhook_timeout_seconds``: webhook delivery;
    * ``shop_domain``, ``shop_id``, ``currency``, ``api_version``;
    * ``timeout_seconds`` (sleep of timeout faults), ``retry_after`` (429 header),
      ``job_delay_seconds`` (orderCancel job), ``verbose`` (log each request).
    * ``client_id``, ``client_secret``, ``redirect_uris``, ``granted_scopes``,
      ``auto_approve``: the installed app on the OAuth side;
    * ``access_token_lifetime_seconds`` (3600), ``refresh_token_lifetime_seconds`` (90 days),
      ``client_credentials_lifetime_seconds`` (86399), ``authorization_code_lifetime_seconds`` (60).

    Everything can be changed later through ``POST /_sim/config``.
    """
    app = create_sim_app(**config)
    state = sim_state(app)
    server = _serve(app, host, port)
    bound = f"http://{host}:{server.server_port}"
    print(
        f"Shopify simulator (Admin GraphQL {state.config.api_version}) on {bound}\n"
        f"  GraphQL: {bound}/admin/api/{state.config.api_version}/graphql.json\n"
        f"  token:   {state.config.access_token}\n"
        f"  OAuth:   {bound}/admin/oauth/authorize, {bound}/admin/oauth/access_token "
        f"(client id {state.config.client_id})\n"
        f"  control: {bound}/_sim/ (reset, config, faults, products, orders, stats, webhooks/send, ...)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.webhooks.stop()
