"""Three real `staffsafe serve` processes on one PostgreSQL database, one fake Slack: everything delivered exactly once.

Reports are filed through each instance at once; the database also holds work for the schedulers
(reports to escalate, to warn about and to purge, a reminder due for 40 channels), which the three
start racing for. One instance is SIGKILLed while it holds claimed posts in the middle of the fan-out;
the others take its claims over after the (short) lease, look each up on Slack, and finish. The fake
records every call: each outbox item is posted once (duplicates = 0), and every one is (lost = 0).
"""

from __future__ import annotations

import base64
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from bot.crypto import Keyring, new_key
from bot.domain.reminder import Frequency, Schedule
from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxState, Status
from handlers.delivery import POSTS
from testkit.builders import a_reminder, a_report
from testkit.fake_slack import FakeSlack
from testkit.instances import Instance, Instances
from testkit.slack_harness import BOT_TOKEN, LEAD_CHANNEL, report_state
from testkit.waits import wait_until

postgres_store = pytest.importorskip("bot.store.postgres.store")

CHANNELS = tuple(f"slack:C0REM{n:04d}" for n in range(40))
LEASE_SECONDS = 8.0  # above the longest send here (posts are held only while a few reports are filed)
DONE_SECONDS = 120.0  # everything delivered after the kill: the lease, then three instances' batches on 2 busy cores


def seed(store, now: datetime) -> dict[str, list[str]]:
    """Work the schedulers find at start: reports to escalate, to warn about and to purge; a reminder due now."""
    def report(n: int, **fields: object):
        return a_report(reporter_id=f"slack:U0STAFF{n:02d}", reporter_name="Sam Jones", **fields)
    escalate = [report(n, created_at=now - timedelta(days=3)) for n in range(5)]
    warn = [report(n, created_at=now - timedelta(days=400), status=Status.CLOSED,
                   closed_at=now - timedelta(days=360)) for n in range(4)]
    purge = [report(n, created_at=now - timedelta(days=500), status=Status.CLOSED,
                    closed_at=now - timedelta(days=400), retention_warned_at=now - timedelta(days=10)) for n in range(3)]
    reminder = a_reminder(channels=CHANNELS, created_at=now - timedelta(days=30), next_run=now - timedelta(minutes=1),
                          schedule=Schedule(frequency=Frequency.DAILY, start=(now - timedelta(days=30)).date(),
                                            time=f"{now - timedelta(minutes=1):%H:%M}", timezone="UTC"))
    store.commit(Changes(reports=(*escalate, *warn, *purge), reminders=(reminder,)))
    return {"escalate": [r.id for r in escalate], "warn": [r.id for r in warn], "purge": [r.reference for r in purge],
            "reminder": [reminder.id]}


def file_reports(instance: Instance, numbers: range) -> list[int]:
    """File a report through this instance for each number (as different staff); the HTTP statuses."""
    client = instance.client
    assert client.command("report").status == 200
    view = client.opened_view("report.form")
    statuses = []
    for n in numbers:
        answer = client.submit(view, report_state(what=f"Report number {n} about a parents' group"),
                               user=f"U0STAFF{n % 10:02d}")
        assert answer.status != 200 or answer.json()["response_action"] == "update", answer.body
        statuses.append(answer.status)
    return statuses


