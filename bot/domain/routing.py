"""Who hears about a report, on which platform: one rule for every notice to the leads.

A notice about a report goes to every lead who may see it, on each platform where they have an id,
and never to the lead it is about:
- a report about a lead goes to each other lead and backup lead alone, by a private message on
  every platform where they have an id (a leads' channel may hold the lead it is about);
- otherwise each platform with a leads' channel gets the notice there (escalations and retention
  warnings also reach each backup lead privately), and leads on a platform without one get it
  privately.
Outbox items name a person by a tag, never by user id (items are stored in the clear); the tag is
resolved against the configured leads at delivery time, so a lead removed since is not told.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.org import Organisation
from bot.domain.platform import platform_of
from bot.domain.ports import Destination
from bot.domain.report import Delivery, OutboxItem, Report, new_id

# The notices to leads this rule routes; the rest go to one known person (reporter, exporter, admin).
LEAD_NOTICES = frozenset({Delivery.LEAD_ALERT, Delivery.LEAD_MESSAGE, Delivery.ESCALATION,
                          Delivery.RETENTION_WARNING})
# Notices that also reach each backup lead privately, as a second pair of eyes on a case left waiting.
_BACKUPS_TOO = frozenset({Delivery.ESCALATION, Delivery.RETENTION_WARNING})


@dataclass(frozen=True, order=True)
class Recipient:
    """One place a notice goes: a platform's leads' channel (tag ""), or one person there by tag."""

    platform: str
    tag: str = ""


def person_tag(user_id: str, role: str = "lead") -> str:
    """A recipient without their user id in the clear ("lead:1f0c..."): resolved against app.yaml later."""
    return f"{role}:" + hashlib.sha256(user_id.encode()).hexdigest()[:16]


def lead_channel_platforms(org: Organisation) -> frozenset[str]:
    """The platforms with a leads' channel (app.yaml's lead_channel; the console's leads pane)."""
    if org.lead_platforms is not None:
        return org.lead_platforms
    return frozenset(platform_of(lead) for lead in org.leads | org.backup_leads)


def lead_recipients(org: Organisation, report: Report, kind: Delivery) -> tuple[Recipient, ...]:
    """Where one notice about `report` goes (the module's rule), in a stable order."""
    if kind not in LEAD_NOTICES:
        raise ValueError(f"{kind.value} is not a notice to the leads")
    may_see = org.leads_for(report)
    if report.subject_id is not None and org.is_lead(report.subject_id):
        return _people(may_see)
    channels = lead_channel_platforms(org)
    privately = {lead for lead in may_see if platform_of(lead) not in channels}
    if kind in _BACKUPS_TOO:
        privately |= may_see & org.backup_leads
    return tuple(sorted(Recipient(platform=p) for p in channels)) + _people(privately)


def _people(user_ids: Iterable[str]) -> tuple[Recipient, ...]:
    return tuple(sorted(Recipient(platform=platform_of(u), tag=person_tag(u)) for u in set(user_ids)))


def lead_notices(org: Organisation, report: Report, kind: Delivery, now: datetime, *,
                 note_id: str | None = None) -> tuple[OutboxItem, ...]:
    """The outbox items of one notice to the leads: one per recipient, each on its platform."""
    return tuple(OutboxItem(id=new_id(), kind=kind, report_id=report.id, due_at=now, note_id=note_id,
                            platform=r.platform, recipient=r.tag) for r in lead_recipients(org, report, kind))


def alert_updates(org: Organisation, report: Report, now: datetime) -> tuple[OutboxItem, ...]:
    """Edit the leads' alerts for `report` to show where it stands: one item per platform alerted."""
    platforms = sorted({r.platform for r in lead_recipients(org, report, Delivery.LEAD_ALERT)})
    return tuple(OutboxItem(id=new_id(), kind=Delivery.ALERT_UPDATE, report_id=report.id, due_at=now, platform=p)
                 for p in platforms)


