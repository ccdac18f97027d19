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
