"""Microsoft's Teams tools from npm, pinned in tools/teams/package.json: where they are, and what to do if not.

`npm ci --prefix tools/teams` installs them (CI does, in .ci/run). In CI a missing tool fails the test that
needs it; on a developer's machine it skips, saying the command to run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "teams"
MODULES = TOOLS / "node_modules"
MANIFEST_SCHEMAS = MODULES / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
PLAYGROUND = MODULES / "@microsoft" / "m365agentsplayground"
INSTALL = "npm ci --prefix tools/teams"


def in_ci() -> bool:
    """Whether this run is CI's (which must have every tool: a missing one is a failure, not a skip)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(path: Path, what: str) -> Path:
    """`path`, if it exists; otherwise fail in CI, or skip saying how to install it."""
    if path.exists():
        return path
    message = f"{what} is not installed ({path.relative_to(ROOT)} is missing): run `{INSTALL}`"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    """The node executable (the Playground is a node program)."""
    found = shutil.which("node")
    if found:
        return found
    message = "node is not installed (the Agents Playground runs on Node.js 20 or later)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
