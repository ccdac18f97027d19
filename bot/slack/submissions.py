"""Modal submissions: the answers in Slack's view state, read against the form the route built.

Every route authorises the submitter itself (a forged view from a non-lead is refused and audited),
so this module only translates.
"""

from __future__ import annotations

from bot.slack.payloads import Body


def view_state(view: Body) -> dict:
    """The submitted answers, `view.state.values`, or {} for a malformed payload."""
    return ((view or {}).get("state") or {}).get("values") or {}
