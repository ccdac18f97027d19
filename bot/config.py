"""app.yaml: the organisation's settings (leads, admins, channels, command names, windows), validated once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import yaml

from bot.domain.errors import ConfigError
from bot.domain.hours import WorkingHours, working_hours_errors
from bot.domain.limits import Limits
from bot.domain.org import Organisation
from bot.domain.routing import leads_nobody_covers
from bot.domain.platform import CONSOLE, platform_of
from bot.domain.policy import Policy
from bot.domain.reminder import DEFAULT_TIME_ZONE, ROTATION, Frequency, Schedule
from bot.domain.schedule import DAY_NAMES, parse_time, schedule_errors

T = TypeVar("T")

PLATFORMS = ("console", "slack", "teams")
COMMANDS = ("report", "myreports", "hotlines", "takedown", "staysafe", "help", "reminders")
DAYS = {name: index for index, day in enumerate(DAY_NAMES) for name in (day[:3].lower(), day.lower())}
REMINDER_KEYS = {"name", "channels", "every", "days", "day", "cron", "time", "timezone", "topic", "start", "end"}
ONLY_FOR = {  # reminder settings that mean something for some frequencies only
    "days": (Frequency.WEEKDAYS, Frequency.WEEKLY),
    "day": (Frequency.MONTHLY,),
    "cron": (Frequency.CRON,),
    "time": (Frequency.DAILY, Frequency.WEEKDAYS, Frequency.WEEKLY, Frequency.MONTHLY),
}
SCHEDULE_SETTINGS = {"weekdays": "days", "day_of_month": "day"}  # schedule_errors' field ids -> app.yaml keys
EARLIEST_START = date(2000, 1, 1)  # a seeded reminder's default start: due from its first start-up


@dataclass(frozen=True)
class ReminderSeed:
    """A reminder app.yaml lists, created on start-up unless it exists (or was deleted)."""

    key: str  # the reminder's id: stable for its name, so it is seeded once
    name: str
    channels: tuple[str, ...]  # platform-qualified, e.g. "slack:C0123ABCD"
    schedule: Schedule
    topic: str  # a tip id or ROTATION; tip ids are checked against content when seeding


@dataclass(frozen=True, kw_only=True)
class AppConfig(Policy):
    """Everything app.yaml says, typed; its scheduling settings are the `Policy` the scheduler runs by."""

    organisation: Organisation
    commands: dict[str, str]  # command key -> the name users type, without the slash
    lead_channel: dict[str, str] = field(default_factory=dict)  # platform -> channel id
    reminders: tuple[ReminderSeed, ...] = ()
    limits: Limits = field(default_factory=Limits)


def recipient_warnings(config: AppConfig) -> list[str]:
    """A warning for each configured person a report about whom could reach nobody, with the fix."""
    org = config.organisation
    return [f"a report about {org.names.get(lead, lead)} ({lead}) would reach nobody: they are the only "
            "designated lead and there is no backup lead. Add one under backup_leads in app.yaml (the reporter "
            "and the admins are told meanwhile)." for lead in leads_nobody_covers(org)]


def load_config(path: Path) -> AppConfig:
    """Read and validate app.yaml; ConfigError names the file and the setting."""
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found (set STAFFSAFE_CONFIG to your app.yaml)") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{where}: not valid YAML{line}") from None
    return parse_config(raw, where=where)


def parse_config(raw: object, *, where: str = "app.yaml") -> AppConfig:
    """Validate a parsed app.yaml document; ConfigError lists every problem found, not only the first."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of settings")
    problems: list[str] = []

    def checked(step: Callable[[], T], default: T) -> T:
        """One setting's value, or its default with the problem noted (so the rest are checked too)."""
        try:
            return step()
        except ConfigError as error:
            problems.append(str(error))
            return default

    unknown = set(raw) - {"organisation", "leads", "backup_leads", "admins", "lead_channel", "commands",
                          "escalation", "retention", "reminder_grace_minutes", "reminders", "limits"}
    problems += [f"{where}: unknown setting {key!r}" for key in sorted(map(str, unknown))]
    name = raw.get("organisation")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: 'organisation' must be the organisation's name")
    names: dict[str, str] = {}
    none: frozenset[str] = frozenset()
    leads = checked(lambda: _people(raw, "leads", where, names), none)
    if not leads and not any(p.startswith(f"{where}: leads") for p in problems):
        problems.append(f"{where}: 'leads' must name at least one designated lead")
    backup = checked(lambda: _people(raw, "backup_leads", where, names), none)
    admins = checked(lambda: _people(raw, "admins", where, names), none)
    lead_channel = checked(lambda: _lead_channel(raw.get("lead_channel") or {}, where), {})
    # The console's leads see its leads' pane: it needs no channel id.
    console = {"console"} if any(platform_of(lead) == CONSOLE for lead in leads | backup) else set()
    config = AppConfig(
        organisation=Organisation(name=str(name or "").strip(), leads=leads, backup_leads=backup, admins=admins,
                                  names=names, lead_platforms=frozenset(lead_channel) | console),
        commands=checked(lambda: _commands(raw.get("commands") or {}, where), {key: key for key in COMMANDS}),
        lead_channel=lead_channel,
        escalation_hours=checked(lambda: _number(raw, "escalation", "window_hours", 24, where), 24.0),
        working_hours=checked(lambda: _working_hours(raw.get("escalation"), where), None),
        retention_days=int(checked(lambda: _number(raw, "retention", "days", 365, where), 365.0)),
        reminder_grace_minutes=checked(lambda: _positive(raw.get("reminder_grace_minutes", 120),
                                                         "reminder_grace_minutes", where), 120.0),
        reminders=checked(lambda: _reminders(raw.get("reminders") or [], where), ()),
        limits=checked(lambda: _limits(raw.get("limits") or {}, where), Limits()),
    )
    if problems:
        raise ConfigError(all_problems(problems))
    return config


