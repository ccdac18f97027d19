"""Platforms as the core sees them: platform-qualified ids and what each platform can do."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

SLACK = "slack"
CONSOLE = "console"


@dataclass(frozen=True, order=True)
class QualifiedId:
    """A person's or channel's id on one platform ("slack:U123", "console:sam", "teams:29:1a-b").

    Only the first ":" separates the platform: the platform's own id may contain more (Teams ids do).
    """

    platform: str
    local: str

    @classmethod
    def parse(cls, qualified: str) -> QualifiedId:
        """Split "platform:id"; an id without a platform has platform "" (unknown)."""
        platform, colon, local = qualified.partition(":")
        return cls(platform=platform, local=local) if colon else cls(platform="", local=qualified)

    def __str__(self) -> str:
        return f"{self.platform}:{self.local}" if self.platform else self.local


def platform_of(qualified: str) -> str:
    """The platform of a platform-qualified id ("" if it names none)."""
    return QualifiedId.parse(qualified).platform


def qualified_id(platform: str, local: str) -> str:
    """A platform's own id made platform-qualified ("slack", "U123" -> "slack:U123")."""
    return str(QualifiedId(platform=platform, local=local))


def local_id(qualified: str) -> str:
    """The platform's own id inside a platform-qualified one ("slack:U123" -> "U123")."""
    return QualifiedId.parse(qualified).local


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What one platform can do and how much it takes, consulted by handlers and renderers.

    The defaults are the strictest the core supports, so a platform that says nothing is safe.
    """

    # A Reply is always private: a platform without this answers a command typed in a shared channel
    # in a private chat instead (its adapter's transport decides; Slack replies ephemerally).
    private_reply_in_channel: bool = False
    # An uncertain send can be looked for before trying again; without it the outbox warns it may show twice.
    history_lookup: bool = False
    max_text: int = 3000  # characters of one typed answer (Slack's plain_text_input holds 3,000)
    max_title: int = 24  # characters of a form's title (Slack's modal title holds 24)
    home_cases: int = 15  # open cases a home view lists one by one (Slack's 100 blocks hold 15 and the rest)
    # Forms take no files: a reporter sends screenshots in the chat after the report, and the receipt says how.
    files_after_form: bool = False
    # Stored files can be sent to a lead as files of their own (an export's copy of each screenshot).
    file_copies: bool = False


STRICTEST = Capabilities()  # for a platform that has not said what it can do



@dataclass(frozen=True, kw_only=True)
class ConversationRef:
    """How a platform reaches one person or channel unprompted (Teams cannot message anyone without one).

    Kept from the platform's install and first-message events, read by its notifier. Slack needs none.
    The id is derived from the target (see `conversation_id_of`), so one target has one reference.
    """

    id: str
    target: str  # the platform-qualified user or channel id
    service_url: str  # the platform's service address for this conversation
    conversation: str  # the platform's id of the conversation itself
    tenant: str = ""  # the organisation's tenant on the platform, where it has one
    updated_at: datetime

    @property
    def platform(self) -> str:
        """The platform the reference belongs to."""
        return platform_of(self.target)


def conversation_id_of(target: str) -> str:
    """The record id of a target's conversation reference: a hash, so no user id is stored in the clear."""
    return "conv:" + hashlib.sha256(target.encode()).hexdigest()[:32]
