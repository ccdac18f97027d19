"""Reminder schedules: due times in UTC from local wall-clock rules, across DST, bounds and validation."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.domain.reminder import Frequency, Schedule
from bot.domain.schedule import describe, due_times, next_run, parse_time, schedule_errors

LONDON = ZoneInfo("Europe/London")
START = date(2026, 1, 1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(time: str = "09:00", **changes) -> Schedule:
    return Schedule(Frequency.DAILY, **{"start": START, "time": time} | changes)


def cron(expression: str, **changes) -> Schedule:
    return Schedule(Frequency.CRON, **{"start": START, "cron": expression} | changes)


def test_daily_runs_every_day_at_the_local_time():
    assert next_run(daily(), utc(2026, 1, 5, 8)) == utc(2026, 1, 5, 9)
    assert next_run(daily(), utc(2026, 1, 5, 9)) == utc(2026, 1, 6, 9)  # strictly after
    assert next_run(daily(), utc(2026, 6, 1, 12)) == utc(2026, 6, 2, 8)  # 09:00 BST


def test_after_may_be_in_any_zone_and_the_result_is_utc():
    after = datetime(2026, 1, 5, 3, tzinfo=ZoneInfo("Asia/Tokyo"))  # 18:00 UTC on the 4th
    due = next_run(daily(), after)
    assert due == utc(2026, 1, 5, 9) and due.tzinfo is UTC


def test_weekdays_runs_on_each_chosen_day():
    schedule = Schedule(Frequency.WEEKDAYS, start=START, time="16:30", weekdays=frozenset({0, 2}))
    times = due_times(schedule, utc(2026, 1, 4), utc(2026, 1, 18))  # a Sunday to a Sunday
    assert times == [utc(2026, 1, 5, 16, 30), utc(2026, 1, 7, 16, 30), utc(2026, 1, 12, 16, 30), utc(2026, 1, 14, 16, 30)]


def test_weekly_runs_on_its_one_day():
    schedule = Schedule(Frequency.WEEKLY, start=START, weekdays=frozenset({4}))
    assert due_times(schedule, utc(2026, 1, 1), utc(2026, 1, 31)) == [utc(2026, 1, d, 9) for d in (2, 9, 16, 23, 30)]


def test_monthly_on_31_runs_on_the_last_day_of_shorter_months():
    schedule = Schedule(Frequency.MONTHLY, start=START, day_of_month=31)
    times = due_times(schedule, utc(2026, 1, 1), utc(2026, 5, 31, 23))
    assert times == [utc(2026, 1, 31, 9), utc(2026, 2, 28, 9), utc(2026, 3, 31, 8), utc(2026, 4, 30, 8), utc(2026, 5, 31, 8)]


def test_monthly_on_15():
    schedule = Schedule(Frequency.MONTHLY, start=START, day_of_month=15)
    assert next_run(schedule, utc(2026, 2, 15, 9)) == utc(2026, 3, 15, 9)


def test_cron_uses_five_fields_in_local_time():
    schedule = cron("0 9 * * 1")  # Mondays at 09:00
    assert next_run(schedule, utc(2026, 1, 1)) == utc(2026, 1, 5, 9)
    assert next_run(schedule, utc(2026, 7, 1)) == utc(2026, 7, 6, 8)


def test_never_before_start_nor_after_end():
    schedule = daily(start=date(2026, 3, 10), end=date(2026, 3, 12))
    assert next_run(schedule, utc(2026, 1, 1)) == utc(2026, 3, 10, 9)
    assert due_times(schedule, utc(2026, 1, 1), utc(2027, 1, 1)) == [utc(2026, 3, d, 9) for d in (10, 11, 12)]
    assert next_run(schedule, utc(2026, 3, 12, 9)) is None


def test_start_is_local_midnight_and_end_the_end_of_that_local_day():
    schedule = daily("00:30", start=date(2026, 6, 1), end=date(2026, 6, 1))
    assert next_run(schedule, utc(2026, 5, 1)) == utc(2026, 5, 31, 23, 30)  # 00:30 BST on 1 June
    late = daily("23:30", start=date(2026, 6, 1), end=date(2026, 6, 1))
    assert next_run(late, utc(2026, 6, 1, 12)) == utc(2026, 6, 1, 22, 30)


def test_a_schedule_with_no_due_time_gives_none():
    assert next_run(cron("0 9 30 2 *"), utc(2026, 1, 1)) is None
    assert next_run(Schedule(Frequency.WEEKDAYS, start=START), utc(2026, 1, 1)) is None


def test_nine_am_stays_nine_am_local_across_both_changes():
    times = due_times(daily(), utc(2026, 3, 27), utc(2026, 3, 31))
    assert times == [utc(2026, 3, 27, 9), utc(2026, 3, 28, 9), utc(2026, 3, 29, 8), utc(2026, 3, 30, 8)]
    times = due_times(daily(), utc(2026, 10, 24), utc(2026, 10, 27))
    assert times == [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), utc(2026, 10, 26, 9)]


def test_a_skipped_time_runs_shifted_forward_by_the_gap():
    times = due_times(daily("01:30"), utc(2026, 3, 28), utc(2026, 3, 31))
    assert times == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert times[1].astimezone(LONDON).strftime("%H:%M %Z") == "02:30 BST"


def test_a_repeated_time_runs_once_at_its_first_occurrence():
    times = due_times(daily("01:30"), utc(2026, 10, 24), utc(2026, 10, 27))
    assert times == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


@pytest.mark.parametrize("start, end", [  # local noon to local noon, five days around each change
    (datetime(2026, 3, 27, 12, tzinfo=LONDON), datetime(2026, 4, 1, 12, tzinfo=LONDON)),
    (datetime(2026, 10, 23, 12, tzinfo=LONDON), datetime(2026, 10, 28, 12, tzinfo=LONDON)),
])
@pytest.mark.parametrize("expression", ["30 1 * * *", "0 9 * * *", "30 0 * * *", "0 2 * * *"])
def test_cron_fires_once_a_day_across_each_change(expression, start, end):
    times = due_times(cron(expression), start, end)
    days = [t.astimezone(LONDON).date() for t in times]
    assert len(times) == 5 and len(set(days)) == 5


def test_cron_skipped_time_matches_the_daily_rule():
    assert due_times(cron("30 1 * * *"), utc(2026, 3, 28, 12), utc(2026, 3, 30)) == [utc(2026, 3, 29, 1, 30)]


def test_a_skipped_time_landing_on_a_later_one_runs_once():
    # 01:30 GMT (skipped, shifted forward) and 02:30 BST are the same instant on 2026-03-29.
    times = due_times(cron("30 1,2 * * *"), utc(2026, 3, 28, 12), utc(2026, 3, 30, 1))
    assert times == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_new_york_changes_on_its_own_dates():
    schedule = daily("09:00", timezone="America/New_York")
    times = due_times(schedule, utc(2026, 3, 7), utc(2026, 3, 10))  # US clocks change on 8 March
    assert times == [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]
    skipped = daily("02:30", timezone="America/New_York")
    assert next_run(skipped, utc(2026, 3, 8)) == utc(2026, 3, 8, 7, 30)  # 02:30 EST = 03:30 EDT
    repeated = daily("01:30", timezone="America/New_York")
    assert due_times(repeated, utc(2026, 10, 31, 12), utc(2026, 11, 2)) == [utc(2026, 11, 1, 5, 30)]  # EDT


@pytest.mark.parametrize("schedule", [
    daily("01:30"),
    Schedule(Frequency.WEEKDAYS, start=START, time="02:00", weekdays=frozenset({0, 2, 6})),
    Schedule(Frequency.MONTHLY, start=START, day_of_month=31, time="01:15"),
    cron("30 1 * * *"),
    cron("0 1,2,3 * * *"),
    daily("09:00", timezone="America/New_York"),
])
def test_a_year_of_calls_is_strictly_increasing(schedule):
    times, after = [], utc(2026, 1, 1)
    while (due := next_run(schedule, after)) is not None and due < utc(2027, 1, 1):
        assert due > after
        times.append(due)
        after = due
    assert times and all(a < b for a, b in pairwise(times))
    assert due_times(schedule, utc(2026, 1, 1), utc(2026, 12, 31, 23, 59), limit=10_000) == times


def test_due_times_stops_at_the_limit():
    assert due_times(daily(), utc(2026, 1, 1), utc(2027, 1, 1), limit=3) == [utc(2026, 1, d, 9) for d in (1, 2, 3)]


def test_valid_schedules_have_no_errors():
    assert schedule_errors(daily()) == {}
    assert schedule_errors(cron("0 9 * * 1-5")) == {}
    assert schedule_errors(cron("0 */1 * * *")) == {}  # hourly is the most often allowed


@pytest.mark.parametrize("schedule, field, message", [
    (daily(timezone="Mars/Olympus"), "timezone", "Unknown time zone"),
    (daily(timezone="../etc/passwd"), "timezone", "Unknown time zone"),
    (daily(timezone="America"), "timezone", "Unknown time zone"),
    (daily("24:00"), "time", "like 09:00"),
    (daily("9:00"), "time", "like 09:00"),
    (daily("noon"), "time", "like 09:00"),
    (Schedule(Frequency.WEEKDAYS, start=START), "weekdays", "at least one day"),
    (Schedule(Frequency.WEEKLY, start=START, weekdays=frozenset({1, 2})), "weekdays", "exactly one day"),
    (Schedule(Frequency.WEEKDAYS, start=START, weekdays=frozenset({7})), "weekdays", "Monday (0) to Sunday (6)"),
    (Schedule(Frequency.MONTHLY, start=START, day_of_month=32), "day_of_month", "from 1 to 31"),
    (Schedule(Frequency.MONTHLY, start=START), "day_of_month", "from 1 to 31"),
    (cron("0 9 * *"), "cron", "five fields"),
    (cron("0 0 9 * * 1"), "cron", "five fields"),
    (cron("@daily"), "cron", "five fields"),
    (cron("61 9 * * *"), "cron", "five fields"),
    (cron("0 9 30 2 *"), "cron", "never runs"),
    (cron("*/30 9 * * *"), "cron", "at most once an hour"),
    (cron("* * * * *"), "cron", "at most once an hour"),
    (daily(end=date(2025, 12, 31)), "end", "The end date is before the start date."),
])
def test_each_mistake_names_its_field(schedule, field, message):
    errors = schedule_errors(schedule)
    assert list(errors) == [field] and message in errors[field]


def test_cron_ignores_the_time_field():
    assert schedule_errors(cron("0 9 * * *", time="")) == {}


@pytest.mark.parametrize("schedule, text", [
    (daily(), "Every day at 09:00 (Europe/London)"),
    (Schedule(Frequency.WEEKDAYS, start=START, time="16:30", weekdays=frozenset({2, 0})),
     "Mondays and Wednesdays at 16:30 (Europe/London)"),
    (Schedule(Frequency.WEEKDAYS, start=START, weekdays=frozenset({0, 2, 4})),
     "Mondays, Wednesdays and Fridays at 09:00 (Europe/London)"),
    (Schedule(Frequency.WEEKLY, start=START, weekdays=frozenset({4}), timezone="America/New_York"),
     "Weekly on Friday at 09:00 (America/New_York)"),
    (Schedule(Frequency.MONTHLY, start=START, day_of_month=31), "Monthly on day 31 (or the month's last day) at 09:00 (Europe/London)"),
    (Schedule(Frequency.MONTHLY, start=START, day_of_month=15), "Monthly on day 15 at 09:00 (Europe/London)"),
    (cron("0 9 * * 1"), "Cron 0 9 * * 1 (Europe/London)"),
    (daily(end=date(2027, 3, 31)), "Every day at 09:00 (Europe/London) until 31 Mar 2027"),
])
def test_describe(schedule, text):
    assert describe(schedule) == text


@pytest.mark.parametrize("text, normal", [
    ("9:00", "09:00"), ("09:00", "09:00"), (" 23:59 ", "23:59"), ("0:05", "00:05"),
    ("24:00", None), ("12:60", None), ("9", None), ("9:5", None), ("", None), ("nine", None), ("123:00", None),
])
def test_parse_time(text, normal):
    assert parse_time(text) == normal


def test_a_far_future_start_is_found_and_an_ended_schedule_is_not():
    assert next_run(daily(start=date(2040, 1, 1)), utc(2026, 1, 1)) == utc(2040, 1, 1, 9)
    ended = replace(daily(), end=date(2026, 1, 31))
    assert next_run(ended, utc(2026, 2, 1)) is None
    assert next_run(ended, utc(2026, 1, 31, 8, 59) + timedelta(seconds=59)) == utc(2026, 1, 31, 9)


def test_just_after_the_spring_change_a_skipped_time_is_still_ahead():
    # 02:10 BST: 01:30 on the clock has passed, but 01:30 GMT-shifted is 02:30 BST, still to come.
    assert next_run(daily("01:30"), utc(2026, 3, 29, 1, 10)) == utc(2026, 3, 29, 1, 30)


def test_a_later_wall_clock_time_that_runs_earlier_is_not_lost():
    # Lord Howe springs forward 30 minutes at 02:00 on 2026-10-04: 02:10 (skipped) runs at 15:40 UTC,
    # after 02:35 at 15:35 UTC. (Under an hour apart: allowed by next_run, refused by schedule_errors.)
    schedule = cron("10,35 2 * * *", timezone="Australia/Lord_Howe")
    times = due_times(schedule, utc(2026, 10, 3, 12), utc(2026, 10, 3, 18))
    assert times == [utc(2026, 10, 3, 15, 35), utc(2026, 10, 3, 15, 40)]
