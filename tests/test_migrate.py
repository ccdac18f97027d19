"""`staffsafe migrate`'s copy: a data folder into another store through the port, verified, resumable, refused when foreign."""

from __future__ import annotations

import hashlib
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.crypto import Keyring, new_key
from bot.domain.errors import StoreError
from bot.domain.platform import ConversationRef, conversation_id_of
from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxState, Status
from bot.store.memory import MemoryStore
from bot.store.migrate import MigrationRefused, migrate, summary, verify
from bot.store.read_only import ReadOnlyStore
from bot.store.tinydb_store import TinyDBStore
from tests.store_contract import (
    T0, alert, event, evidence, note, post, press, purge_record, reminder, reminder_run, report,
)

KEY = new_key()
KEYRING = Keyring(keys=[KEY])


def fill(store, cases: int = 30) -> None:
    """A folder as years of use leave it: cases at many versions with everything attached, reminders sent and pressed."""
    for n in range(cases):
        r = report(minutes=n, reference=f"SS-{n:05d}-ABCDE", reporter_id=f"slack:U{n % 4}")
        store.commit(Changes(reports=(r,), audit=(event(r.id, minutes=n),),
                             outbox=(alert(r.id, minutes=n), alert(r.id, minutes=n, kind=Delivery.RECEIPT))))
        for version in range(n % 5):  # acknowledged, moved on, noted...
            r = r.evolve(now=T0 + timedelta(minutes=n, seconds=version + 1),
                         status=[Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED][version % 4],
                         handler_id="slack:ULEAD")
            store.commit(Changes(reports=(r,), notes=(note(r.id, minutes=n + version),),
                                 audit=(event(r.id, minutes=n + version, action="case.status"),)))
        if n % 3 == 0:
            store.commit(Changes(evidence=(evidence(store, r.id, minutes=n, data=bytes([n]) * (1000 + n)),)))
    [claimed] = store.claim_due(T0, 1, "host/123/dead", timedelta(minutes=2), {"slack"})  # a claim held
    sent = store.outbox_of(claimed.report_id)[-1]
    store.commit(Changes(outbox=(replace(sent, state=OutboxState.SENT, delivered_at=T0, receipt="1.2"),)))
    rem = reminder()
    run = reminder_run(rem.id)
    store.commit(Changes(reminders=(rem,), runs=(run,), outbox=(post(run), post(run, channel=run.channels[1]))))
    for day in range(1, 12):  # a daily reminder's version grows with each send
        rem = rem.evolve(now=T0 + timedelta(days=day), sends=rem.sends + 1)
        store.commit(Changes(reminders=(rem,)))
    store.commit(Changes(presses=(press(run, "slack:U1"), press(run, "slack:U2"))))
    gone = report(minutes=-600, reference="SS-GONE0-00000")
    store.commit(Changes(reports=(gone,)))
    store.commit(Changes(purge_reports=(gone,), purges=(purge_record(gone),)))
    target = "teams:29:1a-B_c/d"
    store.commit(Changes(conversations=(ConversationRef(id=conversation_id_of(target), target=target,
                                                        service_url="https://smba.example/uk/",
                                                        conversation="a:1Xy-z", tenant="t-1", updated_at=T0),),
                         outbox=(alert("", kind=Delivery.REPORT_WAITING, recipient="admin-1"),)))


@pytest.fixture
def folder(tmp_path) -> Path:
    data = tmp_path / "data"
    with TinyDBStore.open(data, KEYRING) as store:
        fill(store)
    return data


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def state(store) -> tuple:
    reports = store.all_reports()
    reminders = store.reminders()
    runs = [run for rem in reminders for run in store.runs_of(rem.id)]
    return (reports, [(store.notes(r.id), store.evidence(r.id), store.audit(r.id), store.outbox_of(r.id))
                      for r in reports],
            reminders, runs, [store.outbox_of_run(run.id) for run in runs],
            [store.press_counts(rem.id) for rem in reminders], store.purges(),
            store.conversation("teams:29:1a-B_c/d"), store.due_outbox(T0 + timedelta(days=30), 1000))


