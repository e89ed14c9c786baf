"""Settings from the environment, read once and frozen.

Every variable is documented in the README's configuration table; unknown
values fail fast at start-up rather than at the first fulfilment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from connector.core.hooktypes import ALLOW_CUSTOM_API_BASE


def _default_data_dir() -> Path:
    return Path(os.environ.get("CONNECTOR_DATA_DIR", "instance")).resolve()


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return False
    if value in {"1", "true", "yes", "on"}:
        return True
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) > 10:
        raise ValueError(
            f"{name} must be a whole number from 0 to 10 (how many proxies forward to the app), not {value!r}"
        )
    return int(value)


def _hours(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 24 * 30:
        raise ValueError(f"{name} must be a number of hours above 0 and at most 720 (e.g. 12), not {value!r}")
    return hours


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 100_000:
        raise ValueError(f"{name} must be a number of points above 0 (e.g. 50), not {value!r}")
    return number


def _public_url(env: Mapping[str, str], name: str) -> str | None:
    """The app's public base URL, checked at start-up: Shopify redirects browsers to it after an install."""
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    extra = parts.query or parts.fragment or "@" in parts.netloc
    if parts.scheme not in {"http", "https"} or not parts.hostname or extra:
        raise ValueError(
            f"{name} must be the app's public base URL such as https://connector.example.com "
            f"(http or https, a host, no query, no user:password@), not {value!r}"
        )
    return value


#: Shortest session-signing key accepted: 32 characters (``secrets.token_hex(32)`` gives 64).
MIN_SECRET_KEY_LENGTH = 32
#: Values that were published as examples or defaults: whoever read them could sign a session.
_KNOWN_KEYS = frozenset({"dev-only-change-me", "change-me", "changeme", "secret", "secret-key", "dev", "development"})
HOW_TO_SET_SECRET_KEY = (
    "Set a random key of at least 32 characters, the same for every web process and kept across restarts "
    "(sessions signed with another key end):\n"
    "    export CONNECTOR_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
    "(`connector demo` makes its own key; one-shot commands such as `connector db upgrade` need none.)"
)


class InsecureSecretKey(ValueError):
    """The web app would sign console sessions with a key an attacker can know or guess: it refuses to start."""


