"""Case exports on Teams as files: a file consent card in the lead's personal chat, uploaded once accepted.

A bot cannot put a file in a chat directly: it offers one (a file consent card); when the person
accepts, Teams sends a `fileConsent/invoke` with an upload address in their OneDrive, the bot uploads
the file there and posts a file card. The offer carries the outbox item's id only: the document is
built again at acceptance, from the store, for the lead the item names (who must be the one
accepting), so no case text waits in memory or in the card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from bot.domain.ports import Changes
from bot.domain.report import Delivery
from bot.domain.routing import lead_destination
from bot.domain.ui import Document
from bot.teams.activity import Activity
from bot.teams.cards import file_consent
from bot.teams.outbound import ChatReplies
from handlers.export import case_document
from handlers.reports import audit
from handlers.services import Services

log = logging.getLogger(__name__)

FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
Json = dict[str, Any]


@dataclass(kw_only=True)
class ExportOffers:
    """Offers exports as files and uploads them once accepted."""

    services: Services
    http: requests.Session

    def offer(self, document: Document, *, item_id: str) -> Json:
        """The message offering the document as a file (ids only in its contexts)."""
        consent = file_consent(document, context={"item": item_id}, description=(
            "A confidential StaffSafe case export. Share it only with the people handling this case."))
        return {"type": "message", "text": "Your case export is ready: accept it to save it in your OneDrive.",
                "attachments": [consent]}

    def answer(self, activity: Activity, replies: ChatReplies) -> Json:
        """The answer to a fileConsent/invoke: on acceptance, the file uploaded and a file card posted."""
        value = activity.value if isinstance(activity.value, dict) else {}
        context = value.get("context") if isinstance(value.get("context"), dict) else {}
        if value.get("action") != "accept":
            return {}
        found = self._document(activity, str(context.get("item") or ""))
        upload = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
        url = str(upload.get("uploadUrl") or "")
        if found is None or urlsplit(url).scheme != "https":
            return {}  # not this person's export, or no upload address: nothing is sent anywhere
        document, report_id = found
        data = document.text.encode("utf-8")
        response = self.http.put(url, data=data, timeout=20, allow_redirects=False, headers={
            "Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"})
        if response.status_code not in (200, 201):
            log.warning("export upload answered %s", response.status_code)
            return {}
        now = self.services.clock.now()
        report = self.services.store.report(report_id)
        if report is not None:
            self.services.store.commit(Changes(audit=(audit(report, activity.actor(), "case.export_saved", now),)))
        card = {"type": "message", "attachments": [{
            "contentType": FILE_INFO, "name": str(upload.get("name") or document.filename),
            "contentUrl": str(upload.get("contentUrl") or ""),
            "content": {"uniqueId": str(upload.get("uniqueId") or ""), "fileType": str(upload.get("fileType") or "txt")}}]}
        replies.later(lambda: replies.reply(activity, [card]), "teams export file card")
        return {}

    def _document(self, activity: Activity, item_id: str) -> tuple[Document, str] | None:
        """The export an outbox item asked for, if the person accepting is the lead it was for."""
        store = self.services.store
        item = store.outbox_item(item_id) if item_id else None
        report = store.report(item.report_id) if item is not None and item.kind is Delivery.LEAD_EXPORT else None
        if item is None or report is None:
            return None
        lead = lead_destination(self.services.org, report, item)
        if lead is None or lead.user_id != activity.actor().id:
            return None
        return case_document(self.services, report, exporter_id=lead.user_id, at=item.due_at), report.id
