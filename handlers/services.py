"""The services every handler receives: built once by the composition root, fakes in tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.ports import Clock, Directory, NoDirectory, Store


@dataclass(frozen=True, kw_only=True)
class Services:
    """Store, content, clock, organisation, guidance, and what the platform knows (its directory)."""

    store: Store
    content: Content
    clock: Clock
    org: Organisation
    guidance: GuidanceEngine
    directory: Directory = field(default_factory=NoDirectory)
