"""Images a reporter sends in their chat with the bot after a report: which are files, and for which report.

Adaptive Cards have no file input, so the receipt invites screenshots in the chat. An image pasted
into the chat arrives as an attachment whose content lives on the Connector's own host (fetched
later, with the bot's token, by the outbox: see TeamsNotifier.fetch_file). Files shared from
OneDrive/SharePoint carry links to other hosts and are not taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from bot.domain.org import Actor
from bot.domain.report_form import MAX_FILE_REF
from bot.domain.ui import Reply
from bot.teams.activity import Activity
from bot.teams.transport import friendly
from handlers.screenshots import add_screenshots
from handlers.services import Services

_REFERENCE = re.compile(r"\bSS[- ]?[A-Z0-9]{5}[- ]?[A-Z0-9]{5}\b", re.IGNORECASE)
SHARED_FILE = "application/vnd.microsoft.teams.file.download.info"


@dataclass(kw_only=True)
class Screenshots:
    """Turns images in a chat message into a report's screenshots."""

    services: Services
    window: timedelta  # images sent this long after a report are added to it without its reference

    def attached(self, activity: Activity) -> bool:
        """Whether the message carries images or files (not only its own text as HTML)."""
        return any(_is_file(a) for a in activity.attachments)

    def receive(self, actor: Actor, activity: Activity) -> Reply:
        """Queue the images for the report they belong to; what to tell the sender."""
        refs = [ref for a in activity.attachments if (ref := image_ref(a, activity.service_url))]
        shared = any(a.get("contentType") == SHARED_FILE for a in activity.attachments)
        if not refs:
            return Reply.say("Please paste or drop the images straight into this chat (files shared from "
                             "OneDrive or SharePoint cannot be added).")
        match = _REFERENCE.search(activity.text or "")
        try:
            reply = add_screenshots(self.services, actor, refs, reference=match.group(0) if match else "",
                                    window=self.window)
        except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
            return Reply.say(friendly(error, "teams screenshots"))
        if shared:
            return Reply(text=reply.text + "\n\nFiles shared from OneDrive or SharePoint were not added: "
                         "paste the images into this chat instead.")
        return reply


def _is_file(attachment: dict) -> bool:
    kind = str(attachment.get("contentType") or "")
    return kind.startswith("image/") or kind == SHARED_FILE


def image_ref(attachment: dict, service_url: str) -> str:
    """The download address of an image held by the Connector (same host as the service URL), or ""."""
    kind = str(attachment.get("contentType") or "")
    url = attachment.get("contentUrl")
    if not kind.startswith("image/") or not isinstance(url, str) or len(url) > MAX_FILE_REF:
        return ""
    try:
        host, service_host = urlsplit(url), urlsplit(service_url)
    except ValueError:
        return ""
    same_host = host.scheme == service_host.scheme and host.netloc == service_host.netloc
    return url if same_host and url.isprintable() and " " not in url else ""
