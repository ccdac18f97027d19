"""Fault runs against the real TinyDBStore, shared by the fault tests (small) and `make bench-faults` (larger).

Each run counts what it did and what was lost: an acknowledged record (its commit returned) that a
store which opened without complaint does not hold. Every run must lose nothing.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.crypto import Keyring, load_keyring
from bot.domain.errors import ConfigError, StoreError
from bot.domain.ports import Changes
from bot.domain.report import AuditEvent, Report, new_id
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from testkit.builders import a_report

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(32))

# Self-contained (no pytest import) so the child starts fast: commits in a loop, printing each
# report's id only once `commit` returned, so every printed id is acknowledged.
KILL_CHILD = """
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from bot.crypto import Keyring
from bot.domain.ports import Changes
from bot.domain.report import (Adult, Delivery, Note, NoteKind, OutboxItem, Perpetrator,
    Report, Status, new_id, new_reference)
from bot.store.tinydb_store import TinyDBStore

store = TinyDBStore.open(Path(sys.argv[1]), Keyring(keys=[bytes(range(32))]), compact_every=32_000)
print("ready", flush=True)
now = datetime.now(timezone.utc)
previous = None
while True:
    r = Report(id=new_id(), reference=new_reference(), reporter_id="slack:UCRASH", reporter_name="Crash Test",
        named_to_leads=True, what_happened="words " * 200, where="facebook", urls=("https://x.example/1",),
        first_seen=date(2026, 1, 1), occasions=1, perpetrator=Perpetrator.UNKNOWN, adult=Adult.UNSURE,
        natures=frozenset(), evidence_saved=False, wants=frozenset(), created_at=now)
    changes = Changes(
        reports=(r,) if previous is None else (r, previous.evolve(now=now, status=Status.ACKNOWLEDGED)),
        notes=(Note(id=new_id(), report_id=r.id, kind=NoteKind.INTERNAL, author_id="slack:UL", text="n", at=now),),
        outbox=(OutboxItem(id="out-" + r.id, kind=Delivery.LEAD_ALERT, report_id=r.id, due_at=now),),
    )
    store.commit(changes)
    print(r.id, flush=True)
    previous = None if previous is not None else r
