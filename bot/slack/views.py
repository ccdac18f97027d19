"""Modal views that show cards (a case, a letter, advice) or a result, and opening them in the right place."""

from __future__ import annotations

from typing import Any

from bot.domain.ui import Card, Reply
from bot.slack.blocks import render_card, render_reply

MAX_MODAL_BLOCKS = 100


def _modal(title: str, blocks: list[dict], close: str = "Close") -> dict:
    if len(blocks) > MAX_MODAL_BLOCKS:
        blocks = blocks[: MAX_MODAL_BLOCKS - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "(Shortened to fit Slack's limit.)"}]}
        ]
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24] or "StaffSafe"},
            "close": {"type": "plain_text", "text": close}, "blocks": blocks}


def card_modal(*cards: Card) -> dict:
    """A read-only modal showing cards (the buttons on them still work)."""
    blocks: list[dict] = []
    for n, card in enumerate(cards):
        if blocks:
            blocks.append({"type": "divider"})
        blocks += render_card(card, key=str(n) if n else "")  # block ids must be unique in a view
    return _modal(cards[0].title if cards else "StaffSafe", blocks)


def done_modal(title: str, reply: Reply) -> dict:
    """What a submitted form turns into: the outcome, and a button to close."""
    blocks = [block for _, message in render_reply(reply) for block in message]
    return _modal(title, blocks, close="Done")


def open_or_push(client: Any, body: dict, view: dict) -> None:
    """Open a modal, or push it onto the modal the person is already in (a button inside a case view)."""
    trigger_id = body.get("trigger_id")
    current = body.get("view") or {}
    if current.get("type") == "modal" and body.get("container", {}).get("type") == "view":
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)
