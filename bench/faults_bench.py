"""Reliability under faults: kills, damaged files and full disks against the real store, and more (~2 minutes).

Each part runs one kind of fault many times and returns rows: how many faults, how many acknowledged
records were checked afterwards, and how many of those were lost (must be 0). Another part (the
front door fuzz, for one) joins by adding one function to PARTS. Writes the reliability section of
bench/RESULTS.md.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench.fuzz_bench import front_door
from bench.results import write_section
from testkit.store_faults import (DAMAGE, Outcome, damage_cases, disk_full_cycles, kill_rounds, pristine_folder,
                                  small_filesystem, tmpfs_full_cycles)

START, END = "<!-- faults-bench:start -->", "<!-- faults-bench:end -->"

KILLS = 150
DAMAGE_CASES = 100  # of each kind
DISK_FULL_CYCLES = 300
TMPFS_CYCLES = 30

Part = Callable[[random.Random], list[Outcome]]


def kills(rng: random.Random) -> list[Outcome]:
    """SIGKILLs at random moments while a child process submits in bursts."""
    with tempfile.TemporaryDirectory(prefix="staffsafe-kills-") as folder:
        return [kill_rounds(Path(folder) / "data", rounds=KILLS, rng=rng)]


def damage(rng: random.Random) -> list[Outcome]:
    """Each kind of damage, many times over copies of one crash image."""
    with tempfile.TemporaryDirectory(prefix="staffsafe-damage-") as folder:
        pristine = Path(folder) / "pristine"
        ids = [r.id for r in pristine_folder(pristine)]
        return [damage_cases(pristine, ids, cases=DAMAGE_CASES, rng=rng, kinds=[kind]) for kind in DAMAGE]


def disk_full(rng: random.Random) -> list[Outcome]:
    """Full disks that empty again: an injected writer always; a real tmpfs where mounting is permitted."""
    with tempfile.TemporaryDirectory(prefix="staffsafe-full-") as folder:
        outcomes = [disk_full_cycles(Path(folder) / "data", cycles=DISK_FULL_CYCLES, rng=rng)]
    with small_filesystem() as point:
        if point is not None:
            outcomes.append(tmpfs_full_cycles(point, cycles=TMPFS_CYCLES, rng=rng))
    return outcomes


PARTS: list[Part] = [kills, damage, disk_full, front_door]


def section(outcomes: list[Outcome], *, seed: int, seconds: float) -> str:
    """The reliability section of RESULTS.md."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lost = sum(o.lost for o in outcomes)
    rows = "\n".join(f"| {o.name} | {o.faults:,} | {o.acknowledged:,} | {o.lost} | {o.detail} |" for o in outcomes)
    return f"""{START}
## Reliability: fuzzed requests, kills, damage and full disks (`bench/faults_bench.py`)

`make bench-faults` at commit {commit}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, seed {seed},
{seconds:.0f} s on {os.cpu_count()} shared cores. For the store, "checked" counts acknowledged records
(their commit returned; for kills, printed by the child only after `commit` returned) looked for
afterwards, and "lost" those missing from a store that opened without complaint: damage is refused at
start with the folder left byte for byte as found, or opens with everything. For the fuzz, "checked"
counts answered requests, and "lost" any 5xx, traceback or report stored when it should not be.

| fault | runs | checked | lost | notes |
|---|---:|---:|---:|---|
{rows}

**Lost in total: {lost}.**

Limits, by design: a journal cut at a line boundary looks like fewer commits, and a cut inside its last
line like a crash before that commit was acknowledged (that line is dropped, and logged). Someone holding
a copy of the folder from before the upgrade to tagged files could put it back.
{END}
"""


def main() -> None:
    """Run every part and write the section."""
    # Hundreds of refused writes and damaged folders: their warnings are the point of the run, not news.
    logging.getLogger("bot.store").setLevel(logging.CRITICAL)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    for part in PARTS:
        print(f"{part.__name__}...", file=sys.stderr, flush=True)
        outcomes += part(rng)
    text = section(outcomes, seed=seed, seconds=time.monotonic() - started)
    write_section(text, start=START, end=END)
    print(text)
    if any(o.lost for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
