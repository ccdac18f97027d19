"""Refusals are logged one short line each, at most a few a minute, with the rest summed up."""

from __future__ import annotations

import logging

from bot.rejections import RejectionLog


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_is_capped_per_minute_and_summed_up_when_the_minute_ends(caplog):
    caplog.set_level(logging.WARNING)
    clock = Ticks()
    rejections = RejectionLog(logger=logging.getLogger("test.door"), per_minute=3, clock=clock)
    for _ in range(1000):
        rejections.refused(401, "missing, malformed, wrong or stale signature")
    assert len(caplog.records) == 3
    clock.now = 61
    rejections.refused(401, "missing, malformed, wrong or stale signature")
    assert [r.getMessage() for r in caplog.records[3:]] == [
        "997 more refused requests in the last minute were not logged one by one",
        "refused a request (401): missing, malformed, wrong or stale signature",
    ]
