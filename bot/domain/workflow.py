"""The status workflow: which role may move a report from which status to which."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.errors import InvalidTransition
from bot.domain.report import Status

S = Status


class Role(StrEnum):
    """Who is acting on a report."""

    REPORTER = "reporter"
    LEAD = "lead"
    SYSTEM = "system"  # the escalation scheduler and retention


_LEAD_MOVES: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.ESCALATED, S.CLOSED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.WAITING, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.ESCALATED: frozenset({S.IN_PROGRESS, S.WAITING, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),  # reopen, or close for good
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen
}

# A reporter may withdraw an open report, or confirm a resolved one is closed.
_REPORTER_MOVES: dict[Status, frozenset[Status]] = {
    status: frozenset({S.CLOSED}) for status in (S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.RESOLVED)
}

# The scheduler only escalates unacknowledged reports and closes nothing.
_SYSTEM_MOVES: dict[Status, frozenset[Status]] = {S.NEW: frozenset({S.ESCALATED})}

_MOVES = {Role.LEAD: _LEAD_MOVES, Role.REPORTER: _REPORTER_MOVES, Role.SYSTEM: _SYSTEM_MOVES}

# Plain words for the reporter when the status changes.
STATUS_WORDS: dict[Status, str] = {
    S.NEW: "received, waiting for a designated lead",
    S.ACKNOWLEDGED: "acknowledged by a designated lead",
    S.IN_PROGRESS: "being worked on",
    S.WAITING: "waiting for a reply from the platform or provider",
    S.ESCALATED: "escalated to senior leads",
    S.RESOLVED: "resolved",
    S.CLOSED: "closed",
}


def allowed_moves(role: Role, current: Status) -> frozenset[Status]:
    """The statuses this role may move a report to from its current status."""
    return _MOVES[role].get(current, frozenset())


def check_move(role: Role, current: Status, target: Status) -> None:
    """Raise InvalidTransition unless the role may move the report from current to target."""
    if target not in allowed_moves(role, current):
        raise InvalidTransition(
            f"A report that is {current.value.replace('_', ' ')} cannot be moved to "
            f"{target.value.replace('_', ' ')}."
        )
