"""Credentials at rest: every stored secret is a Fernet token, opened only with the configured keys.

Where encryption happens, and why there: in one column type, ``EncryptedText``. A credential column
declared with it (``mapped_column(EncryptedText())``) is encrypted on every write and decrypted on every
read, whatever the code path: the ORM, ``update(Shop).values(...)``, the webhook secret cache, the
snapshots handed to plugins, the CLI and the demo. Explicit encrypt/decrypt calls in the shop functions
were the alternative; they would have to be repeated (and could be forgotten) by every reader and writer
of every credential added later (refresh tokens, client secrets), and would thread the keys through
functions that have no other use for them. ``tests/core/test_credentials.py`` checks that every column
whose name says it holds a credential uses this type, so a new one cannot be stored in plain text by
accident.

The keys are not a global: the composition root builds a ``Keyring`` from the environment
(``connector.encryption.load_keyring``) and attaches it to the engine it builds
(``database.make_engine(url, keyring=...)``); the type finds it through the engine's dialect, which
SQLAlchemy hands to every bind and result processor. Two runtimes with different keys in one process
never share them, and an engine built without keys fails on the first credential it touches, with a
message naming ``CONNECTOR_ENCRYPTION_KEYS``.

A later credential: declare its column ``EncryptedText()`` (a migration creates it as ``sa.Text()``, and
autogenerate compares them equal); ``connector secrets rotate`` finds it through ``encrypted_columns``.

Stored values are Fernet tokens (AES-128-CBC and HMAC-SHA256; they start with ``gAAAAA``). The empty
string is stored as itself: it is no secret, and shop/redact uses it to mean "no token". Error messages
never carry a value, plain or encrypted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Connection, MetaData, Table, Text, TypeDecorator, select, update
from sqlalchemy.engine import Dialect, Engine

#: The environment variable that holds the keys: Fernet keys separated by commas, newest first.
KEYS_ENV = "CONNECTOR_ENCRYPTION_KEYS"
#: How to make a key, quoted in every message that asks for one.
GENERATE_KEY_COMMAND = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
#: The attribute of an engine's dialect that holds its keyring (see the module docstring).
_DIALECT_ATTRIBUTE = "connector_keyring"
#: Every Fernet token starts with its version byte 0x80 and a 64-bit timestamp: "gAAAAA" in base64.
_TOKEN_PREFIX = "gAAAAA"
#: Version, timestamp, IV, one AES block and the HMAC: the shortest possible token.
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32


class CredentialKeyError(RuntimeError):
    """The keys are missing, malformed, or do not open a stored credential: a configuration error."""


def generate_key() -> str:
    """A new random Fernet key, as it goes into ``CONNECTOR_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def looks_encrypted(value: str) -> bool:
    """True for a value shaped like a Fernet token (so not plain text): prefix, base64 and length.

    Used to tell rows a migration already encrypted from plain ones; a value that looks encrypted but
    that no key opens is an error for the caller, never something to encrypt a second time.
    """
    if not value.startswith(_TOKEN_PREFIX):
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == 0x80


