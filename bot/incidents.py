"""Incident ids: what a user sees instead of an error, and what the log line carries to find it."""

import secrets


def new_incident_id() -> str:
    """A short random id to quote to support."""
    return secrets.token_hex(4)
