"""Conversation references: kept when a platform tells us about an install or a first message."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.platform import ConversationRef, conversation_id_of
from bot.domain.ports import Changes
from handlers.services import Services


def remember_conversation(services: Services, *, target: str, service_url: str, conversation: str,
                          tenant: str = "") -> ConversationRef:
    """Keep how to reach `target` (a platform-qualified user or channel id) later; a commit only when it changed."""
    stored = services.store.conversation(target)
    fresh = ConversationRef(id=conversation_id_of(target), target=target, service_url=service_url,
                            conversation=conversation, tenant=tenant, updated_at=services.clock.now())
    if stored is not None and replace(stored, updated_at=fresh.updated_at) == fresh:
        return stored  # every message carries the reference: do not write for each one
    services.store.commit(Changes(conversations=(fresh,)))
    return fresh


def forget_conversation(services: Services, *, target: str) -> None:
    """The app was removed from this conversation: keep a reference with no conversation (see `reachable`)."""
    stored = services.store.conversation(target)
    if stored is not None and reachable(stored):
        remember_conversation(services, target=target, service_url="", conversation="", tenant=stored.tenant)


def reachable(reference: ConversationRef | None) -> bool:
    """Whether a stored reference still leads somewhere (an uninstall leaves one without a conversation)."""
    return reference is not None and bool(reference.conversation and reference.service_url)
