"""app.yaml validation: each mistake is named."""

import hashlib
import re
from datetime import date

import pytest
import yaml

from bot.config import load_config, parse_config
from bot.domain.errors import ConfigError
from bot.domain.hours import WorkingHours
from bot.domain.reminder import Frequency, Schedule

BASE = {"organisation": "Example", "leads": {"console": [{"id": "lee", "name": "Lee"}]}}


def test_the_shipped_app_yaml_is_valid():
    config = load_config(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.yaml")
    assert config.organisation.is_lead("console:lee") and config.commands["report"] == "report"


def test_leads_are_platform_qualified_with_display_names():
    config = parse_config(BASE | {"admins": {"slack": ["U0ADMIN"]}})
    assert config.organisation.leads == {"console:lee"}
    assert config.organisation.names["console:lee"] == "Lee"
    assert config.organisation.is_admin("slack:U0ADMIN")


@pytest.mark.parametrize(
    "change, named",
    [
        ({"organisation": ""}, "'organisation'"),
        ({"leads": {}}, "'leads'"),
        ({"leads": {"console": [{"name": "no id"}]}}, "leads.console[0]"),
        ({"leads": {"myspace": ["x"]}}, "leads.myspace"),
        ({"commands": {"report": "Bad Name!"}},
         "commands.report: 'Bad Name!' is not a valid command name: use lower-case letters, digits, - or _, "
         "up to 31 characters"),
        ({"commands": {"launch": "x"}}, "commands.launch"),
        ({"commands": {"report": "help"}}, "share a name"),
        ({"escalation": {"window_hours": -1}}, "escalation.window_hours"),
        ({"retention": {"days": "soon"}}, "retention.days"),
        ({"colour": "blue"}, "'colour'"),
    ],
)
def test_mistakes_name_the_setting(change, named):
    with pytest.raises(ConfigError, match=__import__("re").escape(named)):
        parse_config(BASE | change)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "app.yaml"
    bad.write_text("organisation: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)


REMINDER = {"name": "Lock your screen", "channels": {"slack": ["C0123ABCD"]}, "every": "weekdays", "days": ["mon", "wed"]}
ANY_DAY = {"name": "Lock your screen", "channels": {"slack": ["C0123ABCD"]}}
WEEKLY = REMINDER | {"every": "weekly", "days": ["fri"]}
MONTHLY = ANY_DAY | {"every": "monthly", "day": 15}
CRON = ANY_DAY | {"every": "cron", "cron": "0 9 * * 1"}
WORKING = {"days": ["mon"], "start": "08:00", "end": "18:00"}


def with_reminders(*entries: dict) -> dict:
    return BASE | {"reminders": list(entries)}


def test_reminders_become_typed_seeds_with_defaults():
    (seed,) = parse_config(with_reminders(REMINDER)).reminders
    assert seed.name == "Lock your screen" and seed.channels == ("slack:C0123ABCD",) and seed.topic == "rotation"
    assert seed.key == "seed-" + hashlib.sha256(b"Lock your screen").hexdigest()[:12]
    assert seed.schedule == Schedule(Frequency.WEEKDAYS, start=date(2000, 1, 1), time="09:00",
                                     timezone="Europe/London", weekdays=frozenset({0, 2}))


def test_a_reminder_with_every_setting():
    entry = {"name": "Monthly check", "channels": {"slack": ["C1", "C2"], "teams": ["19:abc"]}, "every": "monthly",
             "day": 31, "time": "7:30", "timezone": "America/New_York", "topic": "device-locking",
             "start": date(2026, 1, 1), "end": "2026-12-31"}
    (seed,) = parse_config(with_reminders(entry)).reminders
    assert seed.channels == ("slack:C1", "slack:C2", "teams:19:abc") and seed.topic == "device-locking"
    assert seed.schedule == Schedule(Frequency.MONTHLY, start=date(2026, 1, 1), end=date(2026, 12, 31), time="07:30",
                                     timezone="America/New_York", day_of_month=31)


def test_a_cron_reminder_keeps_its_expression_tidy():
    (seed,) = parse_config(with_reminders(CRON | {"cron": " 0  9 * * 1 "})).reminders
    assert seed.schedule.frequency is Frequency.CRON and seed.schedule.cron == "0 9 * * 1"


def test_working_hours_and_grace():
    config = parse_config(BASE | {"reminder_grace_minutes": 30, "escalation": {"window_hours": 8, "working_hours": {
        "days": ["mon", "Tuesday", "fri"], "start": "8:00", "end": "18:00"}}})
    assert config.reminder_grace_minutes == 30 and config.escalation_hours == 8
    assert config.working_hours == WorkingHours(start="08:00", end="18:00", days=frozenset({0, 1, 4}),
                                                timezone="Europe/London")
    defaults = parse_config(BASE)
    assert defaults.working_hours is None and defaults.reminder_grace_minutes == 120 and defaults.reminders == ()


def test_an_unquoted_time_asks_for_quotes():
    # YAML 1.1 reads 18:30 as the sexagesimal number 1110.
    raw = yaml.safe_load("time: 18:30")
    with pytest.raises(ConfigError, match=re.escape('reminders[0].time: quote the time, e.g. "18:30"')):
        parse_config(with_reminders(REMINDER | raw))


@pytest.mark.parametrize(
    "change, named",
    [
        ({"reminders": {"name": "x"}}, "'reminders' must be a list"),
        ({"reminders": ["x"]}, "reminders[0]: must be a mapping"),
        ({"reminders": [REMINDER | {"colour": "red"}]}, "reminders[0]: unknown setting 'colour'"),
        ({"reminders": [REMINDER, REMINDER | {"name": "lock your screen "}]}, "reminders[1].name: 'lock your screen' is used twice"),
        ({"reminders": [REMINDER | {"name": ""}]}, "reminders[0].name: must be some text"),
        ({"reminders": [{"name": "No channels", "every": "daily"}]}, "reminders[0].channels: name at least one"),
        ({"reminders": [REMINDER | {"channels": {"slack": []}}]}, "reminders[0].channels: name at least one"),
        ({"reminders": [REMINDER | {"channels": {"myspace": ["x"]}}]}, "reminders[0].channels.myspace: unknown platform"),
        ({"reminders": [REMINDER | {"channels": {"slack": [""]}}]}, "reminders[0].channels.slack[0]: must be some text"),
        ({"reminders": [REMINDER | {"every": "hourly"}]}, "reminders[0].every: must be one of daily, weekdays"),
        ({"reminders": [REMINDER | {"days": ["mon", "funday"]}]}, "reminders[0].days: 'funday' is not a day"),
        ({"reminders": [REMINDER | {"days": "mon"}]}, "reminders[0].days: must be a list of days"),
        ({"reminders": [REMINDER | {"days": []}]}, "reminders[0].days: Choose at least one day."),
        ({"reminders": [WEEKLY | {"days": ["mon", "tue"]}]}, "reminders[0].days: Choose exactly one day."),
        ({"reminders": [REMINDER | {"day": 3}]}, "reminders[0].day: not used with every: weekdays"),
        ({"reminders": [MONTHLY | {"day": 32}]}, "reminders[0].day: Choose a day of the month from 1 to 31."),
        ({"reminders": [MONTHLY | {"day": "15th"}]}, "reminders[0].day: must be a day of the month"),
        ({"reminders": [CRON | {"cron": "0 9 * *"}]}, "reminders[0].cron: Enter a cron expression of five fields"),
        ({"reminders": [CRON | {"cron": "*/15 * * * *"}]}, "reminders[0].cron: Reminders can repeat at most once an hour."),
        ({"reminders": [CRON | {"time": "09:00"}]}, "reminders[0].time: not used with every: cron"),
        ({"reminders": [REMINDER | {"time": "25:00"}]}, 'reminders[0].time: must be a time like "09:00"'),
        ({"reminders": [REMINDER | {"timezone": "Europe/Londn"}]}, "reminders[0].timezone: Unknown time zone"),
        ({"reminders": [REMINDER | {"topic": ""}]}, "reminders[0].topic: must be some text"),
        ({"reminders": [REMINDER | {"start": "next week"}]}, "reminders[0].start: must be a date like 2026-01-01"),
        ({"reminders": [REMINDER | {"start": date(2026, 6, 1), "end": date(2026, 5, 1)}]},
         "reminders[0].end: The end date is before the start date."),
        ({"reminder_grace_minutes": 0}, "reminder_grace_minutes: must be a positive number"),
        ({"escalation": {"window_hours": 24, "hours": 3}}, "escalation: unknown setting 'hours'"),
        ({"escalation": {"working_hours": WORKING | {"lunch": "12:00"}}}, "escalation.working_hours: unknown setting 'lunch'"),
        ({"escalation": {"working_hours": {"days": ["mon"], "start": "08:00"}}}, "escalation.working_hours.end: required"),
        ({"escalation": {"working_hours": WORKING | {"days": ["someday"]}}}, "escalation.working_hours.days: 'someday'"),
        ({"escalation": {"working_hours": WORKING | {"days": []}}}, "escalation.working_hours.days: Choose at least one"),
        ({"escalation": {"working_hours": WORKING | {"start": 480}}}, 'escalation.working_hours.start: quote the time, e.g. "08:00"'),
        ({"escalation": {"working_hours": WORKING | {"end": "07:00"}}}, "escalation.working_hours.end: Working hours must end after"),
        ({"escalation": {"working_hours": WORKING | {"timezone": "Mars"}}}, "escalation.working_hours.timezone: Unknown time zone"),
    ],
)
def test_reminder_and_working_hours_mistakes_name_the_setting(change, named):
    with pytest.raises(ConfigError, match="^app.yaml: " + re.escape(named)):
        parse_config(BASE | change)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as raised:
        parse_config({"organisation": " ", "colour": "red", "leads": {"slack": ["lee"]},
                      "lead_channel": {"slack": "leads"}, "retention": {"days": -1}})
    message = str(raised.value)
    assert message.startswith("5 problems:")
    for part in ("unknown setting 'colour'", "'organisation'", "leads.slack[0]: 'lee' is not a Slack user id",
                 "lead_channel.slack: 'leads' is not a Slack channel id", "retention.days"):
        assert part in message


@pytest.mark.parametrize("raw, named", [
    ({"leads": {"slack": ["lee"]}}, "leads.slack[0]: 'lee' is not a Slack user id"),
    ({"leads": {"console": ["Lee Harper"]}}, "leads.console[0]: 'Lee Harper' is not a console user name"),
    ({"leads": {"console": ["lee"]}, "admins": {"slack": ["ada"]}}, "admins.slack[0]: 'ada' is not a Slack user id"),
    ({"leads": {"console": ["lee"]}, "reminders": [{"name": "x", "channels": {"slack": ["general"]}, "every": "daily"}]},
     "reminders[0].channels.slack[0]: 'general' is not a Slack channel id"),
])
def test_ids_must_have_their_platforms_shape(raw, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config({"organisation": "Trust", **raw})
