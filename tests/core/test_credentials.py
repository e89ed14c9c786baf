"""Credentials at rest: what the database holds is ciphertext, and every reader still gets the secret.

The stored rows are read with plain SQL (``text``), never through the ORM, so these tests see what a
copied database or a backup would show.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import String, create_engine, select, text

from connector.config import Settings
from connector.core import catalog
from connector.core.access import Actor
from connector.core.credentials import (
    GENERATE_KEY_COMMAND,
    CredentialKeyError,
    EncryptedText,
    Keyring,
    generate_key,
    looks_encrypted,
)
from connector.core.database import make_engine, make_session_factory, transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Base, Redemption, Shop
from connector.core.webhook_intake import shop_secrets
from connector.encryption import load_keyring
from tests.conftest import PG_ADMIN_URL, TEST_ENCRYPTION_KEY, backend, seed_world

TOKEN = "shpat_test_token"  # what seed_world() stores
SECRET = "whsec_test_secret_0123456789"
SUPPORT = Actor("support@acme", Role.SUPPORT)


def stored(rt, domain: str = "acme-pets.myshopify.com") -> dict[str, str | None]:
    """The shop's credential columns exactly as the database holds them."""
    with rt.engine.connect() as c:
        row = c.execute(
            text("SELECT access_token, webhook_secret, previous_webhook_secret FROM shops WHERE domain = :d"),
            {"d": domain},
        )
        return dict(row.mappings().one())


def assert_ciphertext_of(value: str | None, plain: str, key: str = TEST_ENCRYPTION_KEY) -> None:
    assert value is not None and plain not in value
    assert value.startswith("gAAAAA"), "stored credentials are Fernet tokens"
    assert Fernet(key).decrypt(value.encode()).decode() == plain


# -- stored encrypted, read back plain -----------------------------------------------------------------


def test_credentials_are_stored_as_ciphertext_and_read_back_plain(make_runtime):
    rt = make_runtime()
    seed_world(rt)
    raw = stored(rt)
    assert_ciphertext_of(raw["access_token"], TOKEN)
    assert_ciphertext_of(raw["webhook_secret"], SECRET)
    assert raw["previous_webhook_secret"] is None
    with rt.sessions() as s:
        shop = s.scalars(select(Shop)).one()
        assert (shop.access_token, shop.webhook_secret) == (TOKEN, SECRET)
    assert list(shop_secrets(rt, "acme-pets.myshopify.com")) == [SECRET]


def test_rotated_webhook_secrets_are_both_stored_encrypted(make_runtime):
    rt = make_runtime()
    seed_world(rt)
    with transaction(rt.sessions) as s:
        catalog.rotate_webhook_secret(s, s.scalars(select(Shop)).one(), "whsec_rotated_secret_987654", rt.now())
    raw = stored(rt)
    assert_ciphertext_of(raw["webhook_secret"], "whsec_rotated_secret_987654")
    assert_ciphertext_of(raw["previous_webhook_secret"], SECRET)
    rt.secret_cache.forget("acme-pets.myshopify.com")
    assert list(shop_secrets(rt, "acme-pets.myshopify.com")) == ["whsec_rotated_secret_987654", SECRET]


def test_redacted_shop_keeps_an_empty_token_meaning_no_token(make_runtime):
    """shop/redact writes "" through a Core UPDATE: still "no token", the webhook secret still encrypted."""
    from connector.core.webhook_effects import redact_shop

    rt = make_runtime()
    seed_world(rt)
    with transaction(rt.sessions) as s:
        redact_shop(s, "acme-pets.myshopify.com", rt.now())
    raw = stored(rt)
    assert raw["access_token"] == ""
    assert_ciphertext_of(raw["webhook_secret"], SECRET)
    with rt.sessions() as s:
        shop = s.scalars(select(Shop)).one()
        assert (shop.access_token, shop.active) == ("", False)


