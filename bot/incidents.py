"""Incident ids: what a user sees instead of an error, and what the log line carries to find it."""

from __future__ import annotations

import logging
import secrets
import traceback


def new_incident_id() -> str:
    """A short random id to quote to support."""
    return secrets.token_hex(4)


def log_incident(log: logging.Logger, where: str, error: BaseException) -> str:
    """Log an unexpected error under a new incident id, with its class and stack but not its message.

    Exception messages can quote the data being handled (a report's words, a user id), so only
    the type and the code locations are logged.
    """
    incident = new_incident_id()
    frames = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(traceback.extract_tb(error.__traceback__)))
    log.error("%s failed, incident %s: %s at %s", where, incident, type(error).__name__, frames)
    return incident
