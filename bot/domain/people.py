"""Finding the person a reporter names, by display name or user id, so a conflict of interest holds however they are named."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.domain.org import Organisation
from bot.domain.platform import local_id, platform_of, qualified_id

_PLAIN_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")  # a user id as typed on a platform with no directory


@dataclass(frozen=True)
class Named:
    """Who an answer names: a platform-qualified id, or why it names no one (ask again)."""

    user_id: str = ""
    problem: str = ""


def name_person(org: Organisation, answer: str, *, platform: str) -> Named:
    """The one configured person an answer names (case-insensitive, by full name, first name or user id).

    An unknown single word is taken as a user id (a colleague who is not a lead or admin); an unknown
    name, a near miss of a known one (unless typed as "@id"), or a name several people share is a
    problem to ask again about.
    """
    as_id = answer.strip().startswith("@")  # "@lea": this id, even if it is close to someone's name
    typed = " ".join(answer.strip().lstrip("@").split())
    wanted = typed.casefold()
    if not wanted:
        return Named()
    people = sorted(p for p in org.leads | org.backup_leads | org.admins | set(org.names) if platform_of(p) == platform)
    matches = [p for p in people if wanted in _names_for(org, p)]
    if len(matches) == 1:
        return Named(user_id=matches[0])
    if matches:
        choices = "; ".join(f"{org.names.get(p, local_id(p))} (type {local_id(p)})" for p in matches)
        return Named(problem=f"More than one person here is called {typed!r}: {choices}.")
    close = difflib.get_close_matches(wanted, [n for p in people for n in _names_for(org, p)], n=1, cutoff=0.75)
    if close and not as_id:
        person = next(p for p in people if close[0] in _names_for(org, p))
        return Named(problem=f"I don't know anyone called {typed!r}. Did you mean "
                             f"{org.names.get(person, local_id(person))}? Type their name or user id "
                             f"(or @{wanted.split()[0]} if that is someone's user id).")
    if _PLAIN_ID.fullmatch(wanted):
        return Named(user_id=qualified_id(platform, wanted))
    return Named(problem=f"I don't know anyone called {typed!r}. Type their user id (one word), or leave this "
                         "empty.")


def _names_for(org: Organisation, user_id: str) -> set[str]:
    """Every way to name this person: user id, full display name, first name, all case-folded."""
    names = {local_id(user_id).casefold(), user_id.casefold()}
    display = " ".join(org.names.get(user_id, "").split()).casefold()
    if display:
        names |= {display, display.split()[0]}
    return names