def test_a_long_secret_fits_once_encrypted(make_runtime):
    """The columns are TEXT: a token is about 4/3 of the secret plus 76 characters (VARCHAR(500) would not do)."""
    rt = make_runtime()
    world = seed_world(rt)
    with transaction(rt.sessions) as s:
        catalog.add_shop(
            s, world.brand, domain="long.myshopify.com", access_token="t" * 2000, webhook_secret="w" * 2000
        )
    assert_ciphertext_of(stored(rt, "long.myshopify.com")["access_token"], "t" * 2000)


def test_fulfilment_sends_the_decrypted_token_to_the_shop(make_runtime):
    """The real Shopify plugin against the simulator, which refuses any token but the shop's own."""
    from shopify_sim import SimServer

    sim = SimServer(access_token=TOKEN, webhook_secret=SECRET, shop_domain="acme-pets.myshopify.com")
    sim.start()
    try:
        sim.control("products", {"title": "Ambassador T-Shirt", "variants": [{"sku": "TSHIRT-M", "inventory": 9}]})
        rt = make_runtime()
        world = seed_world(rt, api_base_url=sim.base_url)
        rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
        with rt.sessions() as s:
            r = s.get(Redemption, rid)
            assert r.status == "fulfilled", (r.error_code, r.error_message)
    finally:
        sim.stop()


# -- keys: wrong, missing, malformed ------------------------------------------------------------------


def test_a_wrong_key_fails_with_a_message_naming_the_variable_never_the_secret(make_runtime):
    seed_world(make_runtime())
    wrong = make_runtime(encryption_keys=(generate_key(),))
    with pytest.raises(CredentialKeyError) as caught, wrong.sessions() as s:
        s.scalars(select(Shop)).one()
    message = str(caught.value)
    assert "CONNECTOR_ENCRYPTION_KEYS" in message
    assert TOKEN not in message and SECRET not in message and "gAAAAA" not in message


def test_an_engine_without_keys_refuses_to_write_and_never_prints_the_secret(database_url):
    engine = make_engine(database_url)  # no keyring
    try:
        with pytest.raises(Exception) as caught, transaction(make_session_factory(engine)) as s:
            brand = catalog.create_brand(s, "Keyless")
            catalog.add_shop(
                s, brand, domain="keyless.myshopify.com", access_token="shpat_never_shown", webhook_secret=SECRET
            )
        assert "CONNECTOR_ENCRYPTION_KEYS" in str(caught.value)
        assert "shpat_never_shown" not in str(caught.value) and SECRET not in str(caught.value)
        assert "shpat_never_shown" not in repr(caught.value)
    finally:
        engine.dispose()


def test_a_malformed_key_is_refused_naming_its_position_and_how_to_make_one():
    with pytest.raises(CredentialKeyError) as caught:
        Keyring([generate_key(), "not-a-key"])
    assert "key 2 of 2 in CONNECTOR_ENCRYPTION_KEYS" in str(caught.value)
    assert GENERATE_KEY_COMMAND in str(caught.value)
    assert "not-a-key" not in str(caught.value)
    assert generate_key()[:8] not in repr(Keyring([generate_key()]))


def test_postgresql_without_a_key_refuses_to_start_saying_how_to_make_one(tmp_path):
    settings = Settings.from_env({"CONNECTOR_DATABASE_URL": "postgresql://db.example/prod"})
    with pytest.raises(CredentialKeyError) as caught:
        load_keyring(settings)
    assert "CONNECTOR_ENCRYPTION_KEYS" in str(caught.value)
    assert GENERATE_KEY_COMMAND in str(caught.value)
    # ... even when a key file lies in the data directory: production keys come from the environment only.
    (tmp_path / "encryption.key").write_text(generate_key())
    settings = Settings.from_env({"CONNECTOR_DATABASE_URL": "postgresql://db/x", "CONNECTOR_DATA_DIR": str(tmp_path)})
    with pytest.raises(CredentialKeyError):
        load_keyring(settings)


