"""A scheduler pass costs what is due, not what is stored: it reads (and decrypts) only the due records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import Keyring
from bot.domain.guidance import GuidanceEngine
from bot.domain.policy import Policy
from bot.domain.ports import Changes, Store
from bot.domain.report import Report, Status
from bot.store.tinydb_store import TinyDBStore
from handlers.scheduled import PassResult, run_due_work
from handlers.services import Services
from testkit.fakes import FakeClock
from tests.conftest import LEAD
from tests.store_contract import T0, reminder, report

POLICY = Policy(escalation_hours=24, retention_days=30)
STORED = 300  # reports of each kind below


class CountingKeyring(Keyring):
    """A real keyring that counts what it opens."""

    def __init__(self, *, keys: list[bytes]) -> None:
        super().__init__(keys=keys)
        self.decrypted = 0

    def decrypt(self, token: str, *, aad: bytes) -> bytes:
        self.decrypted += 1
        return super().decrypt(token, aad=aad)


class CountingStore:
    """A Store passing every call on to a real one, counting the calls and the records each read hands back."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()
        self.records: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            result = method(*args, **kwargs)
            if isinstance(result, list):
                self.records[name] += len(result)
            elif isinstance(result, Report):
                self.records[name] += 1
            return result
        return counted


def nothing_due(now_days: float = 1) -> Changes:
    """STORED reports of each kind a pass must leave alone `now_days` after T0, and a reminder due tomorrow."""
    recent = T0 + timedelta(days=now_days)
    reports = []
    for n in range(STORED):
        minutes = n / 10
        reports += [
            report(minutes=minutes, created_at=recent - timedelta(hours=1)),  # waiting, within its window
            report(minutes=minutes, handler_id=LEAD.id, status=Status.ACKNOWLEDGED),  # being handled
            report(minutes=minutes, status=Status.CLOSED, closed_at=recent - timedelta(days=1)),  # kept for now
            report(minutes=minutes, status=Status.CLOSED, closed_at=T0 - timedelta(days=400), legal_hold=True),
        ]
    return Changes(reports=tuple(reports), reminders=(reminder(next_run=recent + timedelta(days=1)),))


@pytest.fixture
def counting_keyring() -> CountingKeyring:
    return CountingKeyring(keys=[bytes(range(32))])


@pytest.fixture
def tinydb_services(tmp_path: Path, counting_keyring, content, clock, org) -> Iterator[Callable[[], Services]]:
    opened: list[TinyDBStore] = []

    def open_services() -> Services:
        store = TinyDBStore.open(tmp_path / "data", counting_keyring)
        opened.append(store)
        return counted(Services(store=store, content=content, clock=clock, org=org,
                                guidance=GuidanceEngine(content=content)))
    yield open_services
    for store in opened:
        store.close()


def counted(services: Services) -> Services:
    """The same services, their store's reads counted."""
    return replace(services, store=CountingStore(services.store))  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(days=1))


def test_a_pass_with_nothing_due_reads_and_decrypts_no_record(tinydb_services, counting_keyring):
    services = tinydb_services()
    services.store.commit(nothing_due())
    services.store.close()
    services = tinydb_services()  # the indexes are built at start, from the folder
    counting_keyring.decrypted = 0
    assert run_due_work(services, POLICY) == PassResult()
    assert counting_keyring.decrypted == 0
    store = services.store
    assert sum(store.records.values()) == 0, store.records
    assert store.calls["all_reports"] == store.calls["open_reports"] == store.calls["reminders"] == 0


def test_a_pass_reads_only_what_is_due_and_does_it_once(services, clock):
    services = counted(services)
    counting = services.store
    now = clock.now()
    to_chase = report(created_at=now - timedelta(hours=24))  # its window ends exactly now
    to_warn = report(status=Status.CLOSED, closed_at=now - timedelta(days=23))  # 7 days before its purge
    to_purge = report(status=Status.CLOSED, closed_at=now - timedelta(days=40), retention_warned_at=now - timedelta(days=7))
    due = reminder(next_run=now)
    counting.commit(nothing_due())
    counting.commit(Changes(reports=(to_chase, to_warn, to_purge), reminders=(due,)))
    assert run_due_work(services, POLICY) == PassResult(reminders=1, escalations=1, purges=1)
    assert counting.records["escalation_due"] == counting.records["reports_to_warn"] == 1
    assert counting.records["reports_to_purge"] == counting.records["due_reminders"] == 1
    assert services.store.report(to_chase.id).escalations == 1
    assert services.store.report(to_warn.id).retention_warned_at == now
    assert services.store.report(to_purge.id) is None
    counting.records.clear()
    assert run_due_work(services, POLICY) == PassResult()  # once: nothing is due again
    assert sum(counting.records.values()) == 0
