"""Reading who acted and what they pressed from any Slack payload; inbound payloads may be forged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.errors import StaffSafeError
from bot.domain.org import Actor
from bot.domain.platform import SLACK, qualified_id

Body = dict[str, Any]


def actor_of(body: Body) -> Actor:
    """Who is acting, from any payload; the id is Slack's, qualified."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id, name = user.get("id"), user.get("name") or user.get("username")
    else:
        user_id, name = body.get("user_id") or (body.get("event") or {}).get("user"), body.get("user_name")
    if not isinstance(user_id, str) or not user_id:
        raise StaffSafeError("I could not tell who you are. Please try again from Slack.")
    return Actor(id=qualified_id(SLACK, user_id), name=str(name or ""))


def button_value(body: Body) -> str:
    """The pressed button's value: an id, never content."""
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def ack_only(ack: Callable[..., None]) -> None:
    """Acknowledge with nothing to show: the work follows in a lazy listener."""
    ack()
