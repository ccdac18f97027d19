"""An outbox item for a platform no worker here serves waits, and says so in checks and /healthz."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.app import open_store
from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxItem
from bot.settings import settings_from_env
from tests.test_cli import ROOT, staffsafe

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def for_teams(item_id: str) -> OutboxItem:
    return OutboxItem(id=item_id, kind=Delivery.LEAD_ALERT, report_id="", due_at=T0, platform="teams",
                      recipient="lead:0123456789abcdef")


def test_healthz_names_items_waiting_for_a_platform_that_does_not_run_here(bot, slack):
    bot.services.store.commit(Changes(outbox=(for_teams("t1"), for_teams("t2"))))
    bot.runtime.worker.run_once()  # a delivery pass: it claims nothing of teams
    answer = bot.get("/healthz")
    assert answer.status == 200 and answer.json() == {"ok": True, "outbox_waiting": {"teams": 2}}
    assert bot.services.store.outbox_item("t1").attempts == 0  # never handed to Slack's notifier


def test_check_names_items_waiting_to_be_sent(tmp_path):
    data = tmp_path / "data"
    assert staffsafe("check", data_dir=data).returncode == 0  # a folder the next start creates checks fine
    settings = settings_from_env({"STAFFSAFE_DATA_DIR": str(data), "STAFFSAFE_CONFIG": str(ROOT / "app.yaml")})
    with open_store(settings) as store:
        store.commit(Changes(outbox=(for_teams("t1"),)))
    done = staffsafe("check", data_dir=data)
    assert done.returncode == 0
    assert "Outbox: items waiting to be sent (1 for teams); each waits for a worker of its platform." in done.stdout
