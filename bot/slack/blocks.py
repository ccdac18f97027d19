"""Neutral cards and replies -> Slack Block Kit blocks. Pure functions: no network, no Bolt.

Trust: user text (fact values, quotes) is escaped and sent `verbatim`, so `<!channel>`, `<@U123>` and
`<http://x|y>` stay inert and Slack does not auto-link names or URLs in it. Our markup (`Section.body`,
reply text) goes through `mrkdwn()`, which escapes first and then adds only the formatting we chose.

Buttons: `action_id` is always the button's action, so a listener matches it exactly. Slack requires
action ids to be unique within one actions block, so a repeated action starts a new actions block
instead of getting a suffix the listeners would have to strip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.domain.markup import Kind, Token, parse, plain
from bot.domain.ui import Button, Card, Fact, Reply, Section, Style
from bot.domain.visible import reveal_hidden

MAX_TEXT = 3000  # a section's text object
MAX_FIELDS = 10  # fields per section block
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS = 25  # elements per actions block
MAX_MESSAGE_BLOCKS = 50
MAX_HOME_BLOCKS = 100
LONG_FACT = 1900  # a longer fact reads better as its own block, and a field holds only 2000
LONG_FACT_LINES = 10  # so does one of many lines: a two-column field of links is hard to read

_ENTITY = re.compile(r"&(amp|lt|gt);")


def escape(text: str) -> str:
    """Untrusted text made inert for Slack: hidden characters shown, & < > as entities."""
    return reveal_hidden(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_token(token: Token) -> str:
    if token.kind is Kind.LINK:
        label = escape(token.text).replace("|", "").replace("&gt;", "")  # either would end the label early
        return f"<{escape(token.target).replace('|', '%7C')}|{label}>"
    if token.kind is Kind.COMMAND:
        return f"`/{escape(' '.join(filter(None, (token.text, token.target))))}`"
    if token.kind in (Kind.BOLD_START, Kind.BOLD_END):
        return "*"
    return escape(token.text)


def mrkdwn(markup: str) -> str:
    """Our trusted markup as Slack mrkdwn: bold, http(s) links, commands and bullets; all text escaped."""
    return "\n".join(("• " if line.bullet else "") + "".join(_mrkdwn_token(t) for t in line.tokens)
                      for line in parse(markup))


def user_text(text: str) -> dict[str, object]:
    """A mrkdwn text object for untrusted text: escaped, and verbatim so nothing is auto-linked."""
    return {"type": "mrkdwn", "text": escape(text), "verbatim": True}


def _md(text: str, *, verbatim: bool = False) -> dict[str, object]:
    return {"type": "mrkdwn", "text": text, **({"verbatim": True} if verbatim else {})}


def cut(text: str, limit: int) -> str:
    """Escaped text cut to `limit` characters without splitting an entity such as &amp;."""
    if len(text) <= limit:
        return text
    end = limit
    amp = text.rfind("&", max(0, end - 4), end)
    entity = _ENTITY.match(text, amp) if amp != -1 else None
    if entity and entity.end() > end:
        end = amp
    return text[:end]


def _pieces(line: str, limit: int) -> Iterator[str]:
    """One over-long line as pieces, cut at a space where there is one (so links and words survive)."""
    while len(line) > limit:
        head = cut(line, limit)
        space = head.rfind(" ", limit // 2)
        head = head[: space + 1] if space > 0 else head or line[:limit]  # never an empty piece
        yield head
        line = line[len(head):]
    yield line


def chunks(lines: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Lines packed into texts of at most `limit` characters, split only between lines if possible."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in (piece for line in lines for piece in _pieces(line, limit)):
        if current and size + 1 + len(line) > limit:
            out.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    if current:
        out.append("\n".join(current))
    return [text for text in out if text.strip()]


def _text_sections(lines: list[str], *, verbatim: bool) -> list[dict[str, object]]:
    return [{"type": "section", "text": _md(text, verbatim=verbatim)} for text in chunks(lines)]


def _fact_field(fact: Fact) -> str:
    label = f"*{escape(fact.label)}*" if fact.label.strip() else ""
    return "\n".join(part for part in (label, escape(fact.value)) if part)


def _fact_blocks(facts: tuple[Fact, ...]) -> list[dict[str, object]]:
    """Short facts as two-column fields (10 a block); a long one as its own text, split under the limit."""
    blocks: list[dict[str, object]] = []
    fields: list[dict[str, object]] = []
    for text, fact in ((_fact_field(fact), fact) for fact in facts):
        if len(text) > LONG_FACT or fact.value.count("\n") >= LONG_FACT_LINES:
            blocks += [{"type": "section", "fields": fields}] if fields else []
            fields = []
            blocks += _text_sections(text.split("\n"), verbatim=True)
        elif text:
            fields.append(_md(text, verbatim=True))
            if len(fields) == MAX_FIELDS:
                blocks.append({"type": "section", "fields": fields})
                fields = []
    return blocks + ([{"type": "section", "fields": fields}] if fields else [])


def _with_heading(heading: str, blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    """The heading joined to the first block's text (or set above its fields) to save blocks.

    Headings may carry a reference, so they are escaped and, on their own, verbatim like user text.
    """
    if blocks and "fields" in blocks[0] and "text" not in blocks[0]:
        return [{**blocks[0], "text": _md(heading, verbatim=True)}, *blocks[1:]]
    first = blocks[0].get("text") if blocks else None
    if isinstance(first, dict) and len(heading) + 1 + len(first["text"]) <= MAX_TEXT:
        return [{**blocks[0], "text": {**first, "text": f"{heading}\n{first['text']}"}}, *blocks[1:]]
    return [{"type": "section", "text": _md(heading, verbatim=True)}, *blocks]


def render_section(section: Section) -> list[dict[str, object]]:
    """One section's blocks: heading, body, facts, then the quote."""
    blocks = _text_sections(mrkdwn(section.body).split("\n"), verbatim=False) if section.body else []
    blocks += _fact_blocks(section.facts)
    if section.quote:
        # Each piece of a long line gets its own "> " so the whole quote reads as quoted text.
        quoted = ["> " + piece for line in section.quote.splitlines()
                  for piece in _pieces(escape(line), MAX_TEXT - 2)]
        blocks += _text_sections(quoted, verbatim=True)
    if section.heading.strip():
        blocks = _with_heading(f"*{cut(escape(section.heading), MAX_TEXT - 2)}*", blocks)
    return blocks


