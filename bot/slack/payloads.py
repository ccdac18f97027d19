"""Reading who acted and what they pressed from any Slack payload; inbound payloads may be forged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.request.internals import parse_body

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


# --- what arrives at the front door ---------------------------------------------------------------
# A signed request is from Slack, but its shape is still checked before Bolt reads it: Bolt indexes
# into payloads freely, and a payload it cannot read must be a 400 with one line, not a traceback.

class Malformed(ValueError):
    """A signed request whose body is not a payload this app handles; the message is fixed wording."""


def parse_payload(text: str, content_type: str | None) -> Body:
    """The body as Bolt will read it (with Bolt's own parser), checked; Malformed if it cannot be used."""
    try:
        body = parse_body(text, content_type)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise Malformed("the body or its payload is not JSON") from None
    return check_payload(body)


def check_payload(body: object) -> Body:
    """A payload already parsed (a Socket Mode envelope's, or a body), checked; Malformed if it cannot be used."""
    if not isinstance(body, dict):
        raise Malformed("the body is not a JSON object")
    problem = _problem(body)
    if problem:
        raise Malformed(problem)
    return body


def _problem(body: Body) -> str:
    """Why this payload cannot be handled, or "" if its shape is one the listeners read."""
    if "command" in body or "ssl_check" in body:  # form fields, all strings as a form sends them
        if not all(isinstance(value, str) for value in body.values()):
            return "a command with a field of the wrong type"
        return "" if body.get("ssl_check") or body.get("user_id") else "a command without its user"
    kind = body.get("type")
    shared = _shared_problem(body)
    if shared:
        return shared
    if kind == "url_verification":
        return "" if _text(body, "challenge", required=True) else "a URL check without its challenge"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _text(event, "type", required=True):
            return "an event without its type"
        return "" if all(_text(event, key) for key in ("user", "tab", "channel")) else "an event of the wrong shape"
    if kind in ("block_actions", "view_submission"):
        user = body.get("user")
        if not isinstance(user, dict) or not _text(user, "id", required=True):
            return "an interaction without its user"
        return _actions_problem(body) if kind == "block_actions" else _view_problem(body.get("view"))
    return "a kind of payload this app does not handle"


_OBJECTS = ("team", "enterprise", "channel", "container", "message", "view", "user")
_TEXTS = ("team_id", "api_app_id", "trigger_id", "response_url", "event_id", "user_id", "type", "token")


def _shared_problem(body: Body) -> str:
    if not all(body.get(key) is None or isinstance(body[key], dict) for key in _OBJECTS):
        return "a payload with a field of the wrong type"
    if not all(_text(body, key) for key in _TEXTS):
        return "a payload with a field of the wrong type"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
            isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)):
        return "a payload with a field of the wrong type"
    return ""


def _actions_problem(body: Body) -> str:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not all(
            isinstance(a, dict) and _text(a, "action_id", required=True) and _text(a, "value") and _text(a, "block_id")
            for a in actions):
        return "button presses of the wrong shape"
    return ""


def _view_problem(view: object) -> str:
    if not isinstance(view, dict) or not _text(view, "callback_id", required=True) or view.get("type") != "modal":
        return "a form without its id, or not a modal"
    if not all(_text(view, key) for key in ("id", "hash", "private_metadata")):
        return "a form with a field of the wrong type"
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and _text(b, "block_id") and _text(b, "type")
                                               for b in blocks):
        return "a form whose blocks are of the wrong shape"
    state = view.get("state", {})
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
            for block in values.values()):
        return "a form whose answers are of the wrong shape"
    return ""


def _text(data: Body, key: str, *, required: bool = False) -> bool:
    """Whether data[key] is a string (non-empty if required); absent or null is fine unless required."""
    value = data.get(key)
    if value is None:
        return not required
    return isinstance(value, str) and (bool(value) or not required)


def workspace_of(body: Body) -> tuple[str, str]:
    """The (team id, app id) a payload says it comes from; "" where it does not say."""
    team = body.get("team") or {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team_id = body.get("team_id") or team.get("id") or user.get("team_id") or ""
    return (team_id if isinstance(team_id, str) else "", str(body.get("api_app_id") or ""))


def submission_key(view: Body) -> str:
    """What identifies one submission of a modal (its view id and hash), or "" if the view lacks either.

    Slack sends the same id and hash again when it retries, or when a signed request is replayed.
    """
    view_id, view_hash = view.get("id"), view.get("hash")
    if isinstance(view_id, str) and view_id and isinstance(view_hash, str) and view_hash:
        return f"slack:{view_id}:{view_hash}"
    return ""
