"""Inbound Bot Framework activities: the shape this app reads, checked once, and the ids it takes from them.

An activity is JSON sent by the Bot Connector. Only the fields read here are checked; everything else
is ignored. `Malformed` names the first problem in fixed words (never the activity's own content).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.org import Actor
from bot.domain.platform import qualified_id
from bot.teams.capabilities import TEAMS

MAX_ID = 512  # Teams' ids are far shorter; anything longer is not from Teams

Json = dict[str, Any]


class Malformed(ValueError):
    """An activity this app cannot read; the message is fixed wording, safe to log."""


@dataclass(frozen=True, kw_only=True)
class Activity:
    """The parts of one activity the adapter reads."""

    type: str
    id: str
    name: str  # an invoke's name ("task/fetch"), else ""
    service_url: str
    channel_id: str
    conversation_id: str
    conversation_type: str  # "personal", "channel" or "groupChat"
    tenant: str
    from_id: str  # the Teams user id ("29:...")
    from_aad: str  # the Entra object id: the id app.yaml holds for Teams people
    from_name: str
    text: str
    value: Any  # an invoke's value, or a card's submitted data on a message
    action: str  # installationUpdate's "add"/"remove"
    members_added: tuple[str, ...] = ()
    members_removed: tuple[str, ...] = ()
    recipient_id: str = ""  # the bot's own id in this conversation
    attachments: tuple[Json, ...] = ()
    time_zone: str = ""  # the IANA zone the sender's client reported ("Europe/London"), if any
    raw: Json = field(default_factory=dict, repr=False)

    @property
    def personal(self) -> bool:
        """Whether this is the person's 1:1 chat with the bot."""
        return self.conversation_type == "personal"

    @property
    def bot_added(self) -> bool:
        """Whether the bot itself joined the conversation (install in a team, chat or personal scope)."""
        return bool(self.recipient_id) and self.recipient_id in self.members_added

    @property
    def bot_removed(self) -> bool:
        """Whether the bot itself left the conversation (uninstall)."""
        return bool(self.recipient_id) and self.recipient_id in self.members_removed

    def actor(self) -> Actor:
        """The person who acted, by their platform-qualified Entra object id."""
        return Actor(id=qualified_id(TEAMS, self.from_aad), name=self.from_name)


def parse_activity(body: object) -> Activity:
    """The activity in a parsed JSON body, its shape checked; Malformed names what is wrong."""
    if not isinstance(body, dict):
        raise Malformed("the body is not a JSON object")
    kind = _text(body, "type", required=True)
    conversation = _object(body, "conversation")
    sender = _object(body, "from")
    channel_data = _object(body, "channelData")
    tenant = _text(_object(channel_data, "tenant"), "id") or _text(conversation, "tenantId")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise Malformed("attachments must be a list of objects")
    text = body.get("text") or ""
    if not isinstance(text, str):
        raise Malformed("text must be a string")
    return Activity(
        type=kind,
        id=_text(body, "id"),
        name=_text(body, "name", required=kind == "invoke"),
        service_url=_text(body, "serviceUrl", required=True),
        channel_id=_text(body, "channelId", required=True),
        conversation_id=_text(conversation, "id", required=True),
        conversation_type=_text(conversation, "conversationType") or "personal",
        tenant=tenant,
        from_id=_text(sender, "id"),
        from_aad=_text(sender, "aadObjectId"),
        from_name=_text(sender, "name"),
        text=text,
        value=body.get("value"),
        action=_text(body, "action"),
        members_added=_member_ids(body, "membersAdded"),
        members_removed=_member_ids(body, "membersRemoved"),
        recipient_id=_text(_object(body, "recipient"), "id"),
        attachments=tuple(attachments),
        time_zone=_time_zone(body),
        raw=body,
    )


def _time_zone(body: Json) -> str:
    """The sender's time zone: `localTimezone`, or the clientInfo entity's; "" if neither is a short string."""
    entities = body.get("entities")
    info = [e for e in entities if isinstance(e, dict) and e.get("type") == "clientInfo"] \
        if isinstance(entities, list) else []
    for zone in (body.get("localTimezone"), *(e.get("timezone") for e in info)):
        if isinstance(zone, str) and 0 < len(zone) <= 64:
            return zone
    return ""


def _object(body: Json, key: str) -> Json:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{key} must be an object")
    return value


def _text(body: Json, key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise Malformed(f"{key} is missing")
        return ""
    if not isinstance(value, str) or len(value) > MAX_ID:
        raise Malformed(f"{key} must be a short string")
    return value


def _member_ids(body: Json, key: str) -> tuple[str, ...]:
    members = body.get(key) or []
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise Malformed(f"{key} must be a list of members")
    return tuple(_text(m, "id") for m in members)
