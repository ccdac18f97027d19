"""Platforms as the core sees them: platform-qualified ids and what each platform can do."""

from __future__ import annotations

from dataclasses import dataclass

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


def local_id(qualified: str) -> str:
    """The platform's own id inside a platform-qualified one ("slack:U123" -> "U123")."""
    return QualifiedId.parse(qualified).local


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What one platform can do and how much it takes, consulted by handlers and renderers.

    The defaults are the strictest the core supports, so a platform that says nothing is safe.
    """

    private_reply_in_channel: bool = False  # a reply only the asker sees, inside a shared channel
    history_lookup: bool = False  # an uncertain send can be looked for before trying again
    max_text: int = 3000  # characters of one text answer or message section
    max_title: int = 24  # characters of a form's title
    max_blocks: int = 100  # items in one view (App Home, a form)
    max_options: int = 100  # choices in one list


SLACK_CAPABILITIES = Capabilities(private_reply_in_channel=True, history_lookup=True)
CONSOLE_CAPABILITIES = Capabilities(private_reply_in_channel=True, max_text=3000, max_title=80,
                                    max_blocks=10_000, max_options=10_000)
