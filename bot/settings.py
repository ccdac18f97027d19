"""Settings from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where things are and which secrets to use."""

    config_path: Path
    data_dir: Path
    secret_key: str | None  # base64 key(s), newest first, comma-separated
    secret_file: Path | None


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from STAFFSAFE_* variables, with command-line overrides winning."""
    env = os.environ if env is None else env
    settings = Settings(
        config_path=Path(env.get("STAFFSAFE_CONFIG", "app.yaml")),
        data_dir=Path(env.get("STAFFSAFE_DATA_DIR", "data")),
        secret_key=env.get("STAFFSAFE_SECRET_KEY") or None,
        secret_file=Path(env["STAFFSAFE_SECRET_FILE"]) if env.get("STAFFSAFE_SECRET_FILE") else None,
    )
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})