def test_a_command_against_postgresql_without_a_key_exits_with_the_fix(monkeypatch):
    from connector.cli import main

    monkeypatch.delenv("CONNECTOR_ENCRYPTION_KEYS")
    result = CliRunner().invoke(main, ["shops", "list"], env={"CONNECTOR_DATABASE_URL": PG_ADMIN_URL})
    assert result.exit_code == 1
    assert "CONNECTOR_ENCRYPTION_KEYS is not set" in result.output and GENERATE_KEY_COMMAND in result.output
    assert "Traceback" not in result.output


def test_sqlite_without_a_key_makes_a_private_key_file_once_and_warns(tmp_path, caplog):
    env = {"CONNECTOR_DATA_DIR": str(tmp_path / "data")}
    with caplog.at_level(logging.WARNING, logger="connector.encryption"):
        first = load_keyring(Settings.from_env(env))
    path = tmp_path / "data" / "encryption.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "CONNECTOR_ENCRYPTION_KEYS is not set" in caplog.text and str(path) in caplog.text
    key = path.read_text().strip()
    assert key not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="connector.encryption"):
        again = load_keyring(Settings.from_env(env))
    assert caplog.text == "", "the warning comes once, when the key is made"
    token = first.encrypt("s3cret")
    assert again.decrypt(token) == "s3cret" == Keyring([key]).decrypt(token)
    assert os.listdir(tmp_path / "data") == ["encryption.key"], "no temporary file is left behind"


def test_the_environment_key_wins_over_the_key_file(tmp_path):
    key = generate_key()
    settings = Settings.from_env({"CONNECTOR_DATA_DIR": str(tmp_path), "CONNECTOR_ENCRYPTION_KEYS": f" {key} ,"})
    assert settings.encryption_keys == (key,)
    assert key not in repr(settings)
    assert Keyring([key]).decrypt(load_keyring(settings).encrypt("x")) == "x"
    assert not (tmp_path / "encryption.key").exists()


# -- every credential, now and later ------------------------------------------------------------------

#: Column names that say "this is a credential". Hashes (`_hash`, `_digest`) are one-way and stay hashes.
CREDENTIAL_WORDS = ("token", "secret", "password", "api_key", "private_key")
NOT_CREDENTIALS = {"redemptions.claim_token"}  # a lease marker between workers, not a secret


def test_every_credential_column_is_encrypted_text():
    """A credential added later (refresh tokens, client secrets) must be declared ``EncryptedText``."""
    plain = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if any(word in column.name for word in CREDENTIAL_WORDS)
        and not column.name.endswith(("_hash", "_digest"))
        and f"{table.name}.{column.name}" not in NOT_CREDENTIALS
        and isinstance(column.type, String)  # plain text; EncryptedText is a TypeDecorator, not a String
    ]
    assert plain == [], f"credential columns stored in plain text: {plain}; declare them EncryptedText()"
    assert isinstance(Shop.__table__.c.access_token.type, EncryptedText)


def test_looks_encrypted_tells_tokens_from_plain_text():
    assert looks_encrypted(Keyring([generate_key()]).encrypt("x"))
    assert not looks_encrypted("shpat_0123456789abcdef")
    assert not looks_encrypted("gAAAAA-but-not-a-token")
    assert not looks_encrypted("")


# -- rotation --------------------------------------------------------------------------------------------


def cli_env(database_url: str, keys: str) -> dict[str, str]:
    return {"CONNECTOR_DATABASE_URL": database_url, "CONNECTOR_ENCRYPTION_KEYS": keys, "CONNECTOR_JOBS_MODE": "sync"}


