"""Faults heal: SIGKILLs during bursts, full disks that empty again, and the health check while writes fail."""

from __future__ import annotations

import logging
import os
import random
import subprocess
from pathlib import Path

import pytest

from bot.crypto import Keyring
from bot.domain.errors import StoreError
from bot.store.tinydb_store import JOURNAL_NAME, TinyDBStore
from testkit.fake_slack import FakeSlack
from testkit.store_faults import (KEY, FullDisk, damage_cases, disk_full_cycles, kill_rounds, pristine_folder,
                              small_filesystem, tmpfs_full_cycles)
from testkit.slack_harness import BOT_TOKEN, SlackBot, report_state
from tests.store_contract import report, submission


@pytest.fixture
def rng() -> random.Random:
    seed = int.from_bytes(os.urandom(4), "big")
    print("seed", seed)  # shown by pytest on failure, to replay the run
    return random.Random(seed)


def test_sigkill_at_random_moments_loses_no_commit(tmp_path: Path, rng: random.Random) -> None:
    outcome = kill_rounds(tmp_path / "data", rounds=24, rng=rng)
    assert outcome.acknowledged > outcome.faults, "the child hardly committed anything; the test proves little"
    assert outcome.lost == 0


def test_disk_full_cycles_lose_nothing_and_heal(tmp_path: Path, rng: random.Random) -> None:
    outcome = disk_full_cycles(tmp_path / "data", cycles=12, rng=rng)
    assert outcome.lost == 0 and outcome.acknowledged > 0


def test_a_real_small_filesystem_fills_and_heals(rng: random.Random) -> None:
    with small_filesystem() as point:
        if point is None:
            pytest.skip("mounting a tmpfs is not permitted here (the injected-writer test covers this)")
        outcome = tmpfs_full_cycles(point, cycles=4, rng=rng)
    assert outcome.lost == 0 and not outcome.detail.startswith("0 "), outcome


def test_generated_damage_is_refused_or_harmless(tmp_path: Path, rng: random.Random) -> None:
    reports = pristine_folder(tmp_path / "pristine")
    outcome = damage_cases(tmp_path / "pristine", [r.id for r in reports], cases=24, rng=rng)
    assert outcome.lost == 0


def test_a_failed_write_is_logged_once_and_its_end_once(
    tmp_path: Path, rng: random.Random, caplog: pytest.LogCaptureFixture
) -> None:
    disk = FullDisk(rng=rng)
    store = TinyDBStore.open(tmp_path / "data", Keyring(keys=[KEY]), write=disk.write)
    kept = report()
    store.commit(submission(kept))
    size = (tmp_path / "data" / JOURNAL_NAME).stat().st_size
    disk.full = True
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with pytest.raises(StoreError, match="ENOSPC"):
                store.commit(submission(report()))
            assert (tmp_path / "data" / JOURNAL_NAME).stat().st_size == size  # no partial line left
        assert not store.healthy and store.all_reports() == [kept]
        disk.full = False
        later = report()
        store.commit(submission(later))
    assert store.healthy
    assert [r.message.count("ENOSPC") for r in caplog.records if " fail (" in r.message] == [1]
    assert sum("work again" in r.message for r in caplog.records) == 1
    store.close()
    with TinyDBStore.open(tmp_path / "data", Keyring(keys=[KEY])) as again:
        assert again.all_reports() == [kept, later]


def test_an_unwritable_data_folder_at_start_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot be used") as caught:
        TinyDBStore.open(blocker / "data", Keyring(keys=[KEY]))
    assert str(blocker / "data") in str(caught.value)


def test_a_read_only_data_folder_at_start_is_one_clear_error(tmp_path: Path) -> None:
    with small_filesystem() as point:
        if point is None:
            pytest.skip("mounting a tmpfs is not permitted here")
        with TinyDBStore.open(point / "data", Keyring(keys=[KEY])) as store:
            store.commit(submission(report()))
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True, timeout=10)
        with pytest.raises(StoreError, match="Read-only") as caught:
            TinyDBStore.open(point / "data", Keyring(keys=[KEY]))
        assert str(point / "data") in str(caught.value)


def test_a_report_refused_on_a_full_disk_is_asked_again_kindly_and_healthz_says_so(
    tmp_path: Path, rng: random.Random
) -> None:
    disk = FullDisk(rng=rng)
    store = TinyDBStore.open(tmp_path / "data", Keyring(keys=[KEY]), write=disk.write)
    with FakeSlack(token=BOT_TOKEN) as slack:
        bot = SlackBot(tmp_path=tmp_path, slack=slack, store=store)
        try:
            assert bot.command("report").status == 200
            view = bot.opened_view("report.form")
            disk.full = True
            refused = bot.submit(view, report_state())
            assert refused.status == 200 and "try again" in refused.body and "ENOSPC" not in refused.body
            assert bot.get("/healthz").status == 503 and store.all_reports() == []
            disk.full = False
            accepted = bot.submit(view, report_state())
            assert accepted.json()["response_action"] == "update", accepted.body
            assert bot.get("/healthz").status == 200 and len(store.all_reports()) == 1
        finally:
            bot.stop()
