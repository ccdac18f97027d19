"""The core stays platform-free: no platform or storage library in bot/domain or handlers/."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"slack_bolt", "slack_sdk", "msal", "requests", "tinydb", "psycopg", "bot.store", "bot.slack", "bot.teams", "bot.console"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted([*ROOT.glob("bot/domain/**/*.py"), *ROOT.glob("handlers/**/*.py")]), ids=str)
def test_core_imports_no_platform_or_storage_library(path):
    bad = {name for name in imported_modules(path) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_settings_reads_the_environment():
    readers = [p for p in ROOT.glob("bot/**/*.py") if "os.environ" in p.read_text() and p.name != "settings.py"]
    assert readers == []


def test_bench_takes_its_fakes_from_testkit_not_from_tests():
    importers = [p.name for p in ROOT.glob("bench/*.py")
                 if any(name == "tests" or name.startswith("tests.") for name in imported_modules(p))]
    assert importers == []


def test_slack_listener_modules_share_one_transport_and_do_not_import_each_other():
    listeners = imported_modules(ROOT / "bot/slack/listeners.py")
    reminders = imported_modules(ROOT / "bot/slack/reminder_listeners.py")
    assert "bot.slack.listeners" not in reminders and "bot.slack.transport" in listeners & reminders
