"""The test server itself: a missing PostgreSQL fails the run in CI and is a named skip elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A_POSTGRES_TEST = "tests/test_store_postgres.py::test_items_from_before_platforms_are_found_without_reading_every_report"


def _pytest_without_a_server(tmp_path: Path, *, ci: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PG_BIN_DIR": str(tmp_path), "CI": ci}
    return subprocess.run([sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", A_POSTGRES_TEST],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_in_ci_a_missing_server_fails_the_run(tmp_path: Path) -> None:
    done = _pytest_without_a_server(tmp_path, ci="true")
    assert done.returncode == 1, done.stdout
    assert "CI needs a PostgreSQL server" in done.stdout and "apt-get install -y postgresql" in done.stdout


def test_elsewhere_a_missing_server_skips_naming_the_package_to_install(tmp_path: Path) -> None:
    done = _pytest_without_a_server(tmp_path, ci="")
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout and "apt-get install -y postgresql" in done.stdout
