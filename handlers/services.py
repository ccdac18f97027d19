"""The services every handler receives: built once by the composition root, fakes in tests."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.ports import Clock, Store


@dataclass(frozen=True, kw_only=True)
class Services:
    """Store, content, clock, organisation and guidance."""

    store: Store
    content: Content
    clock: Clock
    org: Organisation
    guidance: GuidanceEngine
