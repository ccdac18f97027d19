"""Working hours: a window counts only time inside them, in local time, across DST."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import WorkingHours, add_working_time, working_hours_errors

LONDON = ZoneInfo("Europe/London")
OFFICE = WorkingHours(start="08:00", end="18:00", days=frozenset(range(5)), timezone="Europe/London")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_friday_evening_carries_over_to_monday():
    assert add_working_time(local(2026, 1, 9, 17), 2, OFFICE) == local(2026, 1, 12, 9)


def test_the_result_is_utc():
    due = add_working_time(local(2026, 6, 1, 9), 1, OFFICE)
    assert due.tzinfo is UTC and due == local(2026, 6, 1, 10)


@pytest.mark.parametrize("start, hours, due", [
    (local(2026, 1, 10, 12), 1, local(2026, 1, 12, 9)),  # a Saturday
    (local(2026, 1, 12, 6), 3, local(2026, 1, 12, 11)),  # before opening
    (local(2026, 1, 12, 20), 24, local(2026, 1, 15, 12)),  # after closing: two days of 10 hours, then 4
    (local(2026, 1, 9, 16), 2, local(2026, 1, 9, 18)),  # exactly to closing, not Monday's opening
    (local(2026, 1, 12, 10), 0.5, local(2026, 1, 12, 10, 30)),
])
def test_only_working_time_counts(start, hours, due):
    assert add_working_time(start, hours, OFFICE) == due


def test_across_the_spring_change_hours_are_local():
    # Friday 27 March 17:00 GMT + 2h: 1h on Friday, 1h on Monday 30 March (now BST) -> 09:00 BST.
    due = add_working_time(local(2026, 3, 27, 17), 2, OFFICE)
    assert due == local(2026, 3, 30, 9) and due == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_across_the_autumn_change_hours_are_local():
    due = add_working_time(local(2026, 10, 23, 17), 2, OFFICE)
    assert due == local(2026, 10, 26, 9) and due == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_day_with_a_skipped_hour_is_one_hour_shorter():
    nights = WorkingHours(start="00:00", end="06:00", days=frozenset({6}), timezone="Europe/London")
    # Sunday 29 March 2026: 00:00 GMT to 06:00 BST is five hours.
    assert add_working_time(local(2026, 3, 29, 0), 5, nights) == local(2026, 3, 29, 6)


def test_other_zones():
    new_york = WorkingHours(start="09:00", end="17:00", days=frozenset(range(5)), timezone="America/New_York")
    assert add_working_time(datetime(2026, 1, 9, 22, tzinfo=UTC), 1, new_york) == datetime(2026, 1, 12, 15, tzinfo=UTC)


def test_without_working_hours_every_hour_counts():
    assert add_working_time(local(2026, 1, 9, 17), 2, None) == local(2026, 1, 9, 19)
    assert add_working_time(local(2026, 3, 28, 23), 3, None) == datetime(2026, 3, 29, 2, tzinfo=UTC)


def test_invalid_working_hours_are_refused():
    with pytest.raises(ValueError):
        add_working_time(local(2026, 1, 9, 17), 2, WorkingHours("08:00", "18:00", frozenset(), "Europe/London"))


@pytest.mark.parametrize("working, field", [
    (WorkingHours("8am", "18:00", frozenset({0}), "Europe/London"), "start"),
    (WorkingHours("08:00", "25:00", frozenset({0}), "Europe/London"), "end"),
    (WorkingHours("18:00", "08:00", frozenset({0}), "Europe/London"), "end"),
    (WorkingHours("08:00", "08:00", frozenset({0}), "Europe/London"), "end"),
    (WorkingHours("08:00", "18:00", frozenset(), "Europe/London"), "days"),
    (WorkingHours("08:00", "18:00", frozenset({9}), "Europe/London"), "days"),
    (WorkingHours("08:00", "18:00", frozenset({0}), "Europe/Atlantis"), "timezone"),
])
def test_each_mistake_names_its_field(working, field):
    assert list(working_hours_errors(working)) == [field]


def test_valid_working_hours_have_no_errors():
    assert working_hours_errors(OFFICE) == {}
