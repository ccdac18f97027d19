"""How much one person may file in a day, so that no one can crowd out everyone else's reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

WINDOW = timedelta(hours=24)  # the limits count what a person filed in any 24 hours


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Per-person limits (app.yaml `limits`); the defaults are far above what one person needs."""

    reports_per_day: int = 20
    files_per_day: int = 60
