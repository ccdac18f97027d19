"""The services every handler receives: built once by the composition root, fakes in tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.markup import command
from bot.domain.org import Organisation
from bot.domain.ports import Clock, Directory, NoDirectory, Store


@dataclass(frozen=True, kw_only=True)
class Services:
    """Store, content, clock, organisation, guidance, command names, and what the platform knows (its directory)."""

    store: Store
    content: Content
    clock: Clock
    org: Organisation
    guidance: GuidanceEngine
    directory: Directory = field(default_factory=NoDirectory)
    commands: Mapping[str, str] = field(default_factory=dict)  # command key -> the name app.yaml gives it

    def command(self, key: str, args: str = "") -> str:
        """A command as markup, under the organisation's name for it (each renderer shows it its own way)."""
        return command(self.commands.get(key, key), args)
