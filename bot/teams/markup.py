"""The core's markup and user text as Adaptive Card text for Teams. Pure functions.

Teams parses Markdown in every `TextBlock` and in `FactSet` titles and values, so only our trusted markup
(`Section.body`, reply text: the grammar of bot/domain/markup.py) goes into a TextBlock, with the text of
each token escaped. Everything else that can hold text we did not write (fact labels and values, quotes,
headings and titles that carry references or file names, errors that quote an answer) goes into a
`RichTextBlock` of `TextRun`s, which parse no Markdown, no `<at>` mentions and no HTML entities.

Both paths show invisible and reordering characters (`reveal_hidden`) and defuse the card's date
functions (`{{DATE(...)}}`, `{{TIME(...)}}`), which TextBlocks and TextRuns alike would rewrite.
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain.markup import Kind, Line, Token, parse
from bot.domain.visible import reveal_hidden

# Adaptive Cards rewrite "{{DATE(2026-01-01T00:00:00Z)}}" as a localised date. A zero-width space after the
# first brace breaks the function (the renderer then shows the text as written) and draws nothing.
DEFUSER = "\u200b"
_FUNCTION = re.compile(r"\{(?=\{\s*(?:DATE|TIME)\s*\()", re.IGNORECASE)
# Characters Markdown could take for formatting anywhere in a line; CommonMark lets any of them be escaped
# with a backslash. `&` only before what reads as an entity (`&amp;`, `&#60;`): elsewhere it is just text.
_INLINE_SPECIAL = re.compile(r"([\\*_`~\[\]<>])|&(?=#?\w+;)")
# What Markdown takes for a block at the start of a line: a heading, a quote, a list item or rule ("-", "+",
# "="), a numbered item ("1." or "1)").
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))", re.MULTILINE)  # each line of the text
_URL_UNSAFE = {"<": "%3C", ">": "%3E", "\\": "%5C", "(": "%28", ")": "%29", " ": "%20", '"': "%22"}


def defuse(text: str) -> str:
    """Text with the card's date and time functions broken, so they show as written."""
    return _FUNCTION.sub("{" + DEFUSER, text)


def plain_text(text: str) -> str:
    """Untrusted text for a TextRun: hidden characters shown as <U+XXXX>, date functions defused."""
    return defuse(reveal_hidden(text))


def escape_markdown(text: str, *, line_start: bool = True) -> str:
    """Text that reads literally inside a TextBlock's Markdown: every formatting character escaped, and
    (`line_start`: the text starts a line) what would start a heading, quote or list."""
    escaped = _INLINE_SPECIAL.sub(lambda m: "\\" + (m.group(1) or "&"), plain_text(text))
    return _LINE_START.sub(lambda m: m.group(1) + _escape_block(m.group(2)), escaped) if line_start else escaped


def _escape_block(marker: str) -> str:
    return marker + "\\" if marker.isdigit() else "\\" + marker  # "1." -> "1\.", "#" -> "\#"


def _url(target: str) -> str:
    return "".join(_URL_UNSAFE.get(ch, ch) for ch in reveal_hidden(target))


def command_words(name: str, args: str = "") -> str:
    """A command as a person types it in the personal chat with the bot: its name and arguments, no slash."""
    return " ".join(filter(None, (name, args)))


def _bold(inner: str) -> str:
    """`**inner**` with surrounding spaces kept outside (Markdown ignores `** x **`)."""
    stripped = inner.strip()
    if not stripped:
        return inner
    start = inner.index(stripped[0])
    return f"{inner[:start]}**{stripped}**{inner[start + len(stripped):]}"


def _line(tokens: tuple[Token, ...]) -> str:
    out: list[str] = []
    bold: list[str] | None = None  # the text of an open bold span
    for n, token in enumerate(tokens):
        target = bold if bold is not None else out
        if token.kind is Kind.BOLD_START:
            bold = []
        elif token.kind is Kind.BOLD_END:
            out.append(_bold("".join(bold or [])))
            bold = None
        elif token.kind is Kind.LINK:
            target.append(f"[{escape_markdown(token.text)}]({_url(token.target)})")
        elif token.kind is Kind.COMMAND:
            words = escape_markdown(command_words(token.text, token.target))
            target.append(words if bold is not None else f"**{words}**")  # bold already, inside a bold span
        else:
            target.append(escape_markdown(token.text, line_start=n == 0))
    if bold is not None:  # never happens with parse(); kept safe
        out.append("".join(bold))
    return "".join(out)


def markdown(markup: str) -> str:
    """Our trusted markup as TextBlock Markdown: bold, http(s) links, "- " bullets, commands in bold.

    Paragraphs are separated by a blank line; consecutive bullets by one newline, so they make one list.
    """
    return _markdown(parse(markup))


def _markdown(lines: list[Line]) -> str:
    parts: list[str] = []
    previous: Line | None = None
    for line in lines:
        if not line.tokens and not line.bullet:
            continue  # the gap between paragraphs: every paragraph is separated anyway
        text = ("- " if line.bullet else "") + _line(line.tokens)
        if parts:
            parts.append("\n" if line.bullet and previous is not None and previous.bullet else "\n\n")
        parts.append(text)
        previous = line
    return "".join(parts)


def _plain_line(line: Line) -> str:
    """A paragraph of plain text that Markdown would have to escape ("" for any other line)."""
    if line.bullet or not line.tokens or any(t.kind is not Kind.TEXT for t in line.tokens):
        return ""
    text = "".join(t.text for t in line.tokens)
    return text if escape_markdown(text) != plain_text(text) else ""


def markup_elements(markup: str) -> list[dict[str, Any]]:
    """Our trusted markup as card elements: Markdown TextBlocks, except that a plain paragraph holding
    characters Markdown would need escaped (a message quoting what someone typed) is a RichTextBlock, which
    needs no escapes: Teams clients have differed in how they read Markdown's backslash escapes."""
    elements: list[dict[str, Any]] = []
    pending: list[Line] = []
    for line in parse(markup):
        plain_line = _plain_line(line)
        if plain_line:
            if _markdown(pending):
                elements.append(_text_block(_markdown(pending)))
            pending = []
            elements.append(rich_text(text_run(plain_line)))
        else:
            pending.append(line)
    if _markdown(pending):
        elements.append(_text_block(_markdown(pending)))
    return elements


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True}


def text_run(text: str, **style: Any) -> dict[str, Any]:
    """A TextRun of untrusted text: Teams shows it as written, with no Markdown."""
    return {"type": "TextRun", "text": plain_text(text), **style}


def rich_text(*runs: dict[str, Any], **style: Any) -> dict[str, Any]:
    """A RichTextBlock of TextRuns (empty runs dropped)."""
    return {"type": "RichTextBlock", "inlines": [run for run in runs if run["text"]], **style}