def _button(button: Button) -> dict[str, object]:
    if len(button.value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value for {button.action} is over {MAX_BUTTON_VALUE} characters")
    element: dict[str, object] = {
        "type": "button",
        "action_id": str(button.action),
        "text": {"type": "plain_text", "text": button.label[:MAX_BUTTON_TEXT], "emoji": True},
    }
    if button.value:
        element["value"] = button.value
    if button.style is not Style.DEFAULT:
        element["style"] = button.style.value
    return element


def _actions(buttons: tuple[Button, ...], key: str) -> list[dict[str, object]]:
    """Buttons in actions blocks: a new block at 25 buttons or at a repeated action id."""
    groups: list[list[Button]] = []
    for button in buttons:
        if not groups or len(groups[-1]) == MAX_ACTIONS or any(b.action == button.action for b in groups[-1]):
            groups.append([])
        groups[-1].append(button)
    return [{"type": "actions", "block_id": "-".join(filter(None, ("actions", key, str(n)))),
             "elements": [_button(b) for b in group]} for n, group in enumerate(groups)]


def render_card(card: Card, *, key: str = "") -> list[dict[str, object]]:
    """A card's blocks; `key` keeps actions block ids unique when several cards share a message."""
    blocks: list[dict[str, object]] = []
    if card.title.strip():
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": card.title[:MAX_HEADER], "emoji": True}})
    for section in card.sections:
        blocks += render_section(section)
    return blocks + _actions(card.buttons, key)


def card_fallback(card: Card) -> str:
    """The notification text for a card: its summary or title, escaped."""
    return cut(escape(card.summary or card.title), MAX_TEXT)


def _divider() -> dict[str, object]:
    return {"type": "divider"}  # a fresh dict each time: callers may annotate blocks in place


Message = tuple[str, list[dict[str, object]]]


@dataclass
class _Message:
    fallback: str
    has_card: bool
    blocks: list[dict[str, object]]


def render_reply(reply: Reply) -> list[Message]:
    """A reply as messages of (fallback, blocks) within 50 blocks each; a card splits only if over 50."""
    parts: list[tuple[str, bool, list[dict[str, object]]]] = []  # (fallback, is a card, blocks)
    if reply.text.strip():
        text_blocks = _text_sections(mrkdwn(reply.text).split("\n"), verbatim=False)
        parts.append((cut(escape(plain(reply.text)), MAX_TEXT), False, text_blocks))
    parts += [(card_fallback(card), True, render_card(card, key=str(n))) for n, card in enumerate(reply.cards)]
    messages: list[_Message] = []
    for fallback, is_card, blocks in parts:
        for start in range(0, len(blocks), MAX_MESSAGE_BLOCKS):
            piece = blocks[start:start + MAX_MESSAGE_BLOCKS]
            if messages and len(messages[-1].blocks) + 1 + len(piece) <= MAX_MESSAGE_BLOCKS:
                messages[-1].blocks += [_divider(), *piece]
                if is_card and not messages[-1].has_card:  # the first card names the notification
                    messages[-1].fallback, messages[-1].has_card = fallback, True
            else:
                messages.append(_Message(fallback, is_card, list(piece)))
    return [(m.fallback, m.blocks) for m in messages]


def render_home(cards: list[Card]) -> list[dict[str, object]]:
    """An App Home view's blocks: the cards with dividers, cut at a card with a note if over 100 blocks."""
    rendered = [blocks for n, card in enumerate(cards) if (blocks := render_card(card, key=str(n)))]
    joined = [block for n, blocks in enumerate(rendered) for block in ([_divider()] if n else []) + blocks]
    if len(joined) <= MAX_HOME_BLOCKS:
        return joined
    kept: list[dict[str, object]] = []
    for blocks in rendered:
        extra = ([_divider()] if kept else []) + blocks
        if len(kept) + len(extra) > MAX_HOME_BLOCKS - 1:
            break
        kept += extra
    kept = kept or rendered[0][: MAX_HOME_BLOCKS - 1]  # one card too big on its own: show its start
    note = "_The list was cut here: it is too long for this page._"
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
