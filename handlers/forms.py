"""Small neutral forms behind buttons: lead actions on a case, the reporter's reply, picking a platform."""

from __future__ import annotations

from bot.domain.content import Content
from bot.domain.report import Report, Status
from bot.domain.report_form import MAX_TEXT
from bot.domain.ui import Field, FieldKind, Form, Option
from bot.domain.workflow import Role, allowed_moves
from handlers.actions import Action
from handlers.takedown import KNOWN_PERSON

NAMED = "named"


def _case_form(report: Report, action: Action, title: str, submit: str, intro: str, *fields: Field) -> Form:
    """A form about one report; its context carries the report id only, never content."""
    return Form(id=action.value, title=title, submit_label=submit, intro=intro, fields=fields,
                context={"report": report.id})


def _text_form(action: Action, title: str, label: str, report: Report, submit: str, hint: str = "") -> Form:
    """One paragraph of text about a case."""
    return _case_form(report, action, title, submit, f"Case **{report.reference}**",
                      Field("text", label, FieldKind.PARAGRAPH, max_length=MAX_TEXT, hint=hint))


def note_form(report: Report) -> Form:
    """An internal note, seen by the leads only."""
    return _text_form(Action.CASE_NOTE, "Add a note", "Internal note (leads only)", report, "Add note")


def message_form(report: Report) -> Form:
    """A message relayed to the reporter by DM."""
    return _text_form(Action.CASE_MESSAGE, "Message the reporter", "Your message", report, "Send",
                      hint="The reporter gets this privately from the bot, and can reply.")


def reply_form(report: Report) -> Form:
    """The reporter's reply to the leads."""
    return _text_form(Action.REPORTER_REPLY, "Reply to the leads", "Your reply", report, "Send",
                      hint="Only the designated leads will see this.")


def withdraw_form(report: Report) -> Form:
    """The reporter confirms closing their own report."""
    return _case_form(report, Action.REPORT_WITHDRAW, "Withdraw report", "Withdraw",
                      f"Close your report **{report.reference}**? It shows as closed to anyone handling it, and "
                      "you cannot reopen it yourself. You can file a new report at any time.")


def status_form(report: Report) -> Form:
    """The statuses a lead may move this case to."""
    options = tuple(Option(s.value, s.value.replace("_", " ").capitalize())
                    for s in Status if s in allowed_moves(Role.LEAD, report.status))
    return _case_form(report, Action.CASE_STATUS, "Set status", "Save",
                      f"Case **{report.reference}** is {report.status.value.replace('_', ' ')}. "
                      "The reporter is told of the change in plain words.",
                      Field("status", "New status", FieldKind.SELECT, options=options))


def ack_form(report: Report) -> Form:
    """Acknowledge a case, choosing whether the reporter learns who is handling it."""
    return _case_form(report, Action.CASE_ACK, "Acknowledge", "Acknowledge",
                      f"You will handle case **{report.reference}**.",
                      Field("named", "Tell the reporter your name?", FieldKind.SELECT, options=(
                          Option(NAMED, "Yes, tell them it is me"),
                          Option("unnamed", "No, say \"a designated lead\""),
                      )))


def takedown_pick_form(content: Content) -> Form:
    """Choose the platform (or someone you know) before the takedown form."""
    options = tuple(Option(p.id, p.name) for p in content.platforms.values())
    return Form(
        id=Action.INFO_TAKEDOWN.value,
        title="Takedown request",
        submit_label="Next",
        fields=(Field("target", "Where is the content?", FieldKind.SELECT,
                      options=(*options, Option(KNOWN_PERSON, "Someone I know posted it"))),),
    )
