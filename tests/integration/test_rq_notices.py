"""Frequent-buyer notices through real Redis and real ``connector worker`` processes: an import with denials
queues the notices job, a worker sends it, and the job run again (twice, as a retry or the sweep would)
sends nothing more."""

from __future__ import annotations

import pytest

from connector.core.database import transaction
from connector.core.model import Role
from connector.core.scheduling import NOTICES_JOB
from connector.core.users import create_user
from tests.frequent_buyer.conftest import import_cards, make_card, seed_fb_world
from tests.integration.conftest import run_cli

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_rq_worker_sends_the_denials_once(rq_runtime):
    rt = rq_runtime
    world = seed_fb_world(rt)
    with transaction(rt.sessions) as s:
        create_user(s, email="owner@paws.example", name="Owner", password="pw-long-enough-1", role=Role.RETAILER,
                    retailer_id=world.retailer_id, scrypt_n=2)  # fmt: skip
    card = make_card("001-MIX", purchases=[("KIB-4", 5), ("WT-5", 5)])
    import_cards(rt, world.actors.platform_admin, world.retailer_id, [card])
    assert list(rt.settings.outbox_dir.glob("*.eml")) == []  # queued in Redis, nothing sent in this process
    done = run_cli(rt, "worker", "--burst")
    assert done.returncode == 0, done.stderr
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 1
    rt.dispatcher.enqueue(NOTICES_JOB, 0, key="fb-notices-retry-1")
    rt.dispatcher.enqueue(NOTICES_JOB, 0, key="fb-notices-retry-2")
    assert run_cli(rt, "sweep").returncode == 0
    assert run_cli(rt, "worker", "--burst").returncode == 0
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 1