class Keyring:
    """Fernet keys, newest first: encrypts with the first, decrypts with any (``MultiFernet``).

    Rotation: put a new key first, run ``connector secrets rotate`` (``rotate_credentials``), then drop
    the old key. ``repr`` never shows a key.
    """

    def __init__(self, keys: Sequence[str | bytes], *, source: str = KEYS_ENV) -> None:
        if not keys:
            raise CredentialKeyError(f"{source} holds no key; generate one with: {GENERATE_KEY_COMMAND}")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError, binascii.Error):
                raise CredentialKeyError(
                    f"key {position} of {len(keys)} in {source} is not a Fernet key (32 url-safe base64-encoded "
                    f"bytes); generate one with: {GENERATE_KEY_COMMAND}"
                ) from None
        self._fernet = MultiFernet(fernets)
        self.source = source
        self.size = len(fernets)

    def __repr__(self) -> str:
        return f"Keyring({self.size} key(s) from {self.source})"

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._open(token, self._fernet.decrypt).decode("utf-8")

    def rotate(self, token: str) -> str:
        """The same secret encrypted again with the newest key (it may have been encrypted with any)."""
        return self._open(token, self._fernet.rotate).decode("ascii")

    def _open(self, token: str, how: Any) -> bytes:  # noqa: ANN401 - MultiFernet.decrypt or .rotate
        if not looks_encrypted(token):
            raise CredentialKeyError(
                "a stored credential is not encrypted (plain text from before encryption at rest?): "
                "run `connector db upgrade`, which encrypts the ones stored earlier"
            )
        try:
            return how(token.encode("ascii"))
        except InvalidToken:
            raise CredentialKeyError(
                f"no key in {self.source} opens a stored credential: it was encrypted with a key that is not "
                f"in the list (a wrong key, or an old one dropped before `connector secrets rotate` ran); "
                f"put that key back in {KEYS_ENV} (after the newest)"
            ) from None


def attach_keyring(engine: Engine, keyring: Keyring | None) -> None:
    """Let ``EncryptedText`` columns read and write through ``engine`` with ``keyring``."""
    setattr(engine.dialect, _DIALECT_ATTRIBUTE, keyring)


def keyring_of(bind: Engine | Connection | Dialect) -> Keyring:
    """The keyring attached to an engine (see ``attach_keyring``), or a clear error if there is none."""
    dialect = bind if isinstance(bind, Dialect) else bind.dialect
    keyring = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if keyring is None:
        raise CredentialKeyError(
            f"this database connection has no encryption keys, so stored credentials cannot be read or "
            f"written: set {KEYS_ENV} (generate a key with: {GENERATE_KEY_COMMAND}) and build the engine "
            f"with connector.bootstrap.build_runtime or make_engine(url, keyring=...)"
        )
    return keyring


class EncryptedText(TypeDecorator[str]):
    """A credential column: Fernet tokens in the database, plain strings in Python. See the module docstring.

    Stored as TEXT because a token is about 4/3 of the secret plus 76 characters, so no fixed
    length fits every secret. Values can be compared only by reading them: a ``WHERE`` on an encrypted
    column matches nothing but the empty string.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or value == "":
            return value
        return keyring_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or value == "":
            return value
        return keyring_of(dialect).decrypt(value)


def encrypted_columns(metadata: MetaData) -> list[Column[Any]]:
    """Every column declared ``EncryptedText``, in a stable order: what ``rotate_credentials`` rewrites."""
    return [
        column for table in metadata.sorted_tables for column in table.columns if isinstance(column.type, EncryptedText)
    ]


def rotate_credentials(conn: Connection, keyring: Keyring, columns: Iterable[Column[Any]]) -> int:
    """Encrypt every stored value of ``columns`` again with the newest key; returns how many were rewritten.

    Reads and writes the stored tokens as they are (no ORM, no decrypted value kept), in the caller's
    transaction: if one value cannot be opened, ``CredentialKeyError`` is raised and the caller's rollback
    leaves every row as it was.
    """
    rewritten = 0
    for column in columns:
        table = column.table
        assert isinstance(table, Table)
        primary = list(table.primary_key.columns)
        raw = Table(table.name, MetaData(), *(Column(c.name, c.type) for c in primary), Column(column.name, Text))
        stored = raw.c[column.name]
        rows = conn.execute(
            select(*(raw.c[c.name] for c in primary), stored).where(stored.is_not(None), stored != "")
        ).all()
        for row in rows:
            token = row[-1]
            where = [raw.c[c.name] == row[i] for i, c in enumerate(primary)]
            conn.execute(update(raw).where(*where).values({column.name: keyring.rotate(token)}))
            rewritten += 1
    return rewritten
