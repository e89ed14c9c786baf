"""Where the keys for credentials at rest come from (``CONNECTOR_ENCRYPTION_KEYS``, or a key file for SQLite).

The default, decided here:

* ``CONNECTOR_ENCRYPTION_KEYS`` set: those keys, newest first, whatever the database.
* unset, PostgreSQL (or any server database): refuse to start, with the command that makes a key. A
  production deployment must hold its key outside the database and its backups.
* unset, SQLite (the embedded zero-config default, ``connector demo``): a key generated once into
  ``<CONNECTOR_DATA_DIR>/encryption.key`` (mode 0600, a warning logged when it is made), so a first run
  needs no setup. The file sits beside the database, so it protects a copied database file, not a copied
  data directory: set ``CONNECTOR_ENCRYPTION_KEYS`` for anything real.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from connector.config import Settings
from connector.core.credentials import GENERATE_KEY_COMMAND, KEYS_ENV, CredentialKeyError, Keyring, generate_key

log = logging.getLogger("connector.encryption")


def load_keyring(settings: Settings) -> Keyring:
    """The keyring for ``settings``' database; raises ``CredentialKeyError`` with the fix when there is none."""
    if settings.encryption_keys:
        return Keyring(settings.encryption_keys, source=KEYS_ENV)
    if not settings.database_url.startswith("sqlite"):
        raise CredentialKeyError(
            f"{KEYS_ENV} is not set: shop tokens and webhook secrets are stored encrypted, and a PostgreSQL "
            f"database needs its key from the environment. Generate one with\n    {GENERATE_KEY_COMMAND}\n"
            f"and set {KEYS_ENV}=<that key> for every process (web, workers, commands); keep it out of the "
            f"database and its backups, and never lose it: the stored credentials cannot be read without it"
        )
    return _key_file_keyring(settings.encryption_key_file)


def _key_file_keyring(path: Path) -> Keyring:
    """The SQLite fallback: the key file's keys, made once (mode 0600) when it does not exist.

    The key is written to a private temporary file first and linked into place, which fails if the file
    exists: two processes starting at once never read a half-written key or make two different ones.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".encryption-key-", dir=path.parent)  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(generate_key() + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass  # made by a process starting at the same moment: read it below
        else:
            log.warning(
                "%s is not set: credentials in the SQLite database are encrypted with a key generated into %s "
                "(mode 0600). Keep that file with the database and back it up; for production set %s",
                KEYS_ENV,
                path,
                KEYS_ENV,
            )
        finally:
            os.unlink(tmp)
    keys = [k.strip() for k in path.read_text(encoding="ascii").replace("\n", ",").split(",") if k.strip()]
    return Keyring(keys, source=f"the key file {path}")