def test_three_instances_deliver_everything_once_and_finish_the_claims_of_one_killed_mid_fan_out(tmp_path, database):
    url = database
    key = new_key()
    now = datetime.now(timezone.utc)
    with closing(postgres_store.PostgresStore.open(url, Keyring(keys=[key]))) as store, \
            FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        seeded = seed(store, now)
        release = slack.hold("chat.postMessage")  # the first posts wait: the fan-out is claimed, not yet sent
        with Instances(tmp_path=tmp_path, slack=slack, database_url=url, count=3, lease_seconds=LEASE_SECONDS,
                       secret_key=base64.b64encode(key).decode()) as instances:
            with ThreadPoolExecutor(3) as pool:  # a few, while the posts are held: the hold must stay short
                filed = list(pool.map(file_reports, instances.all, [range(n, 9, 3) for n in range(3)]))
            assert [s for statuses in filed for s in statuses] == [200] * 9
            [run] = wait_until(lambda: store.runs_of(seeded["reminder"][0]))

            def holder() -> tuple[Instance, list[str]] | None:
                for instance in instances.all:
                    held = [o.id for o in store.outbox_of_run(run.id) if o.state is OutboxState.SENDING
                            and instance.owns(o.claimed_by)]
                    if held:
                        return instance, held
                return None
            victim, held = wait_until(holder)
            victim.kill()
            release.set()
            survivors = [i for i in instances.all if i is not victim]
            with ThreadPoolExecutor(2) as pool:  # and more through the others while they take its claims over
                filed = list(pool.map(file_reports, survivors, [range(9 + n, 21, 2) for n in range(2)]))
            assert [s for statuses in filed for s in statuses] == [200] * 12

            def everything_done() -> bool:
                return not store.due_outbox(now + timedelta(days=1), limit=10_000) and all(
                    o.state is not OutboxState.SENDING for o in store.outbox_of_run(run.id))
            wait_until(everything_done, timeout=DONE_SECONDS)
            codes = instances.stop()
        logs = {i.name: i.log() for i in instances.all}

        posted = Counter(call.args["metadata"]["event_payload"]["key"] for call in slack.calls("chat.postMessage"))
        reports = store.all_reports()
        items = [o for r in reports for o in store.outbox_of(r.id)] + store.outbox_of_run(run.id)
        posts = [o for o in items if o.kind in POSTS]

        duplicates = {key: count for key, count in posted.items() if count > 1}
        lost = [o.id for o in posts if o.state is not OutboxState.SENT or o.id not in posted]
        assert duplicates == {} and lost == []
        assert set(posted) == {o.id for o in posts}  # nothing posted that the store does not know of
        assert all(o.state is OutboxState.SENT for o in items)

        # Reminder: claimed once by three racing schedulers, posted once to each channel.
        assert len(store.runs_of(seeded["reminder"][0])) == 1
        assert sorted(o.channel for o in store.outbox_of_run(run.id)) == sorted(CHANNELS)
        assert all(posted[i] == 1 for i in held)  # the killed instance's claims, finished by the others
        # Reports filed: each alerted once in the leads' channel, each reporter told once.
        filed_reports = [r for r in reports if r.what_happened.startswith("Report number")]
        assert len(filed_reports) == 21
        for r in filed_reports:
            kinds = Counter(o.kind for o in store.outbox_of(r.id) if o.state is OutboxState.SENT)
            assert kinds[Delivery.LEAD_ALERT] >= 1 and kinds[Delivery.RECEIPT] == 1
        # Escalations: once per report, however many schedulers saw it due.
        for report_id in seeded["escalate"]:
            escalated = store.report(report_id)
            assert escalated is not None and escalated.escalations == 3 and escalated.version == 2
            assert Counter(o.kind for o in store.outbox_of(report_id))[Delivery.REPORTER_UPDATE] == 1
        # Retention: warned once, purged once.
        for report_id in seeded["warn"]:
            warned = store.report(report_id)
            assert warned is not None and warned.retention_warned_at is not None and warned.version == 2
        assert sorted(p.reference for p in store.purges()) == sorted(seeded["purge"])
        assert not any(store.report_by_reference(ref) for ref in seeded["purge"])
        lead_posts = [c for c in slack.calls("chat.postMessage") if c.args["channel"] == LEAD_CHANNEL]
        assert len(lead_posts) == len({c.args["metadata"]["event_payload"]["key"] for c in lead_posts})

    assert codes[victim.name] == -9 and all(codes[i.name] == 0 for i in survivors), codes
    assert not any("Traceback" in text for text in logs.values()), logs