def all_problems(problems: list[str]) -> str:
    """One message for one problem; a numbered list for several, so each can be fixed in one go."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems:\n" + "\n".join(f"  {n}. {p}" for n, p in enumerate(problems, 1))


# What an id looks like on each platform, so an id for one is never sent to another.
ID_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "slack": (re.compile(r"[UW][A-Z0-9]+"), "a Slack user id, like U0123ABCD"),
    "console": (re.compile(r"[a-z0-9][a-z0-9._-]*"), "a console user name in lower case, like lee"),
    "teams": (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
              "a Microsoft Entra object id in lower case, like 00000000-0000-0000-0000-000000000000"),
}
CHANNEL_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "slack": (re.compile(r"[CG][A-Z0-9]+"), "a Slack channel id, like C0123ABCD"),
    "console": (re.compile(r"[a-z0-9][a-z0-9._-]*"), "a console channel name in lower case, like staffroom"),
    "teams": (re.compile(r"19:[!-~]+"),
              "a Teams channel conversation id, like 19:abc123@thread.tacv2"),
}


def _shape(shapes: dict[str, tuple[re.Pattern[str], str]], platform: str, value: str, setting: str,
           where: str) -> str:
    """The id, if it has its platform's shape; else ConfigError saying what it should look like."""
    shape = shapes.get(platform)
    if shape is not None and not shape[0].fullmatch(value):
        raise ConfigError(f"{where}: {setting}: {value[:40]!r} is not {shape[1]}")
    return value


def _lead_channel(value: object, where: str) -> dict[str, str]:
    channels = _platform_map(value, "lead_channel", where)
    return {platform: _shape(CHANNEL_SHAPES, platform, str(channel).strip(), f"lead_channel.{platform}", where)
            for platform, channel in channels.items()}


def _limits(raw: object, where: str) -> Limits:
    """Per-person limits: whole numbers of at least 1; each missing one keeps its default."""
    if not isinstance(raw, dict) or set(raw) - {"reports_per_day", "files_per_day"}:
        raise ConfigError(f"{where}: 'limits' takes reports_per_day and files_per_day only")
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: limits.{key} must be a whole number of at least 1")
    return Limits(**raw)