def check_secret_key(key: str) -> None:
    """Raise ``InsecureSecretKey`` unless ``key`` is fit to sign sessions that grant admin rights.

    The development default used to sign real sessions, so anyone could forge a platform admin's
    cookie; now an unset, published, short or low-variety key stops the server at start-up instead.
    """
    problem: str | None = None
    if not key:
        problem = "CONNECTOR_SECRET_KEY is not set"
    elif key.strip().lower() in _KNOWN_KEYS or "change-me" in key.lower() or "changeme" in key.lower():
        problem = "CONNECTOR_SECRET_KEY is a published example value, so anyone could sign a console session"
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problem = f"CONNECTOR_SECRET_KEY is too short ({len(key)} characters; at least {MIN_SECRET_KEY_LENGTH})"
    elif len(set(key)) < 10:
        problem = "CONNECTOR_SECRET_KEY has too few different characters to be random"
    if problem:
        raise InsecureSecretKey(
            f"{problem}: the web app refuses to serve, because its session cookies would let anyone sign in "
            f"as an administrator. {HOW_TO_SET_SECRET_KEY}"
        )


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None = None
    #: Signs console session cookies; empty means unset, and the web app then refuses to start.
    secret_key: str = ""
    #: Console session cookies only over HTTPS. Off by default because the demo serves plain HTTP.
    secure_cookies: bool = False
    smtp_url: str | None = None
    mail_from: str = "rewards@connector.local"
    outbox_dir: Path = field(default_factory=lambda: _default_data_dir() / "outbox")
    disabled_plugins: tuple[str, ...] = ()
    webhook_max_bytes: int = 1_048_576
    #: POS report uploads (multipart) may be this large; every other API body stays at 64 KiB.
    pos_max_bytes: int = 50 * 1024 * 1024
    #: A folder of operator-declared POS report mappings (``*.json``), passed to the format hook's context.
    pos_mappings_dir: str = ""
    #: Transient failures are retried this many times before the redemption goes to ERROR.
    max_attempts: int = 8
    retry_base_seconds: float = 10.0
    retry_cap_seconds: float = 3600.0
    #: How long one attempt may hold a redemption before another worker may take it over.
    claim_lease_seconds: float = 300.0
    #: "rq" with a Redis URL, else "thread" (in-process background) or "sync" (inline; tests).
    jobs_mode: str = "thread"
    queue_name: str = "connector"
    #: Points one fulfilment job is assumed to spend from its shop's bucket until one has been measured
    #: (pacing and deferral: architecture.md, "Rate limits and fairness across shops").
    shop_job_cost_points: float = 12.0
    plugin_env: Mapping[str, str] = field(default_factory=dict)
    #: Reverse proxies in front of the web app whose ``X-Forwarded-For`` is believed (0: the socket's address).
    trusted_proxies: int = 0
    #: A console session ends this long after sign-in, however active it is (absolute lifetime).
    session_lifetime_hours: float = 12.0
    #: scrypt N of new password hashes: OWASP's 2**17. No variable sets it; only tests lower it, explicitly.
    password_scrypt_n: int = 2**17
    #: Fernet keys for credentials at rest, newest first (``connector.encryption`` decides the default).
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    #: ``CONNECTOR_PUBLIC_URL``: the address shops and browsers reach this app at (no trailing slash). The install
    #: redirect URI is ``{public_url}/shopify/callback``; unset, installs refuse with a page naming the variable.
    public_url: str | None = None
    #: ``CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL``: outbound webhook endpoints may be http://127.0.0.1 or localhost
    #: (development and tests). Off: https only, and never an address on a private network (docs/security.md).
    outbound_allow_local: bool = False
    #: Sends of one outbound webhook before it is given up (``CONNECTOR_OUTBOUND_MAX_ATTEMPTS``).
    outbound_max_attempts: int = 10
    #: SQLite only, when ``encryption_keys`` is empty: the key made once into the data directory.
    encryption_key_file: Path = field(default_factory=lambda: _default_data_dir() / "encryption.key")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CONNECTOR_DATA_DIR", "instance")).resolve()
        database_url = env.get("CONNECTOR_DATABASE_URL") or env.get("DATABASE_URL")
        if not database_url:
            database_url = f"sqlite:///{data_dir / 'connector.sqlite3'}"
        redis_url = env.get("CONNECTOR_REDIS_URL") or None
        jobs_mode = env.get("CONNECTOR_JOBS_MODE") or ("rq" if redis_url else "thread")
        if jobs_mode not in {"rq", "thread", "sync"}:
            raise ValueError(f"CONNECTOR_JOBS_MODE must be rq, thread or sync, not {jobs_mode!r}")
        if jobs_mode == "rq" and not redis_url:
            raise ValueError("CONNECTOR_JOBS_MODE=rq needs CONNECTOR_REDIS_URL")
        values: dict[str, object] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "secret_key": env.get("CONNECTOR_SECRET_KEY", ""),
            "secure_cookies": _flag(env, "CONNECTOR_SECURE_COOKIES"),
            "smtp_url": env.get("CONNECTOR_SMTP_URL") or None,
            "mail_from": env.get("CONNECTOR_MAIL_FROM", "rewards@connector.local"),
            "outbox_dir": Path(env.get("CONNECTOR_OUTBOX_DIR", str(data_dir / "outbox"))),
            "disabled_plugins": tuple(
                p.strip() for p in env.get("CONNECTOR_DISABLED_PLUGINS", "").split(",") if p.strip()
            ),
            "webhook_max_bytes": int(env.get("CONNECTOR_WEBHOOK_MAX_BYTES", 1_048_576)),
            "pos_max_bytes": int(env.get("CONNECTOR_POS_MAX_BYTES", 50 * 1024 * 1024)),
            "max_attempts": int(env.get("CONNECTOR_MAX_ATTEMPTS", 8)),
            "retry_base_seconds": float(env.get("CONNECTOR_RETRY_BASE_SECONDS", 10)),
            "retry_cap_seconds": float(env.get("CONNECTOR_RETRY_CAP_SECONDS", 3600)),
            "claim_lease_seconds": float(env.get("CONNECTOR_CLAIM_LEASE_SECONDS", 300)),
            "jobs_mode": jobs_mode,
            "queue_name": env.get("CONNECTOR_QUEUE", "connector"),
            "shop_job_cost_points": _positive(env, "CONNECTOR_SHOP_JOB_COST_POINTS", 12.0),
            "trusted_proxies": _count(env, "CONNECTOR_TRUSTED_PROXIES", 0),
            "session_lifetime_hours": _hours(env, "CONNECTOR_SESSION_LIFETIME_HOURS", 12.0),
            "plugin_env": {k: v for k, v in env.items() if not k.startswith("CONNECTOR_") and k.isupper()},
            "encryption_keys": tuple(
                k.strip() for k in env.get("CONNECTOR_ENCRYPTION_KEYS", "").split(",") if k.strip()
            ),
            "encryption_key_file": data_dir / "encryption.key",
            "public_url": _public_url(env, "CONNECTOR_PUBLIC_URL"),
            "pos_mappings_dir": env.get("CONNECTOR_POS_MAPPINGS_DIR", "").strip(),
            "outbound_allow_local": _flag(env, "CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL"),
            "outbound_max_attempts": int(env.get("CONNECTOR_OUTBOUND_MAX_ATTEMPTS", 10)),
        }
        _flag(env, ALLOW_CUSTOM_API_BASE)  # a typo fails at start-up, not at the first fulfilment
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def allow_custom_shop_api_base(self) -> bool:
        """``SHOPIFY_ALLOW_CUSTOM_API_BASE``: ``shops add`` may store an API base URL other than the shop's own
        ``https://{shop}.myshopify.com`` (the simulator of the demo and the tests). The Shopify plugin reads the
        same variable at every call."""
        return _flag(self.plugin_env, ALLOW_CUSTOM_API_BASE)

    def plugin_config(self, name: str) -> dict[str, str]:
        """``SHOPIFY_*`` variables for the ``shopify`` plugin, and so on."""
        prefix = name.upper() + "_"
        return {k: v for k, v in self.plugin_env.items() if k.startswith(prefix)}
