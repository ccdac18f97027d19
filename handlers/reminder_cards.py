"""Reminder cards: the message staff see, its "show me how" answer, and the admins' list and notices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.content import Content, Tip
from bot.domain.reminder import ROTATION, PressKind, Reminder
from bot.domain.schedule import describe
from bot.domain.ui import Button, Card, Fact, Section, Style, counted
from handlers.actions import Action

SHOWN_CHANNELS = 5  # a reminder may post in 1,000 channels: name a few, count the rest


def reminder_card(tip: Tip, run_id: str) -> Card:
    """The awareness reminder posted in a channel: the tip, why, and private Done / Show me how buttons."""
    return Card(
        title=f"Staying safe online: {tip.topic}",
        summary=tip.tip,
        sections=(Section(body=f"**{tip.tip}**"), Section(heading="Why it matters", body=tip.why)),
        buttons=(
            Button("Done", Action.REMINDER_DONE, run_id, Style.PRIMARY),
            Button("Show me how", Action.REMINDER_HOW, run_id),
            Button("Full checklist", Action.INFO_STAYSAFE),
        ),
    )


def show_me_how_card(content: Content, tip: Tip) -> Card:
    """The steps behind a tip, for the person who asked only."""
    item = content.checklist[tip.checklist]
    return Card(
        title=item.title,
        summary=item.title,
        sections=(Section(body=item.text), Section(heading="How", body="\n".join(f"- {s}" for s in item.steps))),
        buttons=(Button("Full checklist", Action.INFO_STAYSAFE),),
    )


def reminders_header(count: int) -> Card:
    """The top of the admins' list."""
    body = f"{counted(count, 'reminder')}." if count else "No reminders yet."
    return Card(title="Awareness reminders", sections=(Section(body=body + " Counts show how many people "
                                                                "pressed each button, never who."),),
                buttons=(Button("New reminder", Action.REMINDER_NEW, style=Style.PRIMARY),))


def reminder_summary(reminder: Reminder, content: Content, *, counts: Mapping[PressKind, int], sends: int,
                     labels: Sequence[str], blocked: Sequence[str], time_zone: str) -> Card:
    """One reminder for admins: schedule, next send in their time zone, channels, counts and actions."""
    facts = [
        Fact("Status", _status(reminder)),
        Fact("Schedule", describe(reminder.schedule)),
        Fact("Next send", local_time(reminder.next_run if reminder.active else None, time_zone)),
        Fact("Tip", topic_label(content, reminder.topic)),
        Fact("Channels", _channels(labels, len(reminder.channels))),
        Fact("Responses", f"Done: {counts.get(PressKind.DONE, 0)}, Show me how: {counts.get(PressKind.HOW, 0)} "
                          f"(over {counted(sends, 'send')})"),
    ]
    if blocked:
        facts.append(Fact("Not posting in", f"{_channels(blocked, len(reminder.blocked_channels))}: the bot cannot post there. "
                                            "Invite it back, then press Resume."))
    pause = (Button("Resume", Action.REMINDER_RESUME, reminder.id) if reminder.paused or blocked
             else Button("Pause", Action.REMINDER_PAUSE, reminder.id))
    return Card(
        title=reminder.name,
        sections=(Section(facts=tuple(facts)),),
        buttons=(
            Button("Preview", Action.REMINDER_PREVIEW, reminder.id),
            Button("Send now", Action.REMINDER_SEND_NOW, reminder.id),
            pause,
            Button("Edit", Action.REMINDER_EDIT, reminder.id),
            Button("Delete", Action.REMINDER_DELETE, reminder.id, Style.DANGER),
        ),
    )


def refused_notice_card(reminder: Reminder, labels: Sequence[str], total: int) -> Card:
    """Tells an admin a reminder could not be posted in some channels, which it now skips."""
    text = (f"The reminder \u201c{reminder.name}\u201d could not be posted in {_channels(labels, total)}: "
            "the bot is not in the channel, or it is archived.")
    return Card(
        title="A reminder could not be posted",
        summary=text,
        sections=(Section(facts=(Fact("What happened", text),)),
                  Section(body="Those channels are skipped from now on. Invite the bot back and press "
                               "**Resume** on the reminder, or edit its channels.")),
        buttons=(Button("Reminders", Action.REMINDERS),),
    )


def topic_label(content: Content, topic: str) -> str:
    """A tip's topic name, or the rotation."""
    return "All tips in turn" if topic == ROTATION else content.tips[topic].topic


def _status(reminder: Reminder) -> str:
    if reminder.paused:
        return "paused"
    return "active" if reminder.next_run is not None else "ended"


def local_time(moment: datetime | None, time_zone: str) -> str:
    """A due time as the admin reads it, in their time zone."""
    if moment is None:
        return "none"
    return f"{moment.astimezone(ZoneInfo(time_zone)):%a %d %b %Y, %H:%M} ({time_zone})"


def _channels(labels: Sequence[str], total: int) -> str:
    """The first few channel names (callers look up only those), and how many more."""
    shown = ", ".join(labels[:SHOWN_CHANNELS])
    more = total - min(len(labels), SHOWN_CHANNELS)
    return f"{shown} and {more} more" if more > 0 else shown