def test_secrets_rotate_reencrypts_every_credential_so_the_new_key_alone_opens_them(make_runtime, caplog):
    from connector.cli import main

    rt = make_runtime()
    seed_world(rt)
    with transaction(rt.sessions) as s:
        catalog.rotate_webhook_secret(s, s.scalars(select(Shop)).one(), "whsec_rotated_secret_987654", rt.now())
    before = stored(rt)
    new = generate_key()
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(
            main, ["secrets", "rotate"], env=cli_env(rt.settings.database_url, f"{new},{TEST_ENCRYPTION_KEY}")
        )
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 stored credential(s)" in result.output
    for secret in (TOKEN, "whsec_rotated_secret_987654", SECRET):
        assert secret not in result.output and secret not in caplog.text
    after = stored(rt)
    assert_ciphertext_of(after["access_token"], TOKEN, key=new)
    assert_ciphertext_of(after["webhook_secret"], "whsec_rotated_secret_987654", key=new)
    assert_ciphertext_of(after["previous_webhook_secret"], SECRET, key=new)
    assert all(after[c] != before[c] for c in after)
    only_new = make_runtime(encryption_keys=(new,))
    with only_new.sessions() as s:
        assert s.scalars(select(Shop)).one().access_token == TOKEN
    assert list(shop_secrets(only_new, "acme-pets.myshopify.com")) == ["whsec_rotated_secret_987654", SECRET]
    with pytest.raises(CredentialKeyError), make_runtime().sessions() as s:  # the old key alone: no longer
        s.scalars(select(Shop)).one()


def test_secrets_rotate_without_the_old_key_changes_nothing(make_runtime):
    from connector.cli import main

    rt = make_runtime()
    seed_world(rt)
    before = stored(rt)
    result = CliRunner().invoke(main, ["secrets", "rotate"], env=cli_env(rt.settings.database_url, generate_key()))
    assert result.exit_code == 1
    assert "no key in CONNECTOR_ENCRYPTION_KEYS opens a stored credential" in result.output
    assert TOKEN not in result.output
    assert stored(rt) == before


# -- never in logs or output -----------------------------------------------------------------------------


def test_credentials_never_reach_logs_even_with_sql_logging_on(make_runtime, caplog):
    """With SQLAlchemy's statement log on, the values it prints are ciphertext (and bound values hidden)."""
    from connector.cli import main

    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        rt = make_runtime()
        seed_world(rt)
        env = cli_env(rt.settings.database_url, TEST_ENCRYPTION_KEY)
        added = CliRunner().invoke(
            main,
            ["shops", "add", "--brand", "Acme", "--domain", "second.myshopify.com"]
            + ["--access-token", "shpat_cli_added_token", "--webhook-secret", "whsec_cli_added_secret_000"],
            env=env,
        )
        assert added.exit_code == 0, added.output
        rotated = CliRunner().invoke(
            main,
            ["shops", "rotate-secret", "--domain", "second.myshopify.com"]
            + ["--webhook-secret", "whsec_cli_rotated_secret_00"],
            env=env,
        )
        assert rotated.exit_code == 0, rotated.output
        assert list(shop_secrets(rt, "second.myshopify.com")) == [
            "whsec_cli_rotated_secret_00",
            "whsec_cli_added_secret_000",
        ]
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "INSERT INTO shops" in caplog.text, "the statement log was on"
    secrets = (TOKEN, SECRET, "shpat_cli_added_token", "whsec_cli_added_secret_000", "whsec_cli_rotated_secret_00")
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in added.output + rotated.output
    raw = stored(rt, "second.myshopify.com")
    assert_ciphertext_of(raw["access_token"], "shpat_cli_added_token")
    assert_ciphertext_of(raw["webhook_secret"], "whsec_cli_rotated_secret_00")
    assert_ciphertext_of(raw["previous_webhook_secret"], "whsec_cli_added_secret_000")


