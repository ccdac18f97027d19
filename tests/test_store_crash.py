"""TinyDBStore under SIGKILL: a child commits in a loop and is killed at random moments, many times.

The child prints a record's id only after `commit` returned; every printed id must survive, and
every commit must be whole (a report never without its outbox item and note).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.crypto import Keyring
from bot.store.tinydb_store import TinyDBStore

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(32))
ROUNDS = 24

# Self-contained (no pytest import) so the child starts fast.
CHILD = """
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from bot.crypto import Keyring
from bot.domain.report import (Adult, Changes, Delivery, Note, NoteKind, OutboxItem, Perpetrator,
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


def test_sigkill_at_random_moments_loses_no_commit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    done: list[str] = []
    for round_no in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert child.stdout is not None
        if round_no % 4 == 0:
            time.sleep(rng.uniform(0.0, 0.3))  # any moment, even while it opens and recovers
        else:
            ready = child.stdout.readline()
            assert ready == b"ready\n", (seed, round_no, child.stderr.read() if child.stderr else "")
            time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, (seed, round_no, err.decode(errors="replace"))
        # Only whole lines count: the last one may have been cut by the kill.
        done += [line for line in out.decode().split("\n")[:-1] if line != "ready"]

    assert len(done) > ROUNDS, "the child hardly committed anything; the test proves little"
    with TinyDBStore.open(data, Keyring(keys=[KEY])) as store:
        stored = {r.id: r for r in store.all_reports()}
        missing = [i for i in done if i not in stored]
        assert not missing, (seed, len(missing))
        for report_id in stored:
            assert store.outbox_item(f"out-{report_id}") is not None, seed
            assert len(store.notes(report_id)) == 1, seed
