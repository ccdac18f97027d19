"""Delivery on Teams: outbox items become Connector calls into stored conversations.

Teams cannot message anyone it has not been introduced to: every destination is found through a
conversation reference kept from install and message events (handlers/conversations.py). The leads'
channel is app.yaml's `lead_channel.teams` (a channel of a leads-only team); without one, each lead
is told in their personal chat. Used only by the outbox worker: the Connector client maps failures to
the core's TemporaryFailure / RateLimited / UncertainDelivery / PermanentFailure, and the outbox
decides when to try again.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from bot.domain.platform import qualified_id
from bot.domain.ports import (Conversations, Destination, FetchedFile, NotReachable, OutgoingFile, PermanentFailure,
                              RecipientRefused)
from bot.domain.report import MAX_EVIDENCE_BYTES
from bot.domain.ui import Card, Document, Reply
from bot.teams.capabilities import TEAMS
from bot.teams.cards import message as message_of
from bot.teams.cards import render_one, render_reply, summary
from bot.teams.exports import ExportOffers
from bot.teams.outbound import Connector
from handlers.conversations import reachable

log = logging.getLogger(__name__)
T = TypeVar("T")

class Downloads(Protocol):
    """Fetching a file a user sent, with the bot's token, from the Connector's hosts only (tproto's client)."""

    def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """The file's bytes and media type; PermanentFailure for a host not allowed or a file too large."""
        ...


class TeamsNotifier:
    """Posts cards into the leads' channel and personal chats; uploads exports; fetches screenshots."""

    platform = TEAMS

    def __init__(self, *, connector: Connector, downloads: Downloads, conversations: Conversations,
                 lead_channel: str, exports: ExportOffers) -> None:
        self._connector = connector
        self._downloads = downloads
        self._conversations = conversations
        self._lead_channel = qualified_id(TEAMS, lead_channel) if lead_channel else ""
        self.exports = exports

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Post the card (in several messages if it is too big for one); returns the first one's id, to update it."""
        service_url, conversation = self._conversation(destination)
        sent = [_refusals(lambda m=m: self._connector.send(service_url, conversation, m))
                for m in render_reply(Reply(cards=(card,)))]
        return sent[0]

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Replace an alert sent earlier with the card as the case stands now."""
        service_url, conversation = self._conversation(destination)
        message = message_of(render_one(card), summary_text=summary(card))
        _refusals(lambda: self._connector.update(service_url, conversation, message_id, message))

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Offer an export as a file in the person's personal chat (they accept it into their OneDrive)."""
        service_url, conversation = self._conversation(destination)
        offer = self.exports.offer(document, item_id=idempotency_key)
        return _refusals(lambda: self._connector.send(service_url, conversation, offer))

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        """Refuse: Teams does not say it can send stored files (no `file_copies`), so none is ever queued."""
        raise PermanentFailure("stored files are not sent on Teams")

    @contextmanager
    def fetch_file(self, file_id: str) -> Iterator[FetchedFile]:
        """Download an image a reporter sent in their chat (its Connector address), with the bot's token.

        The download client gives the file whole (at most 10 MB): memory is bounded by that one file.
        """
        data, media_type = self._downloads.download(file_id, max_bytes=MAX_EVIDENCE_BYTES)
        extension = mimetypes.guess_extension(media_type.split(";")[0].strip()) or ".bin"
        yield FetchedFile(name=f"screenshot{extension}", media_type=media_type, chunks=(data,))

    def _conversation(self, destination: Destination) -> tuple[str, str]:
        """The service URL and conversation id of a destination, from its stored reference."""
        if destination.leads and not self._lead_channel:
            raise PermanentFailure("no lead_channel.teams in app.yaml")
        target = self._lead_channel if destination.leads else destination.channel or destination.user_id
        reference = self._conversations.conversation(target)
        if not reachable(reference):
            # Retried, not refused: the app may be installed any moment (`staffsafe check` names who has not).
            raise NotReachable("no conversation reference: the app is not installed there")
        assert reference is not None
        return reference.service_url, reference.conversation


# The Connector's refusals that no retry can change (Teams' 403 codes): the outbox closes the item.
REFUSALS = ("MessageWritesBlocked", "BotNotInConversationRoster", "ConversationBlockedByUser")


def _refusals(call: Callable[[], T]) -> T:
    """Run one Connector call; a refusal for good by the recipient becomes RecipientRefused."""
    try:
        return call()
    except RecipientRefused:
        raise
    except PermanentFailure as error:
        if any(code in str(error) for code in REFUSALS):
            raise RecipientRefused(str(error)) from None
        raise
