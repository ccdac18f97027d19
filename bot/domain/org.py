"""The organisation: who the designated leads and admins are, and who may see which report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.errors import NotAllowed
from bot.domain.report import Report


@dataclass(frozen=True)
class Actor:
    """Someone using the bot; `id` is platform-qualified ("slack:U123", "console:sam")."""

    id: str
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class Organisation:
    """Leads, backup leads and admins, as platform-qualified ids from app.yaml."""

    name: str
    leads: frozenset[str]
    backup_leads: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(default_factory=dict)  # display names of leads, by id
    # Platforms with a leads' channel; None: each platform a lead is on has its own (see routing).
    lead_platforms: frozenset[str] | None = None

    def is_lead(self, user_id: str) -> bool:
        """Whether this person is a designated lead (backup leads are leads too)."""
        return user_id in self.leads or user_id in self.backup_leads

    def is_admin(self, user_id: str) -> bool:
        """Whether this person may run admin actions."""
        return user_id in self.admins

    def may_handle(self, user_id: str, report: Report) -> bool:
        """A lead may handle a report unless the report is about them."""
        return self.is_lead(user_id) and report.subject_id != user_id

    def require_lead(self, user_id: str, report: Report | None = None) -> None:
        """Raise NotAllowed unless this person may act as a lead (on this report)."""
        if not self.is_lead(user_id):
            raise NotAllowed("Only the designated leads can do that.")
        if report is not None and report.subject_id == user_id:
            # Deliberately the same words as an unknown reference: do not reveal the report exists.
            raise NotAllowed("Only the designated leads can do that.")

    def leads_for(self, report: Report) -> frozenset[str]:
        """The leads who may see this report."""
        return frozenset(lead for lead in self.leads | self.backup_leads if lead != report.subject_id)
