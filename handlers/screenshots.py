"""Screenshots sent after a report (where a platform's forms take no files): queued for download into the case."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import Delivery, Report, Status
from bot.domain.report_form import MAX_FILES
from bot.domain.routing import to_reporter
from bot.domain.ui import Reply, counted
from handlers.limits import file_limit_error
from handlers.reports import audit, own_report
from handlers.services import Services

CLOSED = frozenset({Status.RESOLVED, Status.CLOSED})


def add_screenshots(services: Services, actor: Actor, file_refs: list[str], *, reference: str,
                    window: timedelta) -> Reply:
    """Queue files a reporter sent for one of their reports: the one they name, else their report of the last `window`.

    A file already queued for the report (the same message delivered twice) is not queued again.
    """
    report = _report(services, actor, reference, window)
    if report is None:
        return Reply.say("To add screenshots to a report, send them with its reference in the same message "
                         f"(your references are in {services.command('myreports')}).")
    if report.status in CLOSED:
        return Reply.say(f"Your report **{report.reference}** is closed, so I cannot add screenshots to it. "
                         f"Send a new report with {services.command('report')} if you need to.")
    queued = {o.file_ref for o in services.store.outbox_of(report.id) if o.kind is Delivery.EVIDENCE}
    unseen = list(dict.fromkeys(ref for ref in file_refs if ref not in queued))
    fresh = unseen[:MAX_FILES]
    if not fresh:
        return Reply.say(f"I have these already, with your report **{report.reference}**.")
    now = services.clock.now()
    over = file_limit_error(services, actor, len(fresh), now)
    if over:
        return Reply.say(f"{over} Your report **{report.reference}** is saved without them: a lead can ask.")
    services.store.commit(Changes(
        outbox=tuple(to_reporter(report, Delivery.EVIDENCE, now, file_ref=ref) for ref in fresh),
        audit=(audit(report, actor, "report.screenshots", now, detail=counted(len(fresh), "file")),)))
    more = f" (at most {MAX_FILES} at a time: please send the rest again)" if len(unseen) > len(fresh) else ""
    return Reply.say(f"Thank you: I am adding {counted(len(fresh), 'screenshot')} to your report "
                     f"**{report.reference}**{more}. They are stored encrypted; only the designated leads can see them.")


def _report(services: Services, actor: Actor, reference: str, window: timedelta) -> Report | None:
    if reference:
        return own_report(services, actor, reference, "report.screenshots")
    latest = services.store.reports_by_reporter(actor.id, since=services.clock.now() - window)
    return latest[0] if latest else None
