"""Older stored documents mapped to today's records, so a data folder from an earlier version still loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.domain.platform import platform_of
from bot.domain.ports import Changes, Store
from bot.domain.report import Delivery, OutboxItem, OutboxState

Doc = Mapping[str, Any]

# Which typed field an outbox item's old `detail` meant, by kind (the rest named a lead or admin by tag).
_DETAIL_FIELD = {
    Delivery.EVIDENCE.value: "file_ref",
    Delivery.REMINDER.value: "channel",
    Delivery.REPORTER_UPDATE.value: "update",
}
_CLOSED_AS = {"cancelled": OutboxState.CANCELLED, "undeliverable": OutboxState.UNDELIVERABLE}


def outbox_item(doc: Doc) -> dict[str, Any]:
    """An outbox document from before item states: `detail` split by kind, `last_error` read as a state.

    Before, `last_error` was "sending" (a try under way), "refused: <code>", "cancelled",
    "undeliverable", or a failure's class name; items carried no platform, which a reminder post's
    channel gives (for the rest, see `adopt_legacy_items`).
    """
    new = {k: v for k, v in doc.items() if k not in ("detail", "last_error")}
    detail, last_error = str(doc.get("detail") or ""), str(doc.get("last_error") or "")
    if detail:
        new[_DETAIL_FIELD.get(str(doc.get("kind")), "recipient")] = detail
    if "channel" in new and "platform" not in new:
        new["platform"] = platform_of(new["channel"])
    done = doc.get("delivered_at") is not None
    if last_error.startswith(OutboxState.REFUSED.value):
        new |= {"state": OutboxState.REFUSED.value, "error": "PermanentFailure",
                "refusal": last_error.partition(":")[2].strip()}
    elif done:
        new["state"] = _CLOSED_AS.get(last_error, OutboxState.SENT).value
    elif last_error == "sending":
        # A try was under way when the old version stopped: a lapsed claim, looked up before resending.
        new |= {"state": OutboxState.SENDING.value, "uncertain": True}
    else:
        new |= {"state": OutboxState.PENDING.value, "error": last_error,
                "uncertain": last_error == "UncertainDelivery"}
    return new


# record class -> (the field every current document has, the mapping for documents without it)
UPGRADES: dict[type, tuple[str, Callable[[Doc], dict[str, Any]]]] = {OutboxItem: ("state", outbox_item)}


def adopt_unrouted(store: Store) -> int:
    """Give outbox items stored before items had a platform the platform they were meant for; how many.

    Runs once at start; cheap when done.
    """
    adopted = unrouted_items(store)
    if adopted:
        store.commit(Changes(outbox=tuple(adopted)))
    return len(adopted)


def unrouted_items(store: Store) -> list[OutboxItem]:
    """Outbox items stored before items had a platform, each given the platform it was meant for.

    Deployments then served one platform, so everything about a report was on its reporter's platform,
    and an admin's notice on its reminder's channels' platform.
    """
    adopted: list[OutboxItem] = []
    for report in store.all_reports():
        platform = platform_of(report.reporter_id)
        adopted += [replace(o, platform=platform) for o in store.outbox_of(report.id) if not o.platform]
    for reminder in store.reminders():
        for run in store.runs_of(reminder.id):
            platform = platform_of(run.channels[0]) if run.channels else ""
            adopted += [replace(o, platform=platform) for o in store.outbox_of_run(run.id)
                        if not o.platform and platform]
    return adopted
