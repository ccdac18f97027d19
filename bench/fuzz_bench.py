"""Fuzzing the Slack front door: N generated hostile requests against the real server on 127.0.0.1.

`fuzz_front_door(n)` starts the bot (waitress, TinyDB in a temporary folder, a fake Slack), sends n
requests from testkit/fuzz.py (unsigned, signed bytes, signed payloads with parts of the wrong shape)
and returns what happened: requests sent, 5xx answers, error lines or tracebacks in the log, and
reports stored by a request that was not a signed, well-formed report submission. All must be 0
but the first. `python -m bench.fuzz_bench [N]` prints the counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
from dataclasses import asdict
from pathlib import Path

from testkit.fake_slack import FakeSlack
from testkit.fuzz import FuzzCounts, fuzz
from testkit.store_faults import Outcome
from testkit.slack_harness import BOT_TOKEN, SlackBot


FUZZ_REQUESTS = 2000  # in make bench-faults: about a minute on shared cores


def front_door(rng: random.Random) -> list[Outcome]:
    """A part of `make bench-faults`: fuzzed requests, where any 5xx, traceback or wrongful store is a loss."""
    counts = fuzz_front_door(FUZZ_REQUESTS, seed=rng.getrandbits(64))
    return [Outcome(name="fuzzed requests to the Slack front door", faults=counts.requests,
                    acknowledged=sum(counts.by_status.values()),
                    lost=counts.server_errors + counts.tracebacks + counts.stored_wrongly,
                    detail=f"answers {dict(sorted(counts.by_status.items()))}; 5xx {counts.server_errors}, "
                           f"tracebacks {counts.tracebacks}, stored when it should not {counts.stored_wrongly}")]


def fuzz_front_door(requests: int = 1000, *, seed: int | None = None) -> FuzzCounts:
    """Send `requests` fuzzed requests to a freshly started bot; the counts of what they did."""
    refusals = logging.getLogger("bot.slack.http")
    level = refusals.level
    refusals.setLevel(logging.ERROR)  # thousands of refusal lines are not the point here; errors still show
    with tempfile.TemporaryDirectory(prefix="staffsafe-fuzz-") as folder, \
            FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        bot = SlackBot(tmp_path=Path(folder), slack=slack)
        try:
            return fuzz(bot.url, lambda: len(bot.services.store.all_reports()), requests=requests,
                        response_url=lambda: slack.response_url("fuzz"), seed=seed)
        finally:
            bot.stop()
            refusals.setLevel(level)


def main() -> None:
    """Run the fuzz and print its counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests", nargs="?", type=int, default=1000)
    counts = fuzz_front_door(parser.parse_args().requests)
    print(json.dumps(asdict(counts), indent=2))


if __name__ == "__main__":
    main()
