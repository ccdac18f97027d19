"""Workers woken by the store when work is queued (Store.on_queued), and the outbox lease as a setting."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.app import build_slack, running
from bot.crypto import Keyring, new_key
from bot.domain.ports import Changes, Notifiers
from bot.domain.report import OutboxState
from bot.settings import Settings, settings_from_env
from bot.store.memory import MemoryStore
from bot.store.tinydb_store import TinyDBStore
from bot.store.wakeups import queues_work
from handlers.delivery import deliver_due
from handlers.outbox_state import retried
from testkit.fakes import FakeClock, LedgerNotifier
from testkit.slack_harness import APP_YAML, BOT_TOKEN, LEAD_CHANNEL, SIGNING_SECRET, posts_to
from tests.store_contract import T0, alert, report
from testkit.waits import wait_until


@pytest.fixture(params=["memory", "tinydb"])
def store(request, tmp_path):
    opened = MemoryStore() if request.param == "memory" else TinyDBStore.open(tmp_path / "data", Keyring(keys=[new_key()]))
    yield opened
    opened.close()


def test_only_untried_waiting_items_wake_workers(store):
    woken: list[int] = []
    store.on_queued(lambda: woken.append(1))
    item = alert("r", due_at=T0)
    store.commit(Changes(reports=(report(),)))
    assert woken == []
    store.commit(Changes(outbox=(item,)))
    assert woken == [1]
    [claimed] = store.claim_due(T0, 1, "w", timedelta(minutes=2), {"slack"})
    store.commit(Changes(outbox=(retried(claimed, T0, TimeoutError()),)))  # due later: polling finds it
    assert woken == [1]
    [claimed] = store.claim_due(T0 + timedelta(hours=1), 1, "w", timedelta(minutes=2), {"slack"})
    assert claimed.state is OutboxState.SENDING and woken == [1]


def test_a_failing_callback_neither_fails_the_commit_nor_stops_the_others(store):
    woken: list[int] = []

    def broken() -> None:
        raise RuntimeError("boom")
    store.on_queued(broken)
    store.on_queued(lambda: woken.append(1))
    store.commit(Changes(outbox=(alert("r"),)))
    assert woken == [1] and store.outbox_item  # committed


def test_queues_work_is_about_new_pending_items_only():
    item = alert("r")
    assert queues_work(Changes(outbox=(item,)))
    assert not queues_work(Changes(outbox=(item.claim(owner="w", until=T0),)))
    assert not queues_work(Changes(reports=(report(),)))


def test_a_commit_from_anywhere_wakes_the_slack_worker_at_once(tmp_path, slack):
    # The worker polls once an hour here: only the store's wake-up can have it deliver in time.
    config = tmp_path / "app.yaml"
    config.write_text(APP_YAML)
    settings = Settings(config_path=config, data_dir=tmp_path / "data", secret_key=None, secret_file=None,
                        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url)
    with running(settings, store=MemoryStore()) as (services, app_config):
        worker = build_slack(services, app_config, settings, poll_seconds=3600).worker.start()
        try:
            time.sleep(0.2)  # its first pass is over: it sleeps for the hour now
            r = report(reporter_id="slack:U0STAFF01")
            services.store.commit(Changes(reports=(r,), outbox=(alert(r.id, due_at=T0),)))
            wait_until(lambda: posts_to(slack, LEAD_CHANNEL), timeout=10)
        finally:
            worker.stop()


def test_the_outbox_lease_is_a_setting_and_a_wrong_one_is_named(tmp_path):
    env = {"STAFFSAFE_OUTBOX_LEASE_SECONDS": "4.5"}
    assert settings_from_env(env).outbox_lease_seconds == 4.5
    assert settings_from_env({}).outbox_lease_seconds == 120
    from bot.cli import start_problems
    for wrong in ("soon", "0", "-3"):
        problems = start_problems(settings_from_env({"STAFFSAFE_OUTBOX_LEASE_SECONDS": wrong,
                                                     "STAFFSAFE_CONFIG": str(tmp_path / "none.yaml")}),
                                  socket_mode=False)
        assert any("STAFFSAFE_OUTBOX_LEASE_SECONDS" in p for p in problems)


def test_a_short_lease_still_lets_each_claimed_item_be_tried(content):
    # With the 30-second margin of the default lease, a 4-second claim would be handed back untried forever.
    from tests.store_contract import StoreContract
    store = MemoryStore()
    services = StoreContract()._services(store, content, FakeClock(T0))
    ids = StoreContract()._queue_reports(services, 3)
    slack = LedgerNotifier("slack")
    assert deliver_due(services, Notifiers([slack]), lease=timedelta(seconds=4)) == len(ids)
    assert sorted(slack.posts) == sorted(ids)
