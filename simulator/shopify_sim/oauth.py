"""What Shopify's OAuth server keeps for the one app installed on the simulated shop.

Authorization codes, access tokens and refresh tokens, and the rules Shopify applies to
them (shopify-connection.md):

* a code is good once, for ``authorization_code_lifetime_seconds`` (60 s);
* exchanging it with ``expiring=1`` gives an expiring offline token plus a refresh token;
  without it, a non-expiring offline token (legacy; recorded so tests can see who asked);
* a refresh returns a new access token *and* a new refresh token. Since 2026-08-28 the
  refresh token just used stays valid until the app first uses one of its replacements
  (at most 30 days after its first use, never past its own expiry), so an app whose
  refresh answer was lost can retry with the token it still has. Once a replacement is
  used, the old refresh token answers ``invalid_grant``;
* client credentials give a token of about a day and no refresh token;
* uninstalling revokes every token, the static one included; a new install works again.

Nothing here knows HTTP: :mod:`shopify_sim.oauth_routes` turns requests into
calls and answers. Token values never leave this module except in the grant answer itself:
logs and listings name tokens by id (``at-3``, ``rt-2``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shopify_sim.config import SimConfig
from shopify_sim.scopes import KNOWN_SCOPES

GRANTS = ("authorization_code", "refresh_token", "client_credentials")
#: How long a used refresh token stays retryable while its replacements go unused.
RECOVERY_WINDOW_SECONDS = 30 * 86400.0
#: Grants and authorize decisions remembered for ``GET /_sim/oauth/grants``.
LOG_SIZE = 1000
SCOPE_HANDLE = re.compile(r"^[a-z][a-z0-9_]*$")
ACCESS, REFRESH = "access", "refresh"


class OAuthError(Exception):
    """A refusal in Shopify's OAuth shape: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The JSON answer."""
        return {"error": self.error, "error_description": self.description}


def callback_hmac(secret: str, params: Mapping[str, str]) -> str:
    """Hex HMAC-SHA256 keyed by the client secret over the other params, sorted, ``k=v&k=v``."""
    message = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "hmac")
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def admin_host(shop_domain: str) -> str:
    """The callback's ``host``: base64 of ``admin.shopify.com/store/NAME``, unpadded."""
    name = shop_domain.removesuffix(".myshopify.com")
    return base64.b64encode(f"admin.shopify.com/store/{name}".encode()).decode("ascii").rstrip("=")


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def parse_scopes(text: str | None) -> tuple[str, ...]:
    """``scope=read_orders,write_orders`` → handles in the order asked, each once."""
    handles: list[str] = []
    for part in (text or "").split(","):
        handle = part.strip()
        if not handle:
            continue
        if not SCOPE_HANDLE.match(handle):
            raise OAuthError(400, "invalid_scope", f"Scope {handle!r} is not a scope handle (e.g. read_orders).")
        if handle not in handles:
            handles.append(handle)
    return tuple(handles)


