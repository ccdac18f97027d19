"""The admin's reminder form: its fields, its answers for an existing reminder, and checking what came back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.content import Content
from bot.domain.reminder import DEFAULT_TIME_ZONE, ROTATION, Frequency, Reminder, Schedule
from bot.domain.schedule import parse_time, schedule_errors
from bot.domain.ui import Answers, Field, FieldErrors, FieldKind, Form, Option, as_date
from handlers.actions import Action

MAX_NAME = 80
MAX_CHANNELS = 1000
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FREQUENCY_LABELS = {
    Frequency.DAILY: "Every day",
    Frequency.WEEKDAYS: "On the days chosen below",
    Frequency.WEEKLY: "Weekly, on the day chosen below",
    Frequency.MONTHLY: "Monthly, on the day of the month below",
    Frequency.CRON: "A cron expression (below)",
}


@dataclass(frozen=True)
class ReminderAnswers:
    """A checked reminder form."""

    name: str
    channels: tuple[str, ...]
    schedule: Schedule
    topic: str


def topic_options(content: Content) -> tuple[Option, ...]:
    """Every tip topic, after the rotation through all of them."""
    return (Option(ROTATION, "All tips in turn (rotation)"),
            *(Option(tip.id, tip.topic) for tip in content.tips.values()))


def reminder_form(content: Content, reminder_id: str = "") -> Form:
    """Create a reminder, or edit one (its id in the context)."""
    return Form(
        id=Action.REMINDER_SAVE.value,
        title="Edit reminder" if reminder_id else "New reminder",
        submit_label="Save",
        intro="Awareness reminders post a short tip to channels on a schedule. Staff can press "
              "**Done** or **Show me how**; you see how many did, never who.",
        context={"reminder": reminder_id} if reminder_id else {},
        fields=(
            Field("name", "Name (for admins)", FieldKind.TEXT, max_length=MAX_NAME,
                  placeholder="e.g. Monday screen-lock reminder"),
            Field("channels", "Post in", FieldKind.CHANNELS, hint="Invite the bot to each channel first."),
            Field("topic", "Tip", FieldKind.SELECT, options=topic_options(content)),
            Field("frequency", "How often", FieldKind.SELECT,
                  options=tuple(Option(f.value, label) for f, label in FREQUENCY_LABELS.items())),
            Field("weekdays", "Days of the week", FieldKind.MULTI_SELECT, required=False,
                  options=tuple(Option(str(i), day) for i, day in enumerate(DAYS)),
                  hint="For \"on the days chosen\" (one or more) and \"weekly\" (one).",
                  only_if=("frequency", (Frequency.WEEKDAYS.value, Frequency.WEEKLY.value))),
            Field("day_of_month", "Day of the month", FieldKind.NUMBER, required=False, min_value=1, max_value=31,
                  hint="For \"monthly\". In shorter months it posts on the last day.",
                  only_if=("frequency", (Frequency.MONTHLY.value,))),
            Field("cron", "Cron expression", FieldKind.TEXT, required=False, max_length=100,
                  placeholder="e.g. 0 9 * * 1-5", hint="Minute, hour, day of month, month, day of week.",
                  only_if=("frequency", (Frequency.CRON.value,))),
            Field("time", "Time", FieldKind.TIME, hint="Not used by a cron expression.",
                  only_if=("frequency", tuple(f.value for f in Frequency if f is not Frequency.CRON))),
            Field("timezone", "Time zone", FieldKind.TEXT, max_length=60, placeholder=DEFAULT_TIME_ZONE),
            Field("start", "Start date", FieldKind.DATE),
            Field("end", "End date", FieldKind.DATE, required=False),
        ),
    )


def initial_answers(reminder: Reminder | None, today: date) -> Answers:
    """The form pre-filled with a reminder's settings, or with defaults for a new one."""
    if reminder is None:
        return {"topic": ROTATION, "frequency": Frequency.WEEKDAYS.value, "weekdays": ["0"],
                "time": "09:00", "timezone": DEFAULT_TIME_ZONE, "start": today}
    schedule = reminder.schedule
    return {
        "name": reminder.name,
        "channels": list(reminder.channels),
        "topic": reminder.topic,
        "frequency": schedule.frequency.value,
        "weekdays": [str(d) for d in sorted(schedule.weekdays)],
        "day_of_month": str(schedule.day_of_month) if schedule.day_of_month else None,
        "cron": schedule.cron,
        "time": schedule.time,
        "timezone": schedule.timezone,
        "start": schedule.start,
        "end": schedule.end,
    }


def parse_reminder(form: Form, answers: Answers, *, today: date) -> tuple[ReminderAnswers | None, FieldErrors]:
    """The checked settings, or an error beside each field that needs one (nothing is saved then)."""
    errors: FieldErrors = {}
    name = _text(answers.get("name"))
    if not name:
        errors["name"] = "Please give the reminder a name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Please keep the name under {MAX_NAME} characters."
    channels = tuple(dict.fromkeys(c for c in _list(answers.get("channels")) if c))
    if not channels:
        errors["channels"] = "Please choose at least one channel."
    elif len(channels) > MAX_CHANNELS:
        errors["channels"] = f"A reminder can post in up to {MAX_CHANNELS} channels."
    topic = _text(answers.get("topic"))
    if topic not in {o.value for o in form.field("topic").options}:
        errors["topic"] = "Please choose a tip."
    try:
        frequency = Frequency(_text(answers.get("frequency")))
    except ValueError:
        errors["frequency"] = "Please choose how often."
        frequency = Frequency.DAILY
    start, end = as_date(answers.get("start")), as_date(answers.get("end"))
    if start is None:
        errors["start"] = "Please choose a start date."
    elif start < today:
        start = today  # an edited reminder's old start: nothing before today can run anyway
    time = parse_time(_text(answers.get("time")) or "")
    if time is None and frequency is not Frequency.CRON:  # a cron expression holds its own time
        errors["time"] = "Please give a time as HH:MM, e.g. 09:00."
    schedule = Schedule(
        frequency=frequency,
        start=start or today,
        end=end,
        time=time or "09:00",
        timezone=_text(answers.get("timezone")) or DEFAULT_TIME_ZONE,
        weekdays=frozenset(_days(answers.get("weekdays"))),
        day_of_month=_whole(answers.get("day_of_month")),
        cron=" ".join(_text(answers.get("cron")).split()) if frequency is Frequency.CRON else "",
    )
    errors = schedule_errors(schedule) | errors
    if errors:
        return None, errors
    return ReminderAnswers(name=name, channels=channels, schedule=schedule, topic=topic), {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []


def _days(value: object) -> list[int]:
    return [int(v) for v in _list(value) if v in {str(i) for i in range(7)}]


def _whole(value: object) -> int:
    text = _text(value) if not isinstance(value, int) else str(value)
    return int(text) if text.isdigit() else 0
