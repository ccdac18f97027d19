"""app.yaml: the organisation's settings (leads, admins, channels, command names, windows), validated once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.domain.errors import ConfigError
from bot.domain.org import Organisation

PLATFORMS = ("console", "slack", "teams")
COMMANDS = ("report", "myreports", "hotlines", "takedown", "staysafe", "help")


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """Everything app.yaml says, typed."""

    organisation: Organisation
    commands: dict[str, str]  # command key -> the name users type, without the slash
    lead_channel: dict[str, str] = field(default_factory=dict)  # platform -> channel id
    escalation_hours: float = 24.0
    retention_days: int = 365
    reminders: tuple[dict[str, Any], ...] = ()


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
    """Validate a parsed app.yaml document."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of settings")
    unknown = set(raw) - {"organisation", "leads", "backup_leads", "admins", "lead_channel", "commands",
                          "escalation", "retention", "reminders"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    name = raw.get("organisation")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'organisation' must be the organisation's name")
    names: dict[str, str] = {}
    leads = _people(raw, "leads", where, names)
    if not leads:
        raise ConfigError(f"{where}: 'leads' must name at least one designated lead")
    backup = _people(raw, "backup_leads", where, names)
    admins = _people(raw, "admins", where, names)
    return AppConfig(
        organisation=Organisation(name=name.strip(), leads=leads, backup_leads=backup, admins=admins, names=names),
        commands=_commands(raw.get("commands") or {}, where),
        lead_channel=_platform_map(raw.get("lead_channel") or {}, "lead_channel", where),
        escalation_hours=_number(raw, "escalation", "window_hours", 24, where),
        retention_days=int(_number(raw, "retention", "days", 365, where)),
        reminders=tuple(raw.get("reminders") or ()),
    )


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
            qualified = f"{platform}:{person_id.strip()}"
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
            raise ConfigError(f"{where}: commands.{key}: {name!r} is not a valid command name (lower case, up to 31)")
        commands[key] = name
    if len(set(commands.values())) != len(commands):
        raise ConfigError(f"{where}: commands: two commands share a name")
    return commands


def _number(raw: dict, section: str, key: str, default: float, where: str) -> float:
    block = raw.get(section) or {}
    value = block.get(key, default) if isinstance(block, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: {section}.{key}: must be a positive number")
    return float(value)
