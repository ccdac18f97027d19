"""Our trusted markup, tokenised once for every renderer (Slack mrkdwn, console text, Adaptive Cards).

The grammar, one paragraph or bullet a line after `reflow`:
- a line starting "- " is a bullet; a blank line ends a paragraph;
- `**bold**` (on one line; may hold links and commands);
- `[label](https://...)`: a link, only to an http(s) URL without spaces (anything else stays text);
- `[[name args]]`: a command as a person types it, e.g. `[[hotlines o2]]` (see `command`): each renderer
  shows it its own way (Slack `/hotlines o2`), so core strings never carry a `/` or backticks.
- `\\*`, `\\[`, `\\]` and `\\\\` stand for the character itself: `literal(text)` writes user text so
  (a name someone typed, quoted in a message), so it can never become bold, a link or a command.

Renderers map tokens and escape each token's text themselves: markup is trusted, but no renderer has to
re-parse its output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

BULLET = "- "
_URL = r"https?://[^\s)]+"  # what a link may point to; `|` and `>` are the renderers' concern
_SPECIAL = "\\*[]"  # what `literal` escapes with a backslash
_INLINE = re.compile(
    r"\\(?P<escaped>[\\*\[\]])"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\[\[(?P<command>[^\[\]\s][^\[\]]*?)\]\]"
    r"|\[(?P<label>(?:\\.|[^\]\\])+)\]\((?P<target>[^)]*)\)"  # a label may hold escapes, not a bare ]
)
_ESCAPED = re.compile(r"\\([\\*\[\]])")
_IS_URL = re.compile(_URL)


class Kind(Enum):
    """What a piece of a line is."""

    TEXT = "text"
    LINK = "link"  # `text` is the label, `target` the URL
    COMMAND = "command"  # `text` is the command name, `target` its arguments ("" for none)
    BOLD_START = "bold_start"
    BOLD_END = "bold_end"


@dataclass(frozen=True)
class Token:
    """One piece of a line."""

    kind: Kind
    text: str = ""
    target: str = ""


@dataclass(frozen=True)
class Line:
    """A paragraph line or a bullet; an empty paragraph is the gap between paragraphs."""

    tokens: tuple[Token, ...]
    bullet: bool = False


def command(name: str, args: str = "") -> str:
    """A command, as markup, under the name the organisation configured, e.g. command("hotlines", "o2")."""
    return f"[[{name} {args}]]" if args.strip() else f"[[{name}]]"


def reflow(text: str) -> str:
    """Join hard-wrapped lines, so each paragraph or bullet is one line that any renderer can wrap.

    A line after a bullet continues it only if indented; otherwise it starts a new paragraph (as in
    "- note who posted it" followed by "Share copies only with...").
    """
    blocks: list[str] = []
    joining = False  # whether the next non-blank line may continue the last block
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            if blocks and blocks[-1]:
                blocks.append("")
            joining = False
        elif joining and not stripped.startswith(BULLET) and (
                line[:1].isspace() or not blocks[-1].startswith(BULLET)):
            blocks[-1] += " " + stripped
        else:
            blocks.append(stripped)
            joining = True
    return "\n".join(blocks).strip()


def parse(markup: str) -> list[Line]:
    """The markup's lines as tokens; text outside any token is kept as TEXT, unchanged."""
    lines = []
    for raw in markup.split("\n"):
        bullet = raw.startswith(BULLET)
        lines.append(Line(tuple(inline(raw[len(BULLET):] if bullet else raw)), bullet=bullet))
    return lines


def inline(text: str) -> list[Token]:
    """One line's tokens."""
    tokens: list[Token] = []
    start = 0
    for match in _INLINE.finditer(text):
        if match.group("label") is not None and not _is_url(match.group("target")):
            continue  # not a link we make: left as the text it is
        _text(tokens, text[start:match.start()])
        start = match.end()
        if match.group("escaped") is not None:
            _text(tokens, match.group("escaped"))
        elif match.group("bold") is not None:
            tokens += [Token(Kind.BOLD_START), *inline(match.group("bold")), Token(Kind.BOLD_END)]
        elif match.group("command") is not None:
            name, _, args = match.group("command").strip().partition(" ")
            tokens.append(Token(Kind.COMMAND, name, args.strip()))
        else:
            tokens.append(Token(Kind.LINK, _ESCAPED.sub(r"\1", match.group("label")), match.group("target")))
    _text(tokens, text[start:])
    return tokens


def _text(tokens: list[Token], text: str) -> None:
    if not text:
        return
    if tokens and tokens[-1].kind is Kind.TEXT:  # an escaped character joins the text around it
        tokens[-1] = Token(Kind.TEXT, tokens[-1].text + text)
    else:
        tokens.append(Token(Kind.TEXT, text))


def literal(text: str) -> str:
    """User text made safe to put inside our markup: shown as written, never bold, a link or a command."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


def quoted(text: str) -> str:
    """User text quoted in a message, as Python's repr quotes it, and safe inside our markup (see literal)."""
    return literal(repr(text))


def _is_url(target: str) -> bool:
    return _IS_URL.fullmatch(target) is not None


def bad_links(markup: str) -> list[str]:
    """Targets of `[label](target)` that are not http(s) URLs: content must not hold them."""
    return [m.group("target") for m in _INLINE.finditer(markup)
            if m.group("label") is not None and not _is_url(m.group("target"))]


def plain(markup: str, *, command_prefix: str = "/") -> str:
    """The markup as plain words: links as 'label (url)', bold dropped, commands with `command_prefix`."""
    out = []
    for line in parse(markup):
        words = "".join(_plain_token(token, command_prefix) for token in line.tokens)
        out.append(BULLET + words if line.bullet else words)
    return "\n".join(out)


def _plain_token(token: Token, command_prefix: str) -> str:
    if token.kind is Kind.LINK:
        return f"{token.text} ({token.target})"
    if token.kind is Kind.COMMAND:
        return command_prefix + " ".join(filter(None, (token.text, token.target)))
    return token.text