"""


T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def report(*, minutes: float = 0, **overrides: object) -> Report:
    """A report created `minutes` after T0, with fresh ids."""
    return a_report(created_at=T0 + timedelta(minutes=minutes), **overrides)


def submission(r: Report) -> Changes:
    """What a submission stores, as far as these runs need: the report and its audit event."""
    return Changes(reports=(r,), audit=(AuditEvent(id=new_id(), report_id=r.id, actor_id=r.reporter_id,
                                                   action="report.submit", at=r.created_at),))


@dataclass(frozen=True)
class Outcome:
    """What one kind of fault run did: how many faults, how many acknowledged records, how many lost."""

    name: str
    faults: int
    acknowledged: int
    lost: int
    detail: str = ""


def kill_rounds(data: Path, *, rounds: int, rng: random.Random) -> Outcome:
    """SIGKILL a child committing in bursts at random moments (even while it opens), `rounds` times."""
    done: list[str] = []
    for round_no in range(rounds):
        child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(data)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None
        if round_no % 4 == 0:
            time.sleep(rng.uniform(0.0, 0.3))  # any moment, even while it opens and recovers
        else:
            ready = child.stdout.readline()
            assert ready == b"ready\n", (round_no, child.stderr.read() if child.stderr else "")
            time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, (round_no, err.decode(errors="replace"))
        # Only whole lines count: the last one may have been cut by the kill.
        done += [line for line in out.decode().split("\n")[:-1] if line != "ready"]
    with TinyDBStore.open(data, Keyring(keys=[KEY])) as store:
        stored = {r.id for r in store.all_reports()}
        whole = all(store.outbox_item(f"out-{i}") is not None and len(store.notes(i)) == 1 for i in stored)
    assert whole, "a commit was stored in part"
    return Outcome("SIGKILL during bursts of submissions", rounds, len(done), sum(i not in stored for i in done),
                   f"{(rounds + 3) // 4} of them at any moment, opening and recovery included")


class FullDisk:
    """A journal writer that fails like a full disk while `full`: it writes part of the data, then ENOSPC."""

    def __init__(self, *, rng: random.Random) -> None:
        self.full = False
        self._rng = rng

    def write(self, fd: int, data: memoryview) -> int:
        """os.write; while full, some of the data reaches the file before ENOSPC, as on a real disk."""
        if not self.full:
            return os.write(fd, data)
        os.write(fd, data[: self._rng.randrange(len(data) + 1)])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def disk_full_cycles(data: Path, *, cycles: int, rng: random.Random) -> Outcome:
    """Fill and free the disk `cycles` times under an injected writer; commits fail while full, then heal."""
    disk = FullDisk(rng=rng)
    acknowledged, refused = [], []
    with TinyDBStore.open(data, Keyring(keys=[KEY]), write=disk.write, compact_every=20_000) as store:
        for _ in range(cycles):
            for full in (False, True):
                disk.full = full
                for _ in range(rng.randint(1, 4)):
                    r = report(what_happened="x" * rng.randint(10, 3000))
                    try:
                        store.commit(submission(r))
                    except StoreError:
                        refused.append(r.id)
                        assert not store.healthy
                    else:
                        acknowledged.append(r.id)
                        assert store.healthy
            store.settle()
        disk.full = False
    return _reopened("disk full, then space again (injected writer)", cycles, data, acknowledged, refused)


def _reopened(name: str, cycles: int, data: Path, acknowledged: list[str], refused: list[str]) -> Outcome:
    with TinyDBStore.open(data, Keyring(keys=[KEY])) as again:
        stored = {r.id for r in again.all_reports()}
    assert not stored & set(refused), "a refused commit was stored"
    return Outcome(name, cycles, len(acknowledged), sum(i not in stored for i in acknowledged),
                   f"{len(refused)} commits refused while full")


@contextmanager
def small_filesystem(size: str = "2m") -> Iterator[Path | None]:
    """A fresh tmpfs of `size` (root only: CI), or None where mounting is not permitted."""
    point = Path(tempfile.mkdtemp(prefix="staffsafe-tmpfs-"))
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                                 capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        mounted = False
    try:
        yield point if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(point)], capture_output=True, timeout=10)
        shutil.rmtree(point, ignore_errors=True)


def tmpfs_full_cycles(point: Path, *, cycles: int, rng: random.Random) -> Outcome:
    """Fill a real small filesystem until commits fail, free space, and commit again, `cycles` times."""
    data = point / "data"
    acknowledged, refused = [], []
    with TinyDBStore.open(data, Keyring(keys=[KEY]), compact_every=50_000) as store:
        for cycle in range(cycles):
            filler = point / f"filler-{cycle}"
            _fill(filler)
            for _ in range(rng.randint(1, 3)):
                r = report(what_happened="y" * rng.randint(2000, 20_000))
                try:
                    store.commit(submission(r))
                    acknowledged.append(r.id)
                except StoreError:
                    refused.append(r.id)
                    assert not store.healthy
            filler.unlink()
            r = report()
            store.commit(submission(r))  # space is back: no restart
            acknowledged.append(r.id)
            assert store.healthy
            store.settle()
    return _reopened("disk full, then space again (a real 2 MB tmpfs)", cycles, data, acknowledged, refused)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass  # full
    finally:
        os.close(fd)


@contextmanager
def copy_of(folder: Path) -> Iterator[Path]:
    """A throwaway copy of a data folder."""
    with tempfile.TemporaryDirectory() as parent:
        target = Path(parent) / "data"
        shutil.copytree(folder, target)
        yield target


def pristine_folder(into: Path) -> list[Report]:
    """A crash image with its own key file: one report in the snapshot, three in the journal."""
    live = into.with_name(into.name + "-live")
    store = TinyDBStore.open(live, load_keyring(data_dir=live))
    reports = [report(minutes=i) for i in range(4)]
    store.commit(submission(reports[0]))
    store.compact()
    for r in reports[1:]:
        store.commit(submission(r))
    shutil.copytree(live, into)  # before closing, which would fold the journal into the snapshot
    store.close()
    return reports


Damage = Callable[[Path, random.Random], None]


def _flip(name: str) -> Damage:
    def damage(folder: Path, rng: random.Random) -> None:
        path = folder / name
        raw = bytearray(path.read_bytes())
        offset = rng.randrange(len(raw))
        raw[offset] = (raw[offset] + rng.randint(1, 255)) % 256
        path.write_bytes(raw)
    return damage


def _cut_snapshot(folder: Path, rng: random.Random) -> None:
    path = folder / SNAPSHOT_NAME
    raw = path.read_bytes()
    path.write_bytes(raw[: rng.randrange(len(raw))])


def _delete(name: str) -> Damage:
    return lambda folder, rng: (folder / name).unlink()


# Fields of a report kept in clear, and values an insider might want them to have.
CLEAR_EDITS = {"status": "closed", "legal_hold": True, "occasions": 9, "where": "email", "reference": "SS-AAAAA-AAAAA"}


def _edit_snapshot(folder: Path, rng: random.Random) -> None:
    path = folder / SNAPSHOT_NAME
    data = json.loads(path.read_bytes())
    field, value = rng.choice(list(CLEAR_EDITS.items()))
    data["reports"]["1"][field] = value
    path.write_text(json.dumps(data))  # the layout StaffSafe writes; the tag left as it was


def _edit_journal(folder: Path, rng: random.Random) -> None:
    path = folder / JOURNAL_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    line = rng.randrange(len(lines))
    tag, seq, payload = lines[line].rstrip(b"\n").split(b" ", 2)
    entry = json.loads(payload)
    field, value = rng.choice(list(CLEAR_EDITS.items()))
    entry["reports"][0][field] = value
    lines[line] = b" ".join([tag, seq, json.dumps(entry, separators=(",", ":")).encode()]) + b"\n"
    path.write_bytes(b"".join(lines))


DAMAGE: dict[str, Damage] = {
    "a clear field of a report edited in the snapshot": _edit_snapshot,
    "a clear field of a report edited in a journal line": _edit_journal,
    "a byte changed in the snapshot": _flip(SNAPSHOT_NAME),
    "a byte changed in the journal": _flip(JOURNAL_NAME),
    "the snapshot cut short": _cut_snapshot,
    "the journal deleted": _delete(JOURNAL_NAME),
    "the snapshot deleted": _delete(SNAPSHOT_NAME),
    "the key file deleted": _delete("secret.key"),
}


def damage_cases(pristine: Path, ids: list[str], *, cases: int, rng: random.Random,
                 kinds: Sequence[str] = tuple(DAMAGE)) -> Outcome:
    """Damage copies of `pristine` at random; each must be refused with the files untouched, or lose nothing."""
    refused = 0
    lost = 0
    for case in range(cases):
        kind = kinds[case % len(kinds)]
        with copy_of(pristine) as folder:
            DAMAGE[kind](folder, rng)
            before = {p.name: p.read_bytes() for p in folder.iterdir()}
            try:
                keyring = load_keyring(data_dir=folder)
                with TinyDBStore.open(folder, keyring) as store:
                    stored = {r.id for r in store.all_reports()}
            except (StoreError, ConfigError):
                refused += 1
                assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, kind
                continue
            lost += sum(i not in stored for i in ids)
    name = kinds[0] if len(kinds) == 1 else "damaged data folders"
    return Outcome(name, cases, (cases - refused) * len(ids), lost,
                   f"{refused} refused at start, folder untouched; {cases - refused} opened")