# -- migration 0010 --------------------------------------------------------------------------------------


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A database with no schema at all, on the backend under test."""
    if backend() == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    import uuid

    name = f"connector_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _insert_plain_shop(url: str, domain: str, token: str, secret: str, previous: str | None) -> None:
    engine = make_engine(url)
    with engine.begin() as c:
        brand_id = c.execute(text("SELECT id FROM brands WHERE slug = 'acme-pets'")).scalar()
        if brand_id is None:
            c.execute(
                text("INSERT INTO brands (name, slug, created_at) VALUES ('Acme Pets', 'acme-pets', CURRENT_TIMESTAMP)")
            )
            brand_id = c.execute(text("SELECT id FROM brands WHERE slug = 'acme-pets'")).scalar()
        c.execute(
            text(
                "INSERT INTO shops (brand_id, provider, domain, api_base_url, api_version, access_token, "
                "webhook_secret, previous_webhook_secret, active, created_at) VALUES (:b, 'shopify', :d, "
                "'http://127.0.0.1:9', '2026-07', :t, :s, :p, :a, CURRENT_TIMESTAMP)"
            ),
            {"b": brand_id, "d": domain, "t": token, "s": secret, "p": previous, "a": True},
        )
    engine.dispose()


def test_migration_0010_encrypts_plain_rows_once_and_the_shop_still_works(empty_database_url, make_runtime):
    from alembic import command

    from connector.migrations import alembic_config, upgrade

    url = empty_database_url
    upgrade(url, "0007")
    _insert_plain_shop(url, "acme-pets.myshopify.com", TOKEN, SECRET, "whsec_previous_secret_0000")
    _insert_plain_shop(url, "redacted.myshopify.com", "", "whsec_redacted_shop_secret", None)
    # A row encrypted by an earlier, interrupted run must not be encrypted a second time.
    already = Keyring([TEST_ENCRYPTION_KEY]).encrypt("shpat_encrypted_before")
    _insert_plain_shop(url, "earlier.myshopify.com", already, "whsec_earlier_shop_secret", None)

    keyring = Keyring([TEST_ENCRYPTION_KEY])
    upgrade(url, keyring=keyring)

    rt = make_runtime(database_url=url)
    raw = stored(rt)
    assert_ciphertext_of(raw["access_token"], TOKEN)
    assert_ciphertext_of(raw["webhook_secret"], SECRET)
    assert_ciphertext_of(raw["previous_webhook_secret"], "whsec_previous_secret_0000")
    assert stored(rt, "redacted.myshopify.com")["access_token"] == ""
    assert stored(rt, "earlier.myshopify.com")["access_token"] == already
    with rt.sessions() as s:
        shops = {shop.domain: shop for shop in s.scalars(select(Shop))}
        assert shops["acme-pets.myshopify.com"].access_token == TOKEN
        assert shops["earlier.myshopify.com"].access_token == "shpat_encrypted_before"
    assert list(shop_secrets(rt, "acme-pets.myshopify.com")) == [SECRET, "whsec_previous_secret_0000"]

    # Downgrade decrypts (the same keys are needed), and upgrading again encrypts again.
    cfg = alembic_config(url)
    cfg.attributes["connector_keyring"] = keyring
    command.downgrade(cfg, "0007")
    plain = stored(rt)
    assert (plain["access_token"], plain["webhook_secret"]) == (TOKEN, SECRET)
    assert stored(rt, "earlier.myshopify.com")["access_token"] == "shpat_encrypted_before"
    upgrade(url, keyring=keyring)
    assert_ciphertext_of(stored(rt)["access_token"], TOKEN)
    rt.engine.dispose()


def test_migration_0010_with_a_wrong_key_stops_and_leaves_rows_as_they_were(empty_database_url, monkeypatch):
    from connector.migrations import upgrade

    url = empty_database_url
    upgrade(url, "0009")  # the revision just before 0010: SQLite commits each migration on its own
    earlier = Keyring([generate_key()]).encrypt("shpat_from_another_key")
    _insert_plain_shop(url, "acme-pets.myshopify.com", earlier, SECRET, None)
    # No keyring given: the migration finds the keys as the app does, from the environment.
    monkeypatch.setenv("CONNECTOR_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
    with pytest.raises(CredentialKeyError) as caught:
        upgrade(url)
    assert SECRET not in str(caught.value)
    engine = make_engine(url)
    with engine.connect() as c:
        row = c.execute(text("SELECT access_token, webhook_secret FROM shops")).one()
        version = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert tuple(row) == (earlier, SECRET) and version == "0009"
