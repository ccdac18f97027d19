"""Commands typed in a Teams chat: "help", "/hotlines o2", "@StaffSafe takedown facebook" -> (key, words)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

# Teams writes an @mention of the bot into the text as <at>Its Name</at>; other markup may wrap the text.
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,200}>")
MAX_TYPED = 400  # a command and its words; longer text is not a command


def typed_command(text: str, commands: Mapping[str, str]) -> tuple[str, str] | None:
    """The command key and the words after it, or None if the text names no command.

    `commands` maps each command key to the name app.yaml gives it. The name is matched without
    regard to case, with or without a leading "/", after any @mention of the bot is removed.
    """
    words = _plain(text)
    if not words or len(words) > MAX_TYPED:
        return None
    name, _, rest = words.partition(" ")
    by_name = {str(n).lower(): key for key, n in commands.items()}
    key = by_name.get(name.lstrip("/").lower())
    return (key, rest.strip()) if key else None


def _plain(text: str) -> str:
    """The text as typed: mentions and tags removed, entities decoded, spaces collapsed."""
    text = _TAG.sub(" ", _MENTION.sub(" ", text or ""))
    return " ".join(html.unescape(text).split())