def _people(raw: dict, key: str, where: str, names: dict[str, str]) -> frozenset[str]:
    """Platform-qualified ids from `key: {platform: [id or {id, name}]}`, collecting display names."""
    by_platform = _platform_map(raw.get(key) or {}, key, where, values=list)
    ids = set()
    for platform, people in by_platform.items():
        for index, person in enumerate(people):
            setting = f"{key}.{platform}[{index}]"
            if isinstance(person, dict):
                person_id, display = person.get("id"), person.get("name", "")
            else:
                person_id, display = person, ""
            if not isinstance(person_id, str) or not person_id.strip():
                raise ConfigError(f"{where}: {setting}: needs an 'id' (the person's {platform} user id)")
            qualified = f"{platform}:{_shape(ID_SHAPES, platform, person_id.strip(), setting, where)}"
            ids.add(qualified)
            if display:
                names[qualified] = str(display)
    return frozenset(ids)


def _platform_map(value: object, key: str, where: str, values: type = str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping of platform to {values.__name__}")
    for platform, entry in value.items():
        if platform not in PLATFORMS:
            raise ConfigError(f"{where}: {key}.{platform}: unknown platform (use one of {', '.join(PLATFORMS)})")
        if entry is not None and not isinstance(entry, values):
            raise ConfigError(f"{where}: {key}.{platform}: must be a {values.__name__}")
    return {platform: entry for platform, entry in value.items() if entry}


def _commands(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'commands' must map each command to its name")
    commands = {key: key for key in COMMANDS}
    for key, name in value.items():
        if key not in COMMANDS:
            raise ConfigError(f"{where}: commands.{key}: unknown command (known: {', '.join(COMMANDS)})")
        name = str(name).strip().lstrip("/")
        if not name or len(name) > 31 or not all(ch.isalnum() or ch in "-_" for ch in name) or name != name.lower():
            raise ConfigError(f"{where}: commands.{key}: {name!r} is not a valid command name: use lower-case "
                              "letters, digits, - or _, up to 31 characters")
        commands[key] = name
    if len(set(commands.values())) != len(commands):
        raise ConfigError(f"{where}: commands: two commands share a name")
    return commands


def _number(raw: dict, section: str, key: str, default: float, where: str) -> float:
    block = raw.get(section) or {}
    return _positive(block.get(key, default) if isinstance(block, dict) else None, f"{section}.{key}", where)


def _positive(value: object, setting: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: {setting}: must be a positive number")
    return float(value)


def _working_hours(escalation: object, where: str) -> WorkingHours | None:
    block = _settings(escalation or {}, {"window_hours", "working_hours"}, "escalation", where).get("working_hours")
    if block is None:
        return None
    setting = "escalation.working_hours"
    block = _settings(block, {"days", "start", "end", "timezone"}, setting, where)
    for key in ("days", "start", "end"):
        if key not in block:
            raise ConfigError(f"{where}: {setting}.{key}: required")
    working = WorkingHours(
        start=_clock(block["start"], f"{setting}.start", where),
        end=_clock(block["end"], f"{setting}.end", where),
        days=_days(block["days"], f"{setting}.days", where),
        timezone=_text(block.get("timezone", DEFAULT_TIME_ZONE), f"{setting}.timezone", where),
    )
    _refuse_first(working_hours_errors(working), setting, where)
    return working


def _reminders(value: object, where: str) -> tuple[ReminderSeed, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: 'reminders' must be a list of reminders")
    seeds: dict[str, ReminderSeed] = {}
    for index, entry in enumerate(value):
        seed = _reminder(entry, f"reminders[{index}]", where)
        if seed.name.casefold() in seeds:
            raise ConfigError(f"{where}: reminders[{index}].name: {seed.name!r} is used twice (names must be unique)")
        seeds[seed.name.casefold()] = seed
    return tuple(seeds.values())


def _reminder(entry: object, setting: str, where: str) -> ReminderSeed:
    """One `reminders:` entry, checked setting by setting (the schedule by schedule_errors)."""
    entry = _settings(entry, REMINDER_KEYS, setting, where)
    name = _text(entry.get("name"), f"{setting}.name", where)
    try:
        frequency = Frequency(str(entry.get("every", "")))
    except ValueError:
        raise ConfigError(f"{where}: {setting}.every: must be one of {', '.join(Frequency)}") from None
    for key, frequencies in ONLY_FOR.items():
        if key in entry and frequency not in frequencies:
            raise ConfigError(f"{where}: {setting}.{key}: not used with every: {frequency}")
    day = entry.get("day", 0)
    if isinstance(day, bool) or not isinstance(day, int):
        raise ConfigError(f"{where}: {setting}.day: must be a day of the month, 1 to 31")
    schedule = Schedule(
        frequency=frequency,
        start=_date(entry.get("start", EARLIEST_START), f"{setting}.start", where),
        end=None if entry.get("end") is None else _date(entry["end"], f"{setting}.end", where),
        time=_clock(entry.get("time", "09:00"), f"{setting}.time", where),
        timezone=_text(entry.get("timezone", DEFAULT_TIME_ZONE), f"{setting}.timezone", where),
        weekdays=_days(entry.get("days", []), f"{setting}.days", where),
        day_of_month=day,
        cron=" ".join(_text(entry["cron"], f"{setting}.cron", where).split()) if "cron" in entry else "",
    )
    _refuse_first({SCHEDULE_SETTINGS.get(k, k): m for k, m in schedule_errors(schedule).items()}, setting, where)
    return ReminderSeed(key="seed-" + hashlib.sha256(name.encode()).hexdigest()[:12], name=name,
                        channels=_channels(entry.get("channels"), f"{setting}.channels", where), schedule=schedule,
                        topic=_text(entry.get("topic", ROTATION), f"{setting}.topic", where))


def _settings(block: object, known: set[str], setting: str, where: str) -> dict:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: {setting}: must be a mapping of settings")
    if unknown := set(map(str, block)) - known:
        raise ConfigError(f"{where}: {setting}: unknown setting {sorted(unknown)[0]!r}")
    return block


def _refuse_first(errors: dict[str, str], setting: str, where: str) -> None:
    """Raise the first of a domain check's field errors as a ConfigError naming the setting."""
    if errors:
        key, message = next(iter(errors.items()))
        raise ConfigError(f"{where}: {setting}.{key}: {message}")


def _text(value: object, setting: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {setting}: must be some text")
    return value.strip()


def _clock(value: object, setting: str, where: str) -> str:
    """A time "HH:MM"; YAML reads an unquoted 9:00 as the number 540, so that asks for quotes."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        raise ConfigError(f'{where}: {setting}: quote the time, e.g. "{value // 60:02d}:{value % 60:02d}"')
    time = parse_time(value) if isinstance(value, str) else None
    if time is None:
        raise ConfigError(f'{where}: {setting}: must be a time like "09:00" (24-hour clock)')
    return time


def _days(value: object, setting: str, where: str) -> frozenset[int]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {setting}: must be a list of days, e.g. [mon, wed]")
    for day in value:
        if str(day).strip().lower() not in DAYS:
            raise ConfigError(f"{where}: {setting}: {day!r} is not a day (use mon, tue, wed, thu, fri, sat, sun)")
    return frozenset(DAYS[str(day).strip().lower()] for day in value)


def _date(value: object, setting: str, where: str) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ConfigError(f"{where}: {setting}: must be a date like 2026-01-01")
    return value


def _channels(value: object, setting: str, where: str) -> tuple[str, ...]:
    by_platform = _platform_map(value if value is not None else {}, setting, where, values=list)
    channels = []
    for platform, ids in by_platform.items():
        for index, channel in enumerate(ids):
            place = f"{setting}.{platform}[{index}]"
            channels.append(f"{platform}:{_shape(CHANNEL_SHAPES, platform, _text(channel, place, where), place, where)}")
    if not channels:
        raise ConfigError(f"{where}: {setting}: name at least one channel, e.g. {{slack: [C0123ABCD]}}")
    return tuple(dict.fromkeys(channels))