def test_the_copy_holds_what_the_folder_holds_and_the_folder_is_untouched(folder):
    before = fingerprint(folder)
    target = MemoryStore()
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        migration = migrate(source, target)
        assert migration.ok and not migration.resumed, summary(migration)
        assert state(target) == state(source)
        files = [e for r in source.all_reports() for e in source.evidence(r.id)]
        assert all(b"".join(target.open_evidence(e.report_id, e.id)) == b"".join(source.open_evidence(e.report_id, e.id))
                   for e in files) and len(files) == 10
        counts = {check.table: (check.source, check.target) for check in migration.checks}
    assert counts["reports"] == (30, 30) and counts["evidence"] == (10, 10) and counts["presses"] == (2, 2)
    assert counts["outbox"] == (63, 63) and counts["purges"] == (1, 1) and counts["conversations"] == (1, 1)
    assert migration.files_checked == 10
    claimed = [o for o in target.outbox_of(target.all_reports()[0].id) if o.state is OutboxState.SENDING]
    assert [o.claimed_by for o in claimed] == ["host/123/dead"]  # claims go over: the lease lapses, then a take-over
    assert fingerprint(folder) == before


def test_the_summary_gives_counts_per_table_and_the_verdict(folder):
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        lines = summary(migrate(source, MemoryStore()))
    text = "\n".join(lines)
    assert "Copied: 259 records written. Checked:" in text and "Verified: the database holds exactly what the data folder holds" in text
    assert any(line.startswith("reports") and " 30 " in line and "same" in line for line in lines)
    assert "each file's bytes read back and hashed" in text and "counted per reminder and button" in text


class Interrupted(Exception):
    pass


class DiesAfter:
    """A target that dies after `commits` commits, as a copy cut off by a crash or a lost connection."""

    def __init__(self, store: MemoryStore, commits: int) -> None:
        self._store = store
        self._left = commits

    def commit(self, changes: Changes) -> None:
        if self._left == 0:
            raise Interrupted()
        self._left -= 1
        self._store.commit(changes)

    def __getattr__(self, name: str):
        return getattr(self._store, name)


@pytest.mark.parametrize("commits", [0, 1, 3, 5, 8, 12])
def test_an_interrupted_copy_goes_on_where_it_stopped(folder, commits, monkeypatch):
    monkeypatch.setattr("bot.store.migrate.BATCH_RECORDS", 7)  # many commits, so it can stop in each phase
    target = MemoryStore()
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        with pytest.raises(Interrupted):
            migrate(source, DiesAfter(target, commits))  # type: ignore[arg-type]
        again = migrate(source, target)
        assert again.ok and again.resumed == bool(commits), summary(again)
        assert state(target) == state(source)


def test_copying_again_onto_a_complete_copy_writes_nothing_and_verifies(folder):
    target = MemoryStore()
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        migrate(source, target)
        again = migrate(source, target)
    assert again.ok and again.resumed and sum(again.copied.values()) == 0


@pytest.mark.parametrize("foreign", ["another report", "a changed report", "a seeded reminder", "a purge"])
def test_a_target_holding_anything_else_is_refused_and_nothing_is_written(folder, foreign):
    target = MemoryStore()
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        if foreign == "a changed report":
            migrate(source, target)
            [first, *_] = target.all_reports()
            target.commit(Changes(reports=(first.evolve(now=T0 + timedelta(days=60), legal_hold=True),)))
        elif foreign == "another report":
            target.commit(Changes(reports=(report(),)))
        elif foreign == "a seeded reminder":
            target.commit(Changes(reminders=(reminder(),)))
        else:
            target.commit(Changes(purges=(purge_record(report()),)))
        before = state(target)
        with pytest.raises(MigrationRefused) as refused:
            migrate(source, target)
    assert "Copy into an empty database" in str(refused.value) or "copy into an empty database" in str(refused.value)
    assert state(target) == before


def test_verification_names_what_differs_by_id_never_content(folder):
    target = MemoryStore()
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        migrate(source, target)
        r = target.all_reports()[3]
        target.commit(Changes(notes=(note(r.id, text="An extra note"),)))
        checks, _ = verify(source, target)
    [notes] = [c for c in checks if c.table == "notes"]
    assert not notes.ok and notes.target == notes.source + 1
    assert notes.problems[0].endswith(": not in the data folder") and "extra" not in notes.problems[0]
    assert all(c.ok for c in checks if c.table != "notes")


def test_a_folder_in_use_by_a_running_instance_is_refused(folder):
    with TinyDBStore.open(folder, KEYRING):
        with pytest.raises(StoreError, match="in use by another StaffSafe process"):
            ReadOnlyStore.open(folder, KEYRING)
