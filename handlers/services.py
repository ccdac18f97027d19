"""The services every handler receives: built once by the composition root, fakes in tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.limits import Limits
from bot.domain.markup import command
from bot.domain.org import Organisation
from bot.domain.platform import Capabilities, platform_of
from bot.domain.ports import Clock, Directory, NoDirectory, Store

_NO_DIRECTORY = NoDirectory()
_STRICTEST = Capabilities()


@dataclass(frozen=True, kw_only=True)
class Services:
    """Store, content, clock, organisation, guidance, command names, each platform's directory and abilities, limits."""

    store: Store
    content: Content
    clock: Clock
    org: Organisation
    guidance: GuidanceEngine
    limits: Limits = field(default_factory=Limits)  # per person, so no one crowds out everyone else
    commands: Mapping[str, str] = field(default_factory=dict)  # command key -> the name app.yaml gives it
    directories: Mapping[str, Directory] = field(default_factory=dict)  # by platform (none: NoDirectory)
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)  # by platform (none: the strictest)

    def directory_for(self, qualified_id: str) -> Directory:
        """The directory of the platform a person or channel is on (by its platform-qualified id)."""
        return self.directories.get(platform_of(qualified_id), _NO_DIRECTORY)

    def capabilities_on(self, platform: str) -> Capabilities:
        """What a platform can do and take (the strictest values the core supports if it has not said)."""
        return self.capabilities.get(platform, _STRICTEST)

    def command(self, key: str, args: str = "") -> str:
        """A command as markup, under the organisation's name for it (each renderer shows it its own way)."""
        return command(self.commands.get(key, key), args)
