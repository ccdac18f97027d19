"""LISTEN/NOTIFY on a real server: a commit queuing work on one instance wakes the workers of the others at once."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from bot.crypto import Keyring, new_key
from bot.domain.errors import Conflict
from bot.domain.ports import Changes
from bot.store.postgres.notify import OutboxListener
from handlers.outbox_state import retried
from tests.store_contract import alert, report
from testkit.waits import wait_until

postgres_store = pytest.importorskip("bot.store.postgres.store")

KEYRING = Keyring(keys=[new_key()])
QUIET_SECONDS = 1.0  # how long "nothing happened" is watched for


class Counter:
    """Counts wake-ups, from whichever thread calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self) -> None:
        with self._lock:
            self.count += 1

    def settled(self) -> int:
        """The count once nothing has arrived for a while (the listener wakes once when it connects)."""
        while True:
            before = self.count
            time.sleep(QUIET_SECONDS)
            if self.count == before:
                return before


def test_a_commit_queuing_work_on_one_instance_wakes_another(database):
    with closing(postgres_store.PostgresStore.open(database, KEYRING)) as here, \
            closing(postgres_store.PostgresStore.open(database, KEYRING)) as there:
        woken = Counter()
        there.on_queued(woken)
        wait_until(lambda: woken.count)  # listening (it wakes once on connecting, for anything queued before)
        before = woken.settled()
        r = report()
        here.commit(Changes(reports=(r,)))
        assert woken.settled() == before  # nothing queued: nobody woken
        began = time.monotonic()
        here.commit(Changes(outbox=(alert(r.id),)))
        wait_until(lambda: woken.count > before)
        assert time.monotonic() - began < 2.0  # at once, not at the next poll
        before = woken.settled()
        with pytest.raises(Conflict):
            here.commit(Changes(reports=(r,), outbox=(alert(r.id),)))  # version 1 again: rolled back, no notice
        assert woken.settled() == before


def test_the_listener_reconnects_after_its_connection_is_killed(database, postgres, caplog):
    caplog.set_level(logging.WARNING, logger="bot.store.postgres.notify")
    with closing(postgres_store.PostgresStore.open(database, KEYRING)) as here, \
            closing(postgres_store.PostgresStore.open(database, KEYRING)) as there:
        woken = Counter()
        there.on_queued(woken)
        wait_until(lambda: woken.count)
        before = woken.settled()
        assert postgres.terminate_backends(urlsplit(database).path.lstrip("/")) >= 1  # a failover, a restart
        wait_until(lambda: woken.count > before)  # reconnected: it wakes once, for what it may have missed
        before = woken.settled()
        here.commit(Changes(outbox=(alert("r"),)))
        wait_until(lambda: woken.count > before)
    said = caplog.text
    assert "outbox wake-ups from other instances stopped (OperationalError)" in said
    assert "work again" in said and "postgresql://" not in said


def test_a_listener_that_cannot_connect_keeps_trying_quietly_and_closes_at_once(caplog):
    caplog.set_level(logging.WARNING, logger="bot.store.postgres.notify")
    listener = OutboxListener(conninfo="postgresql://nobody:secret-word@127.0.0.1:1/none")
    listener.on_queued(lambda: None)
    time.sleep(2.0)  # several tries
    assert not listener.listening
    began = time.monotonic()
    listener.close()
    assert time.monotonic() - began < 5.0
    warnings = [r for r in caplog.records if "stopped" in r.getMessage()]
    assert len(warnings) == 1 and "secret-word" not in caplog.text  # once per outage; never the password


def test_a_closed_listener_never_starts_again():
    listener = OutboxListener(conninfo="postgresql://127.0.0.1:1/none")
    listener.close()  # before it ever started: harmless
    listener.on_queued(lambda: None)
    assert not listener.listening
    listener.close()


def test_retries_are_not_broadcast(database):
    # A retry is due later: polling finds it; waking every instance for it would only cost a pass each.
    with closing(postgres_store.PostgresStore.open(database, KEYRING)) as here, \
            closing(postgres_store.PostgresStore.open(database, KEYRING)) as there:
        woken = Counter()
        there.on_queued(woken)
        wait_until(lambda: woken.count)
        item = alert("r")
        here.commit(Changes(outbox=(item,)))
        [claimed] = here.claim_due(item.due_at, 1, "w", timedelta(minutes=1), {"slack"})
        before = woken.settled()
        here.commit(Changes(outbox=(retried(claimed, item.due_at, TimeoutError()),)))
        assert woken.settled() == before