def to_reporter(report: Report, kind: Delivery, now: datetime, **fields: str | None) -> OutboxItem:
    """An item for the reporter (receipt, update, relayed message, a file they attached), on their platform."""
    return OutboxItem(id=new_id(), kind=kind, report_id=report.id, due_at=now,
                      platform=platform_of(report.reporter_id), **fields)  # type: ignore[arg-type]


def to_person(report: Report, kind: Delivery, user_id: str, now: datetime) -> OutboxItem:
    """An item for one lead (an export they asked for), on the platform of the id they asked from."""
    return OutboxItem(id=new_id(), kind=kind, report_id=report.id, due_at=now, platform=platform_of(user_id),
                      recipient=person_tag(user_id))


def lead_destination(org: Organisation, report: Report, item: OutboxItem) -> Destination | None:
    """Where a lead's item goes now: its platform's leads' channel, or the lead its tag names (None if gone)."""
    if not item.recipient:
        return Destination(platform=item.platform, leads=True)
    lead = next((lead for lead in org.leads_for(report)
                 if person_tag(lead) == item.recipient and platform_of(lead) == item.platform), "")
    return Destination(platform=item.platform, user_id=lead) if lead else None


def has_recipient(org: Organisation, report: Report) -> bool:
    """Whether anyone configured may receive notices about this report (not so for one about the only lead)."""
    return bool(lead_recipients(org, report, Delivery.LEAD_ALERT))


def leads_nobody_covers(org: Organisation) -> list[str]:
    """The leads a report about whom would reach nobody: no other lead or backup lead may see it."""
    everyone = org.leads | org.backup_leads
    return sorted(lead for lead in everyone if not everyone - {lead})


def waiting_notices(org: Organisation, report: Report, now: datetime, *, refused: str = "",
                    unreachable: OutboxItem | None = None) -> tuple[OutboxItem, ...]:
    """A content-free notice to each admin (never the person the report is about) that a report has no reader.

    Instead, `refused`: that this platform refused a delivery about the report for good; `unreachable`: that
    this item waits for its recipient to install the app (its platform and recipient tag kept in `update`).
    """
    cause = f"{REFUSED_UPDATE}{refused}" if refused else ""
    if unreachable is not None:
        cause = f"{UNREACHABLE_UPDATE}{unreachable.platform}:{unreachable.recipient}"
    admins = sorted(admin for admin in org.admins if admin != report.subject_id)
    return tuple(OutboxItem(id=new_id(), kind=Delivery.REPORT_WAITING, report_id=report.id, due_at=now,
                            platform=platform_of(admin), recipient=person_tag(admin, role="admin"),
                            update=cause)
                 for admin in admins)


REFUSED_UPDATE = "refused:"  # a REPORT_WAITING item's `update`: a delivery on the platform after it was refused
UNREACHABLE_UPDATE = "unreachable:"  # ... "unreachable:<platform>:<tag>": a delivery waiting for an install


def unreachable_recipient(org: Organisation, report: Report, cause: str) -> tuple[str, str] | None:
    """(platform, lead id or "") of an "unreachable:" cause: whom a delivery waits for ("" if not a lead now)."""
    if not cause.startswith(UNREACHABLE_UPDATE):
        return None
    platform, _, tag = cause.removeprefix(UNREACHABLE_UPDATE).partition(":")
    lead = lead_destination(org, report, OutboxItem(id="", kind=Delivery.LEAD_ALERT, report_id=report.id,
                                                   due_at=report.created_at, platform=platform, recipient=tag))
    return platform, lead.user_id if lead is not None and tag else ""


def admin_destination(org: Organisation, report: Report, item: OutboxItem) -> Destination | None:
    """The admin an item's tag names, on its platform (None if no longer an admin, or the report is about them)."""
    admin = next((a for a in org.admins if person_tag(a, role="admin") == item.recipient
                  and platform_of(a) == item.platform and a != report.subject_id), "")
    return Destination(platform=item.platform, user_id=admin) if admin else None
