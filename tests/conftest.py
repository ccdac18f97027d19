"""Shared fixtures: real content, a fake clock, an in-memory store, and the services built from them."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from bot.content import load_content
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Actor, Organisation
from bot.store.memory import MemoryStore
from handlers.services import Services
from testkit.fake_slack import FakeSlack
from testkit.fakes import FakeClock, RecordingNotifier
from testkit.slack_harness import BOT_TOKEN, SlackBot

# Generated tests run the same examples on every run and machine (derandomized: drawn from a seed of each test's
# own source, no example database), a few dozen each, with no deadline or speed check, which a loaded 2-core CI
# runner would fail: CI cannot go red on an example nobody has seen, and whatever fails, anyone can replay.
# HYPOTHESIS_PROFILE=thorough searches afresh (random, 1,000 examples each, failures kept in .hypothesis/).
settings.register_profile("default", derandomize=True, max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

LEAD = Actor(id="console:lee", name="Lee Harper")
BACKUP = Actor(id="console:bea", name="Bea Moss")
STAFF = Actor(id="console:sam", name="Sam Jones")
OTHER = Actor(id="console:olu", name="Olu Ade")


@pytest.fixture(scope="session")
def content():
    return load_content()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def org():
    return Organisation(
        name="Example Academy Trust",
        leads=frozenset({LEAD.id}),
        backup_leads=frozenset({BACKUP.id}),
        admins=frozenset({"console:ada"}),
        names={LEAD.id: LEAD.name, BACKUP.id: BACKUP.name},
    )


@pytest.fixture
def services(content, clock, org):
    store = MemoryStore()
    yield Services(store=store, content=content, clock=clock, org=org, guidance=GuidanceEngine(content=content))
    store.close()


@pytest.fixture
def notifier():
    return RecordingNotifier()


@pytest.fixture
def slack():
    """A local fake of the Slack Web API."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def bot(tmp_path, slack):
    """The Slack bot serving on 127.0.0.1 against the fake, with a TinyDB store in tmp_path."""
    running = SlackBot(tmp_path=tmp_path, slack=slack)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole run (testkit/postgres.py); skipped where none is installed.

    In CI (CI=true) a missing server fails the run: the PostgreSQL store must never go untested there.
    """
    from testkit.postgres import PostgresCluster, PostgresUnavailable

    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a PostgreSQL server: {exc}", pytrace=False)
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def database(postgres):
    """A fresh, empty database on the test server: its URL; dropped afterwards."""
    import uuid

    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.new_database(name)
    yield url
    postgres.drop_database(name)
