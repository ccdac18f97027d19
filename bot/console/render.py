"""Card -> plain terminal text. User text is made inert: control characters cannot move the cursor."""

from __future__ import annotations

import re
import textwrap

from bot.domain.markup import plain
from bot.domain.ui import Card, Field, FieldKind, Reply, Section
from bot.domain.visible import reveal_hidden

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")  # keeps \t and \n; drops ESC and friends
WIDTH = 78
QUOTE_RULE = "  " + "┄" * 20


def inert(text: str) -> str:
    """User text with terminal control sequences (ANSI escapes, carriage returns) neutralised, hidden characters shown."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", reveal_hidden(text))


def markup_to_text(markup: str) -> str:
    """Our trusted markup as plain text: links as 'label (url)', bold as plain, commands as typed here."""
    return plain(markup, command_prefix="/")


def _wrap(text: str, indent: str = "  ") -> list[str]:
    lines = []
    for paragraph in text.splitlines() or [""]:
        bullet = paragraph.startswith("- ")
        # Never break inside a word: a web address cut in two cannot be copied or opened.
        lines += textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent + ("  " if bullet else ""),
                               break_long_words=False, break_on_hyphens=False) or [""]
    return lines


def render_section(section: Section) -> list[str]:
    """One section as lines."""
    lines = [f" {markup_to_text(section.heading)}"] if section.heading else []
    if section.body:
        lines += _wrap(markup_to_text(section.body))
    for fact in section.facts:
        value = inert(fact.value).replace("\n", "\n      ")
        lines.append(f"  • {fact.label}: {value}")
    if section.quote:
        # Flush left between rules, unwrapped: a letter is copied exactly as it is, with no gutter.
        lines += [QUOTE_RULE, *inert(section.quote).splitlines(), QUOTE_RULE]
    return lines


def render_card(card: Card) -> str:
    """A card as a framed block of text."""
    lines = [f"┌ {inert(card.title)}"]
    for section in card.sections:
        lines += render_section(section)
    if card.buttons:
        lines.append("  [" + "] [".join(b.label for b in card.buttons) + "]")
    lines.append("└")
    return "\n".join(lines)


def render_reply(reply: Reply) -> str:
    """A reply: its text, then its cards."""
    parts = [markup_to_text(reply.text)] if reply.text else []
    parts += [render_card(card) for card in reply.cards]
    return "\n".join(parts)


def field_prompt(field: Field) -> str:
    """The question for one form field, with numbered options."""
    lines = [f"? {field.label}" + ("" if field.required else " (optional: press Enter to skip)")]
    if field.hint:
        lines.append(f"  {field.hint}")
    for number, option in enumerate(field.options, 1):
        lines.append(f"  {number}. {option.label}")
    if field.kind is FieldKind.MULTI_SELECT:
        lines.append("  Type the numbers you want, separated by commas.")
    elif field.kind is FieldKind.DATE:
        lines.append("  Like 12/03/2026 or 12 March 2026, or 'today' or 'yesterday'.")
    elif field.kind is FieldKind.URLS:
        lines.append("  Separate several links with spaces.")
    elif field.kind is FieldKind.USER:
        lines.append("  Type their name or their user id (capitals don't matter).")
    return "\n".join(lines)