@dataclass
class Token:
    """One issued access or refresh token."""

    id: str
    value: str
    kind: str
    grant: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    #: Id of the refresh token this one was refreshed from.
    parent: str | None = None
    first_used_at: float | None = None
    revoked_at: float | None = None
    #: Refresh tokens: when a replacement was first used (from then on: ``invalid_grant``).
    retired_at: float | None = None

    def status(self, now: float) -> str:
        """``valid``, ``expired``, ``revoked`` or ``retired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.retired_at is not None:
            return "retired"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        used = self.first_used_at
        if self.kind == REFRESH and used is not None and now >= used + RECOVERY_WINDOW_SECONDS:
            return "expired"
        return "valid"

    def view(self, now: float) -> dict[str, Any]:
        """JSON view without the value."""
        return {
            "id": self.id,
            "kind": self.kind,
            "grant": self.grant,
            "scope": ",".join(self.scopes),
            "status": self.status(now),
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "first_used_at": _iso(self.first_used_at),
            "revoked_at": _iso(self.revoked_at),
            "retired_at": _iso(self.retired_at),
            "parent": self.parent,
        }


@dataclass
class AuthorizationCode:
    """A code handed to the redirect URI, exchangeable once before it expires."""

    value: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class Outcome:
    """What the token endpoint answers, plus the log entry (no secrets) describing it."""

    status: int
    body: dict[str, Any]
    entry: dict[str, Any] = field(default_factory=dict)


def grant_kind(params: Mapping[str, str]) -> str | None:
    """The grant a token request asks for; a bare ``code`` means the authorization code grant."""
    grant = params.get("grant_type")
    if grant:
        return grant
    return "authorization_code" if params.get("code") else None


class OAuthState:
    """Codes, tokens and the installation, under one lock; ``clock`` is the wall clock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Installed, no codes, no issued tokens, static token valid, empty log."""
        with self._lock:
            self._codes: dict[str, AuthorizationCode] = {}
            self._tokens: dict[str, Token] = {}
            self._by_value: dict[str, Token] = {}
            self._next_id: Counter[str] = Counter()
            self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
            self.grants: Counter[str] = Counter({grant: 0 for grant in GRANTS})
            self.errors: Counter[str] = Counter()
            self.non_expiring = 0
            self.installed = True
            self.static_revoked = False
            self.installed_at: float | None = self._clock()
            self.uninstalled_at: float | None = None

    # -- authorize -------------------------------------------------------------------------
    def authorize(self, config: SimConfig, args: Mapping[str, str]) -> str:
        """Approve an install request; returns the redirect URL (code, hmac, host, shop, state, timestamp).

        Raises :class:`OAuthError` for a wrong client id, a redirect URI not allowed, a bad
        scope, or (``auto_approve`` off) a merchant who declines; nothing is redirected then.
        """
        client_id = args.get("client_id") or ""
        redirect_uri = args.get("redirect_uri") or ""
        entry: dict[str, Any] = {"endpoint": "authorize", "client_id": client_id, "redirect_uri": redirect_uri}
        try:
            if client_id != config.client_id:
                raise OAuthError(400, "invalid_request", f"client_id {client_id!r} is not this app's client id.")
            if not redirect_uri:
                raise OAuthError(400, "invalid_request", "redirect_uri is required.")
            if config.redirect_uris and redirect_uri not in config.redirect_uris:
                allowed = "is not among the app's allowed redirect URIs"
                raise OAuthError(400, "invalid_request", f"redirect_uri {redirect_uri!r} {allowed}.")
            asked = parse_scopes(args.get("scope"))
            entry["scope_asked"] = ",".join(asked)
            if not config.auto_approve:
                raise OAuthError(403, "access_denied", "The merchant declined to install the app.")
        except OAuthError as exc:
            self._record({**entry, "status": exc.status, "error": exc.error})
            raise
        granted = tuple(sorted(config.granted_scopes)) if config.granted_scopes is not None else asked
        now = self._clock()
        code = secrets.token_hex(16)
        params = {"code": code, "host": admin_host(config.shop_domain), "shop": config.shop_domain}
        if args.get("state") is not None:
            params["state"] = args["state"]
        params["timestamp"] = str(int(now))
        params["hmac"] = callback_hmac(config.client_secret, params)
        with self._lock:
            self._codes[code] = AuthorizationCode(
                code, client_id, granted, now + config.authorization_code_lifetime_seconds
            )
            if not self.installed:  # a reinstall after app/uninstalled
                self.installed = True
                self.installed_at, self.uninstalled_at = now, None
        self._record({**entry, "status": 302, "error": None, "scope": ",".join(granted)})
        separator = "&" if "?" in redirect_uri else "?"
        return redirect_uri + separator + urlencode(dict(sorted(params.items())))

    # -- token endpoint --------------------------------------------------------------------
    def exchange(self, config: SimConfig, params: Mapping[str, str]) -> Outcome:
        """``POST /admin/oauth/access_token`` for the three grants; never raises."""
        grant = grant_kind(params)
        entry: dict[str, Any] = {"endpoint": "access_token", "grant": grant, "client_id": params.get("client_id")}
        try:
            self._authenticate_client(config, params)
            if grant is None:
                raise OAuthError(
                    400,
                    "invalid_request",
                    "grant_type is required (authorization_code, refresh_token or "
                    "client_credentials), or give the authorization code as 'code'.",
                )
            if grant not in GRANTS:
                raise OAuthError(
                    400, "unsupported_grant_type", f"grant_type {grant!r} is not supported; use one of {list(GRANTS)}."
                )
            with self._lock:
                if grant == "authorization_code":
                    body = self._code_grant(config, params, entry)
                elif grant == "refresh_token":
                    body = self._refresh_grant(config, params, entry)
                else:
                    body = self._client_credentials_grant(config, entry)
                self.grants[grant] += 1
        except OAuthError as exc:
            with self._lock:
                self.errors[grant or "none"] += 1
            return Outcome(exc.status, exc.body(), {**entry, "status": exc.status, "error": exc.error})
        entry.update(
            status=200,
            error=None,
            scope=body["scope"],
            expires_in=body.get("expires_in"),
            refresh_token_expires_in=body.get("refresh_token_expires_in"),
        )
        return Outcome(200, body, entry)

    def _authenticate_client(self, config: SimConfig, params: Mapping[str, str]) -> None:
        client_id = params.get("client_id") or ""
        secret = params.get("client_secret") or ""
        if not client_id or not secret:
            raise OAuthError(401, "invalid_client", "client_id and client_secret are required.")
        if client_id != config.client_id or not hmac.compare_digest(
            secret.encode("utf-8"), config.client_secret.encode("utf-8")
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed: unknown client or wrong secret.")

    def _code_grant(self, config: SimConfig, params: Mapping[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        now = self._clock()
        code = self._codes.get(params.get("code") or "")
        if code is None or code.used or now >= code.expires_at or code.client_id != params.get("client_id"):
            raise OAuthError(400, "invalid_request", "The authorization code is unknown, expired or already used.")
        code.used = True
        expiring = _truthy(params.get("expiring", ""))
        entry["expiring"] = expiring
        lifetime = config.access_token_lifetime_seconds if expiring else None
        access = self._issue(ACCESS, "authorization_code", code.scopes, now, lifetime)
        entry["access_token_id"] = access.id
        body: dict[str, Any] = {"access_token": access.value, "scope": ",".join(code.scopes)}
        if not expiring:
            self.non_expiring += 1
            return body
        refresh = self._issue(REFRESH, "authorization_code", code.scopes, now, config.refresh_token_lifetime_seconds)
        entry["refresh_token_id"] = refresh.id
        return {**body, **self._expiring_fields(config, refresh)}

    def _refresh_grant(self, config: SimConfig, params: Mapping[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        now = self._clock()
        value = params.get("refresh_token")
        if not value:
            raise OAuthError(400, "invalid_request", "refresh_token is required with grant_type=refresh_token.")
        old = self._by_value.get(value)
        if old is None or old.kind != REFRESH:
            raise OAuthError(400, "invalid_grant", "The refresh token is unknown.")
        entry["refreshed_from"] = old.id
        status = old.status(now)
        if status != "valid":
            reason = {
                "retired": "was replaced, and its replacement has been used",
                "revoked": "was revoked",
                "expired": "has expired",
            }[status]
            raise OAuthError(400, "invalid_grant", f"The refresh token {reason}.")
        self._mark_used(old, now)
        access = self._issue(ACCESS, "refresh_token", old.scopes, now, config.access_token_lifetime_seconds, old.id)
        refresh = self._issue(REFRESH, "refresh_token", old.scopes, now, config.refresh_token_lifetime_seconds, old.id)
        entry.update(access_token_id=access.id, refresh_token_id=refresh.id, expiring=True)
        return {"access_token": access.value, "scope": ",".join(old.scopes), **self._expiring_fields(config, refresh)}

    def _client_credentials_grant(self, config: SimConfig, entry: dict[str, Any]) -> dict[str, Any]:
        if not self.installed:
            raise OAuthError(400, "unauthorized_client", f"The app is not installed on {config.shop_domain}.")
        now = self._clock()
        scopes = tuple(sorted(config.granted_scopes if config.granted_scopes is not None else KNOWN_SCOPES))
        lifetime = config.client_credentials_lifetime_seconds
        access = self._issue(ACCESS, "client_credentials", scopes, now, lifetime)
        entry.update(access_token_id=access.id, expiring=True)
        return {"access_token": access.value, "scope": ",".join(scopes), "expires_in": _seconds(lifetime)}

    def _expiring_fields(self, config: SimConfig, refresh: Token) -> dict[str, Any]:
        return {
            "expires_in": _seconds(config.access_token_lifetime_seconds),
            "refresh_token": refresh.value,
            "refresh_token_expires_in": _seconds(config.refresh_token_lifetime_seconds),
        }

    def _issue(
        self,
        kind: str,
        grant: str,
        scopes: tuple[str, ...],
        now: float,
        lifetime: float | None,
        parent: str | None = None,
    ) -> Token:
        prefix = "at" if kind == ACCESS else "rt"
        self._next_id[prefix] += 1
        value = ("shpat_" if kind == ACCESS else "shprt_") + secrets.token_hex(16)
        token = Token(
            id=f"{prefix}-{self._next_id[prefix]}",
            value=value,
            kind=kind,
            grant=grant,
            scopes=scopes,
            issued_at=now,
            expires_at=None if lifetime is None else now + lifetime,
            parent=parent,
        )
        self._tokens[token.id] = token
        self._by_value[value] = token
        return token

    def _mark_used(self, token: Token, now: float) -> None:
        """First use of a replacement retires the refresh token it replaced (2026-08-28 rule)."""
        if token.first_used_at is None:
            token.first_used_at = now
        parent = self._tokens.get(token.parent) if token.parent else None
        if parent is not None and parent.retired_at is None:
            parent.retired_at = now

    # -- GraphQL side ----------------------------------------------------------------------
    def authenticate(self, config: SimConfig, value: str | None) -> frozenset[str] | None:
        """The scopes of a currently valid token (``None``: answer 401). Counts as the token's use.

        The static ``access_token`` setting carries ``granted_scopes`` (default: every known scope).
        """
        if not value:
            return None
        with self._lock:
            if value == config.access_token:
                if self.static_revoked:
                    return None
                return config.granted_scopes if config.granted_scopes is not None else KNOWN_SCOPES
            token = self._by_value.get(value)
            now = self._clock()
            if token is None or token.kind != ACCESS or token.status(now) != "valid":
                return None
            self._mark_used(token, now)
            return frozenset(token.scopes)

    # -- control ---------------------------------------------------------------------------
    def revoke(self, config: SimConfig, value: str | None = None) -> int:
        """Revoke one token (issued or the static one), or every issued token; returns how many."""
        with self._lock:
            now = self._clock()
            if value is not None:
                if value == config.access_token:
                    revoked = not self.static_revoked
                    self.static_revoked = True
                    return int(revoked)
                token = self._by_value.get(value)
                if token is None:
                    raise KeyError("no such token: give an access or refresh token the simulator issued")
                targets = [token]
            else:
                targets = list(self._tokens.values())
            count = 0
            for token in targets:
                if token.revoked_at is None:
                    token.revoked_at = now
                    count += 1
            return count

    def expire(self, value: str | None = None, refresh_tokens: bool = False) -> int:
        """Expire now one issued token, or every expiring access token (and refresh token if asked)."""
        with self._lock:
            now = self._clock()
            if value is not None:
                token = self._by_value.get(value)
                if token is None:
                    raise KeyError("no such token: give an access or refresh token the simulator issued")
                targets = [token]
            else:
                kinds = {ACCESS, REFRESH} if refresh_tokens else {ACCESS}
                targets = [t for t in self._tokens.values() if t.kind in kinds and t.expires_at is not None]
            count = 0
            for token in targets:
                if token.status(now) == "valid":
                    token.expires_at = now
                    count += 1
            return count

    def uninstall(self) -> int:
        """The merchant removes the app: every token dies (static one too), codes too."""
        with self._lock:
            now = self._clock()
            count = 0
            for token in self._tokens.values():
                if token.revoked_at is None:
                    token.revoked_at = now
                    count += 1
            if not self.static_revoked:
                self.static_revoked = True
                count += 1
            self._codes.clear()
            self.installed = False
            self.uninstalled_at = now
            return count

    def install(self) -> None:
        """Install without OAuth (a client-credentials app, or the static token's app)."""
        with self._lock:
            if not self.installed:
                self.installed_at, self.uninstalled_at = self._clock(), None
            self.installed = True
            self.static_revoked = False

    # -- inspection ------------------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append({"at": _iso(self._clock()), **entry})

    def record(self, entry: dict[str, Any]) -> None:
        """Log one token-endpoint request (the route adds the fault that fired, if any)."""
        self._record(entry)

    def log(self) -> list[dict[str, Any]]:
        """Authorize decisions and token grants, oldest first, without secrets."""
        with self._lock:
            return list(self._log)

    def tokens(self) -> list[dict[str, Any]]:
        """Every issued token, by id, without values."""
        with self._lock:
            now = self._clock()
            return [token.view(now) for token in self._tokens.values()]

    def installation(self, config: SimConfig) -> dict[str, Any]:
        """``GET /_sim/app``."""
        with self._lock:
            return {
                "installed": self.installed,
                "client_id": config.client_id,
                "shop_domain": config.shop_domain,
                "installed_at": _iso(self.installed_at),
                "uninstalled_at": _iso(self.uninstalled_at),
                "static_token_revoked": self.static_revoked,
            }

    def stats(self) -> dict[str, Any]:
        """Counters merged into ``GET /_sim/stats``."""
        with self._lock:
            return {
                "token_grants": {grant: self.grants[grant] for grant in GRANTS},
                "token_grant_errors": dict(self.errors),
                "non_expiring_offline_tokens": self.non_expiring,
            }


def _seconds(value: float) -> int | float:
    """JSON seconds: an int when whole (Shopify answers ``3600``, not ``3600.0``)."""
    return int(value) if float(value).is_integer() else value
