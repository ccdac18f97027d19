"""How the Teams adapter words errors: our own message, or an incident id (never exception text)."""

from __future__ import annotations

import logging

from bot.domain.errors import StaffSafeError, user_message
from bot.incidents import log_incident

log = logging.getLogger(__name__)


def friendly(error: Exception, where: str) -> str:
    """What the person sees for an error: our own message, or an incident id to quote."""
    if isinstance(error, StaffSafeError):
        return user_message(error)
    return incident_text(log_incident(log, where, error))


def incident_text(incident: str) -> str:
    """The words for an unexpected failure."""
    return f"Sorry, something went wrong. Please try again; if it keeps happening, quote incident {incident}."


def no_person() -> str:
    """The words for an activity without the sender's Entra id (a guest or an anonymous user)."""
    return "Sorry, I can only help people signed in to your organisation's Microsoft 365."
