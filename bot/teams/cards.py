"""Neutral cards, replies and documents -> Adaptive Cards (schema 1.5) and Teams message activities. Pure.

Trust: only our markup (`Section.body`, reply text) goes into TextBlocks (see bot/teams/markup.py); titles,
headings, facts and quotes go into RichTextBlocks, which Teams shows as written. Facts are not a FactSet:
Teams parses Markdown in FactSet titles and values.

Buttons carry ids only: `{"action": <action id>, "value": <button value>}`. A button whose route opens a
dialog (a form, or a case or letter kept out of the chat history) is an `Action.Submit` with
`msteams.type = "task/fetch"`, the only way Teams opens a dialog from a card. Any other button is a
Universal Action (`Action.Execute`, verb = the action id), so the bot can answer with an updated card for
every lead, with an `Action.Submit` fallback for clients without Universal Actions. Inside a dialog every
button is a plain `Action.Submit`: Teams sends it as `task/submit`, and the dialog continues.

Size: Teams refuses a message over about 28 KB. A card that would not fit is split into several messages
at element boundaries, each saying it continues; a single element too big on its own is shortened, and
says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.markup import plain
from bot.domain.ui import Button, Card, Document, Fact, Reply, Section, Style
from bot.teams.card_data import ACTION, VALUE
from bot.teams.markup import markup_elements, plain_text, rich_text, text_run
from handlers.actions import Action

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # Universal Actions need 1.4+; Teams dialogs and messages render up to 1.5
CARD = "application/vnd.microsoft.card.adaptive"
FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
# Teams refuses a message over ~28 KB (the whole activity). The connector adds ids and addresses around
# the card, so a card's own JSON stays under this.
MAX_CARD_BYTES = 26 * 1024
MAX_PRIMARY_ACTIONS = 6  # Teams shows six buttons; the rest go in the card's "..." menu
MAX_SUMMARY = 250  # a notification's preview line
SHORTENED = "(Shortened: this part is too long for one Teams message.)"
CONTINUED = "(Continued in the next message.)"
CUT = "(Shortened: the rest is too long for one Teams card.)"
TASK_FETCH = {"type": "task/fetch"}
# The verb of a card's automatic refresh (Universal Actions): the bot answers it with the card as it is now.
REFRESH = "card.refresh"

# Buttons that act where they are, answered by an updated card or a short message; every other button
# opens a dialog (a form to fill, or content such as a case or a letter that stays out of the chat).
IN_PLACE: frozenset[str] = frozenset({
    Action.CASE_HOLD, Action.CASE_HOLD_LIFT, Action.CASE_EXPORT,
    Action.REMINDER_DONE, Action.REMINDER_SEND_NOW, Action.REMINDER_PAUSE, Action.REMINDER_RESUME,
})

_STYLES = {Style.PRIMARY: "positive", Style.DANGER: "destructive"}

Element = dict[str, Any]


def opens_dialog(action: str) -> bool:
    """Whether a button for this action opens a Teams dialog (task/fetch) rather than acting in place."""
    return action not in IN_PLACE


def button_data(action: str, value: str = "") -> dict[str, str]:
    """The ids a button carries back: its action and its value (never content)."""
    return {ACTION: str(action), **({VALUE: value} if value else {})}


def render_button(button: Button, *, in_dialog: bool = False) -> Element:
    """One button as an Adaptive Card action (see the module docstring for which kind)."""
    base: Element = {"title": button.label}
    if button.style in _STYLES:
        base["style"] = _STYLES[button.style]
    data = button_data(button.action, button.value)
    if in_dialog:
        return {"type": "Action.Submit", **base, "data": data}
    if opens_dialog(button.action):
        return {"type": "Action.Submit", **base, "data": {"msteams": TASK_FETCH, **data}}
    return {"type": "Action.Execute", **base, "verb": str(button.action), "data": data,
            "fallback": {"type": "Action.Submit", **base, "data": data}}


def render_actions(buttons: Iterable[Button], *, in_dialog: bool = False) -> list[Element]:
    """A card's buttons; past six, in the card's "..." menu."""
    actions = [render_button(b, in_dialog=in_dialog) for b in buttons]
    return [a if n < MAX_PRIMARY_ACTIONS else {**a, "mode": "secondary"} for n, a in enumerate(actions)]


# --- sections -----------------------------------------------------------------------------------

def _lines(text: str, **style: Any) -> list[Element]:
    """Untrusted text, one RichTextBlock a line (a TextRun's line breaks are not drawn alike everywhere)."""
    blocks: list[Element] = []
    gap = False
    for line in text.splitlines():
        if not line.strip():
            gap = True
            continue
        block = rich_text(text_run(line, **style), spacing="Medium" if gap else "None")
        blocks.append(block)
        gap = False
    if blocks:
        blocks[0] = {k: v for k, v in blocks[0].items() if k != "spacing"}
    return blocks


def _fact(fact: Fact) -> list[Element]:
    label = fact.label.strip()
    lines = [line for line in fact.value.splitlines() if line.strip()] or [""]
    if len(lines) == 1:
        runs = [text_run(f"{fact.label}: " if label else "", weight="Bolder"), text_run(lines[0])]
        return [rich_text(*runs)] if any(r["text"] for r in runs) else []
    values = _lines(fact.value)
    if not label:
        return values
    return [rich_text(text_run(fact.label, weight="Bolder")), {**values[0], "spacing": "None"}, *values[1:]]


def render_section(section: Section) -> list[Element]:
    """One section's elements: heading, body, facts, then the quote (set apart in an emphasis container)."""
    elements: list[Element] = []
    if section.heading.strip():
        elements.append(rich_text(text_run(section.heading, weight="Bolder")))
    if section.body.strip():
        elements += markup_elements(section.body)
    for fact in section.facts:
        elements += _fact(fact)
    if section.quote.strip():
        elements.append({"type": "Container", "style": "emphasis", "items": _lines(section.quote)})
    if elements:
        elements[0] = {**elements[0], "spacing": "Medium"}
    return elements


def _title(title: str) -> Element:
    return rich_text(text_run(title, size="Large", weight="Bolder"))


def card_elements(card: Card) -> list[Element]:
    """A card's body elements: its title, then its sections."""
    elements = [_title(card.title)] if card.title.strip() else []
    for section in card.sections:
        elements += render_section(section)
    return elements


# --- whole cards, within Teams' size limit ------------------------------------------------------------

@dataclass(frozen=True)
class Refresh:
    """A card's automatic refresh (Universal Actions): who gets it, and the value sent back with REFRESH."""

    value: str
    user_ids: tuple[str, ...] = ()  # Teams refreshes automatically for these users (at most 60)


def adaptive_card(body: list[Element], actions: list[Element] | None = None, *, fallback_text: str = "",
                  refresh: Refresh | None = None) -> Element:
    """An Adaptive Card 1.5 object."""
    content: Element = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        content["actions"] = actions
    if fallback_text:
        content["fallbackText"] = fallback_text
    if refresh is not None:
        data = button_data(REFRESH, refresh.value)
        content["refresh"] = {"action": {"type": "Action.Execute", "verb": REFRESH, "data": data},
                              **({"userIds": list(refresh.user_ids[:60])} if refresh.user_ids else {})}
    return content


def size(value: object) -> int:
    """Bytes of a JSON value as sent (UTF-8)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _shorten(element: Element, budget: int) -> Element:
    """An element cut to fit `budget` bytes: its text halved until it fits, with a note that it was cut."""
    note = rich_text(text_run(SHORTENED, isSubtle=True, italic=True))
    texts = _texts(element)
    while texts and size(element) + size(note) > budget:
        longest = max(texts, key=lambda holder: len(holder["text"]))
        if len(longest["text"]) <= 1:
            break
        longest["text"] = longest["text"][: len(longest["text"]) // 2]
    if size(element) + size(note) > budget:
        return note  # nothing left worth showing (an element of many tiny texts): say so
    return {"type": "Container", "items": [element, note]}


def _texts(node: Any) -> list[dict[str, Any]]:
    """Every dict holding a "text" inside an element (so it can be shortened in place)."""
    if isinstance(node, dict):
        own = [node] if isinstance(node.get("text"), str) else []
        return own + [d for v in node.values() for d in _texts(v)]
    if isinstance(node, list):
        return [d for v in node for d in _texts(v)]
    return []


def paginate(elements: Sequence[Element], *, title: str = "", budget: int = MAX_CARD_BYTES,
             reserved: int = 0) -> list[list[Element]]:
    """Body elements in pages of at most `budget` bytes each (with `reserved` bytes kept for the last
    page's buttons); every page but the last ends by saying it continues, and later pages repeat the title."""
    continued = rich_text(text_run(CONTINUED, isSubtle=True, italic=True))
    heading = [_title(f"{title} (continued)")] if title.strip() else []
    room = budget - size(adaptive_card([])) - size(continued) - size(heading) - 64  # 64: separators and slack
    pages: list[list[Element]] = [[]]
    used = 0
    for element in (json.loads(json.dumps(e)) for e in elements):  # a copy: shortening works in place
        cost = size(element) + 1
        if cost > room:
            element = _shorten(element, room)
            cost = size(element) + 1
        if pages[-1] and used + cost > room:
            pages[-1].append(continued)
            pages.append(list(heading))
            used = size(heading)
        pages[-1].append(element)
        used += cost
    if reserved and pages[-1] and used + reserved > room:  # the buttons do not fit beside the last page
        pages[-1].append(continued)
        pages.append(list(heading))
    return pages


def render_card(card: Card, *, in_dialog: bool = False, refresh: Refresh | None = None,
                lead: Sequence[Element] = ()) -> list[Element]:
    """A card as one Adaptive Card, or several when it is too big for one Teams message (buttons on the
    last). `lead`: elements shown first (a reply's text)."""
    actions = render_actions(card.buttons, in_dialog=in_dialog)
    pages = paginate([*lead, *card_elements(card)], title=card.title,
                     reserved=size(actions) + (size(adaptive_card([], refresh=refresh)) if refresh else 0))
    fallback = summary(card)
    return [adaptive_card(body, actions if n == len(pages) - 1 else None, fallback_text=fallback,
                          refresh=refresh if n == len(pages) - 1 else None)
            for n, body in enumerate(pages)]


def summary(card: Card) -> str:
    """A card's notification text: its summary or title, as written (hidden characters shown)."""
    text = plain_text(card.summary or card.title)
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def message(content: Element, *, summary_text: str = "") -> dict[str, Any]:
    """A Teams message activity carrying one Adaptive Card."""
    activity: dict[str, Any] = {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}
    if summary_text:
        activity["summary"] = summary_text
    return activity


def render_reply(reply: Reply, *, refresh: Refresh | None = None) -> list[dict[str, Any]]:
    """A reply as message activities: one card each (the reply's text above the first), split if too big."""
    lead = markup_elements(reply.text) if reply.text.strip() else []
    if not reply.cards:
        text = plain(reply.text, command_prefix="")
        return [message(adaptive_card(body, fallback_text=_cut(text)), summary_text=_cut(text))
                for body in paginate(lead)] if lead else []
    activities = []
    for n, card in enumerate(reply.cards):
        for content in render_card(card, lead=lead if n == 0 else (), refresh=refresh):
            activities.append(message(content, summary_text=summary(card)))
    return activities


def _cut(text: str) -> str:
    text = plain_text(text)
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


# --- in a dialog ------------------------------------------------------------------------------------

def reply_dialog_card(reply: Reply) -> Element:
    """A reply shown in a dialog (a case, a letter, a result): one card, its buttons continuing the dialog.

    A dialog holds one card, so what does not fit is cut, and the card says so.
    """
    elements = markup_elements(reply.text) if reply.text.strip() else []
    buttons: list[Button] = []
    for card in reply.cards:
        shown = card_elements(card)
        if elements and shown:  # a line between cards
            shown[0] = {**shown[0], "separator": True, "spacing": "Large"}
        elements += shown
        buttons += card.buttons
    return one_card(elements, render_actions(buttons, in_dialog=True))


def one_card(elements: list[Element], actions: list[Element], *, refresh: Refresh | None = None,
             fallback_text: str = "") -> Element:
    """Elements and actions as one card within the size limit: cut at an element, saying so, if over."""
    extra = size(adaptive_card([], refresh=refresh, fallback_text=fallback_text)) - size(adaptive_card([]))
    pages = paginate(elements, reserved=size(actions) + extra)
    body = pages[0]
    if len(pages) > 1:
        body = body[:-1]  # not "continued": there is no next message
        body.append(rich_text(text_run(CUT, isSubtle=True, italic=True)))
    return adaptive_card(body, actions, refresh=refresh, fallback_text=fallback_text)


def render_one(card: Card, *, refresh: Refresh | None = None, in_dialog: bool = False) -> Element:
    """A card as exactly one Adaptive Card, cut if too big: to update a sent message in place, or to answer
    a Universal Action (adaptiveCard/action) with the card as it is now."""
    return one_card(card_elements(card), render_actions(card.buttons, in_dialog=in_dialog), refresh=refresh,
                    fallback_text=summary(card))


def document_card(document: Document) -> Element:
    """A document (a case export) shown as text in a dialog, for where a file cannot be sent; cut if too long."""
    intro = rich_text(text_run(document.filename, weight="Bolder"))
    note = markup_elements("Teams could not send this as a file here: copy the text below into a file to keep it.")
    return one_card([intro, *note, *_lines(document.text, fontType="Monospace")], [])


def file_consent(document: Document, *, context: dict[str, str], description: str) -> dict[str, Any]:
    """A file consent card offering a document in the personal chat; `context` (ids only) comes back on accept."""
    return {
        "contentType": FILE_CONSENT,
        "name": document.filename,
        "content": {"description": description, "sizeInBytes": len(document.text.encode()),
                    "acceptContext": dict(context), "declineContext": dict(context)},
    }


# --- commands as buttons ----------------------------------------------------------------------------

# Teams opens a dialog only from a card, never from a typed command: help and the personal chat's answers
# carry a button per command (command key -> label and the route it opens).
COMMAND_BUTTONS = {
    "report": ("Report", Action.REPORT_OPEN),
    "myreports": ("My reports", Action.MY_REPORTS),
    "hotlines": ("Nuisance call lines", Action.INFO_HOTLINES),
    "takedown": ("Takedown request", Action.INFO_TAKEDOWN),
    "staysafe": ("Stay safe", Action.INFO_STAYSAFE),
}
ADMIN_BUTTONS = {"reminders": ("Awareness reminders", Action.REMINDERS)}


def command_buttons(*, admin: bool = False) -> tuple[Button, ...]:
    """A button for each command a person may use (admins' too, for admins); Report first and primary."""
    table = COMMAND_BUTTONS | (ADMIN_BUTTONS if admin else {})
    return tuple(Button(label, action, style=Style.PRIMARY if key == "report" else Style.DEFAULT)
                 for key, (label, action) in table.items())


def with_buttons(reply: Reply, buttons: tuple[Button, ...]) -> Reply:
    """The reply with `buttons` added to its last card (or on a card of their own)."""
    if not reply.cards:
        return Reply(text=reply.text, cards=(Card(title="", buttons=buttons),))
    last = reply.cards[-1]
    kept = tuple(b for b in buttons if b not in last.buttons)
    return Reply(text=reply.text, cards=(*reply.cards[:-1], replace(last, buttons=last.buttons + kept)))
