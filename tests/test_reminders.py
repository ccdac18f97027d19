"""Reminders in the core: the admin's form, claims that send each due time once, the grace rule, presses."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.domain.errors import NotAllowed
from bot.domain.org import Actor
from bot.domain.ports import PermanentFailure, RateLimited
from bot.domain.reminder import PressKind
from bot.domain.report import Delivery
from bot.pacing import Pacer
from handlers import reminders
from handlers.delivery import deliver_due
from handlers.reminder_sends import send_due_reminders
from handlers.scheduled import Policy, run_due_work
from tests.conftest import STAFF
from tests.test_pacing import Time

ADMIN = Actor(id="console:ada", name="Ada")
GRACE = timedelta(minutes=120)
LONDON_NINE_WINTER = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def answers(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "Screen lock", "channels": ["console:staffroom", "console:office"], "topic": "device-locking",
        "frequency": "daily", "weekdays": [], "day_of_month": None, "cron": "", "time": "09:00",
        "timezone": "Europe/London", "start": date(2026, 11, 24), "end": None,
    }
    return values | overrides


def create(services, **overrides: object):
    result = reminders.save_reminder(services, ADMIN, "", answers(**overrides))
    assert result.ok, result.errors
    return services.store.reminders()[-1]


def posts(notifier) -> list[str]:
    return [dest.channel for dest, _, _ in notifier.sent if dest.channel]


def test_only_admins_manage_reminders(services):
    for call in (lambda: reminders.list_reminders(services, STAFF),
                 lambda: reminders.save_reminder(services, STAFF, "", answers())):
        with pytest.raises(NotAllowed):
            call()
    assert services.store.reminders() == []


@pytest.mark.parametrize("overrides, field", [
    ({"cron": "not a cron", "frequency": "cron"}, "cron"),
    ({"cron": "* * * * *", "frequency": "cron"}, "cron"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"end": date(2026, 11, 1)}, "end"),
    ({"channels": []}, "channels"),
    ({"name": ""}, "name"),
    ({"frequency": "weekly", "weekdays": ["0", "2"]}, "weekdays"),
    ({"frequency": "monthly", "day_of_month": None}, "day_of_month"),
    ({"time": "25:00"}, "time"),
])
def test_bad_answers_are_errors_beside_their_field_and_nothing_is_saved(services, overrides, field):
    result = reminders.save_reminder(services, ADMIN, "", answers(**overrides))
    assert field in result.errors and result.errors[field]
    assert services.store.reminders() == []


def test_a_channel_the_bot_cannot_post_in_is_an_error_at_the_form(services):
    class Directory:
        def is_admin(self, user_id): return False
        def time_zone(self, user_id): return ""
        def channel_label(self, channel_id): return "#" + channel_id.split(":")[1]
        def channel_problem(self, channel_id): return "the bot is not a member." if "office" in channel_id else ""

    from dataclasses import replace
    result = reminders.save_reminder(replace(services, directories={"console": Directory()}), ADMIN, "", answers())
    assert "#office" in result.errors["channels"] and services.store.reminders() == []


def test_a_due_reminder_is_sent_once_to_each_channel(services, notifier, clock):
    create(services)  # 09:00 London = 09:00 UTC in November; the clock starts at 09:30, so next is tomorrow
    clock.current = LONDON_NINE_WINTER + timedelta(days=1) - timedelta(seconds=1)
    assert send_due_reminders(services, grace=GRACE) == 0
    clock.advance(seconds=1)
    assert send_due_reminders(services, grace=GRACE) == 1
    assert send_due_reminders(services, grace=GRACE) == 0  # claimed: a second pass finds nothing due
    deliver_due(services, notifier)
    assert sorted(posts(notifier)) == ["console:office", "console:staffroom"]
    card = notifier.sent[0][1]
    assert [b.label for b in card.buttons] == ["Done", "Show me how", "Full checklist"]


def test_two_schedulers_over_one_store_claim_a_due_time_once(services, clock):
    create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    barrier = threading.Barrier(8)
    claimed = []

    def scheduler() -> None:
        barrier.wait()
        claimed.append(send_due_reminders(services, grace=GRACE))

    threads = [threading.Thread(target=scheduler) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(claimed) == 1
    assert len(services.store.runs_of(services.store.reminders()[0].id)) == 1


def test_a_crash_between_claim_and_send_sends_after_restart_and_only_once(services, notifier, clock):
    create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    send_due_reminders(services, grace=GRACE)  # claimed, then the process "dies" before delivering
    clock.advance(minutes=5)
    assert send_due_reminders(services, grace=GRACE) == 0  # the restarted scheduler does not claim again
    deliver_due(services, notifier)
    deliver_due(services, notifier)
    assert len(posts(notifier)) == 2


def test_missed_runs_within_grace_are_sent_once_and_older_ones_skipped(services, notifier, clock, caplog):
    create(services)
    # Down from before Wednesday 09:00 until Friday 10:30: Wed and Thu are beyond the grace, Fri within.
    clock.current = LONDON_NINE_WINTER + timedelta(days=3, minutes=90)
    assert send_due_reminders(services, grace=GRACE) == 1
    [run] = services.store.runs_of(services.store.reminders()[0].id)
    assert run.due_at == LONDON_NINE_WINTER + timedelta(days=3)
    assert "skipped 2 send(s)" in caplog.text


def test_missed_runs_all_beyond_grace_send_nothing_and_move_on(services, clock):
    reminder = create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=3, hours=5)
    assert send_due_reminders(services, grace=GRACE) == 0
    moved = services.store.reminder(reminder.id)
    assert moved.next_run == LONDON_NINE_WINTER + timedelta(days=4)
    assert services.store.runs_of(reminder.id) == []


def test_local_nine_stays_nine_across_the_spring_change(services, clock):
    clock.current = datetime(2027, 3, 26, 10, tzinfo=timezone.utc)
    create(services, start=date(2027, 3, 26))
    sent_at = []
    for _ in range(4 * 24 * 4):  # every 15 minutes for four days
        clock.advance(minutes=15)
        if send_due_reminders(services, grace=GRACE):
            sent_at.append(clock.now())
    # Sat 27 Mar 09:00 GMT, then BST from the 28th: 08:00 UTC.
    assert sent_at == [datetime(2027, 3, 27, 9, tzinfo=timezone.utc), datetime(2027, 3, 28, 8, tzinfo=timezone.utc),
                       datetime(2027, 3, 29, 8, tzinfo=timezone.utc), datetime(2027, 3, 30, 8, tzinfo=timezone.utc)]


def test_rotation_goes_through_every_tip_in_turn(services, notifier, clock, content):
    reminder = create(services, topic="rotation")
    for day in range(1, len(content.tips) + 2):
        clock.current = LONDON_NINE_WINTER + timedelta(days=day)
        send_due_reminders(services, grace=GRACE)
    topics = [run.topic for run in services.store.runs_of(reminder.id)]
    assert topics == [*content.tips, next(iter(content.tips))]


def test_a_429_storm_delays_but_delivers_every_channel_once(services, notifier, clock):
    create(services, channels=[f"console:c{n}" for n in range(20)])
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    send_due_reminders(services, grace=GRACE)
    time = Time()
    pacer = Pacer(channel_gap=1.0, clock=lambda: time.now, sleep=time.sleep)
    original, storm = notifier.send, iter(range(5))

    def five_429s(destination, card, **kwargs):
        if next(storm, None) is not None:
            raise RateLimited("rate limited", retry_after=3)
        return original(destination, card, **kwargs)

    notifier.send = five_429s
    sent = 0
    for _ in range(30):
        sent += deliver_due(services, notifier, pacer=pacer)
        time.now += 1
        clock.advance(seconds=1)
    assert sorted(posts(notifier)) == sorted(f"console:c{n}" for n in range(20))
    assert sent == 20


def test_a_channel_that_refuses_the_bot_is_skipped_and_reported_to_the_admin(services, notifier, clock):
    reminder = create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    send_due_reminders(services, grace=GRACE)
    original = notifier.send

    def refuse_office(destination, card, **kwargs):
        if destination.channel == "console:office":
            raise PermanentFailure("not_in_channel")
        return original(destination, card, **kwargs)

    notifier.send = refuse_office
    deliver_due(services, notifier)
    clock.advance(minutes=1)
    deliver_due(services, notifier)
    assert services.store.reminder(reminder.id).blocked_channels == ("console:office",)
    [notice] = notifier.to_user(ADMIN.id)
    assert "could not be posted" in notice.title
    # The next day it posts only where it can, and nothing is retried for ever.
    clock.current = LONDON_NINE_WINTER + timedelta(days=2)
    send_due_reminders(services, grace=GRACE)
    deliver_due(services, notifier)
    assert posts(notifier).count("console:staffroom") == 2 and "console:office" not in posts(notifier)


def test_presses_are_counted_once_per_person_and_never_name_anyone(services, notifier, clock):
    reminder = create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    send_due_reminders(services, grace=GRACE)
    [run] = services.store.runs_of(reminder.id)
    reminders.press(services, STAFF, run.id, PressKind.DONE)
    reminders.press(services, STAFF, run.id, PressKind.DONE)
    how = reminders.press(services, Actor("console:olu"), run.id, PressKind.HOW)
    assert how.cards[0].sections[1].heading == "How"
    assert services.store.press_counts(reminder.id) == {PressKind.DONE: 1, PressKind.HOW: 1}
    listing = reminders.list_reminders(services, ADMIN)
    text = repr(listing)
    assert "Done: 1, Show me how: 1" in text and STAFF.id not in text and "olu" not in text


def test_pause_resume_send_now_edit_and_delete(services, notifier, clock):
    reminder = create(services)
    reminders.pause(services, ADMIN, reminder.id)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    assert send_due_reminders(services, grace=GRACE) == 0
    reminders.resume(services, ADMIN, reminder.id)
    assert services.store.reminder(reminder.id).next_run == LONDON_NINE_WINTER + timedelta(days=2)
    reminders.send_reminder_now(services, ADMIN, reminder.id)
    deliver_due(services, notifier)
    assert len(posts(notifier)) == 2
    form, initial = reminders.reminder_editor(services, ADMIN, reminder.id)
    assert initial["name"] == "Screen lock" and form.context == {"reminder": reminder.id}
    assert reminders.save_reminder(services, ADMIN, reminder.id, answers(name="Lock it")).ok
    assert services.store.reminder(reminder.id).name == "Lock it"
    reminders.delete(services, ADMIN, reminder.id)
    assert reminders.list_reminders(services, ADMIN).cards[1:] == ()


def test_seeded_reminders_appear_once_and_a_deleted_one_stays_deleted(services):
    from bot.config import ReminderSeed
    from bot.domain.reminder import Frequency, Schedule
    seed = ReminderSeed(key="seed-abc", name="Passwords", channels=("slack:C0SEED001",), topic="passwords",
                        schedule=Schedule(frequency=Frequency.DAILY, start=date(2026, 1, 1)))
    assert reminders.seed_reminders(services, [seed]) == 1
    assert reminders.seed_reminders(services, [seed]) == 0
    reminders.delete(services, ADMIN, "seed-abc")
    assert reminders.seed_reminders(services, [seed]) == 0


def test_one_pass_runs_everything_due(services, clock):
    create(services)
    clock.current = LONDON_NINE_WINTER + timedelta(days=1)
    result = run_due_work(services, Policy())
    assert result.reminders == 1 and result.queued
    assert any(i.kind is Delivery.REMINDER for i in services.store.due_outbox(clock.now(), 50))
