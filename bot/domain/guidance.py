"""GuidanceEngine: the leaflet's decision rules, turned into next steps for one report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.domain.content import Content
from bot.domain.report import PHONE_CHANNELS, Adult, Nature, Perpetrator, Report


@dataclass(frozen=True)
class Step:
    """One next step, citing the content entry it comes from."""

    cite: str  # e.g. "advice/save-evidence"
    title: str
    text: str  # trusted markup, from content/
    urgent: bool = False


KNOWN_PEOPLE = frozenset({Perpetrator.SERVICE_USER, Perpetrator.LINKED, Perpetrator.COLLEAGUE})

Rule = Callable[[Report], Iterator[str]]


def _always(report: Report) -> Iterator[str]:
    # The leaflet: never respond or retaliate; save evidence; tell your manager.
    yield "advice/never-retaliate"
    yield "advice/save-evidence"
    yield "advice/tell-manager"


def _police(report: Report) -> Iterator[str]:
    # Threatening, abusive, sexist, sexual or hate content may be reported to the police.
    if report.possible_crime:
        yield "advice/police"


def _course_of_conduct(report: Report) -> Iterator[str]:
    # Two or more occasions can be a course of conduct (Protection from Harassment Act 1997, s.7).
    if report.course_of_conduct:
        yield "advice/course-of-conduct"


def _known_person(report: Report) -> Iterator[str]:
    # Service users, people linked to them and colleagues: the organisation's own procedures first.
    if report.perpetrator in KNOWN_PEOPLE:
        yield "advice/organisation-procedures"
    if report.perpetrator is Perpetrator.COLLEAGUE:
        yield "advice/colleague"


def _adult(report: Report) -> Iterator[str]:
    # A known adult: a senior colleague invites them to a meeting and asks for removal;
    # if they refuse, the organisation decides: report to the site, or seek advice.
    if report.perpetrator in KNOWN_PEOPLE and report.adult is Adult.YES:
        yield "advice/meet-adult"
        yield "advice/if-refused"


def _platform(report: Report) -> Iterator[str]:
    # Unknown or unresponsive people: report to the site; the helpline can mediate after that.
    if report.where in PHONE_CHANNELS:
        yield "advice/phone-provider"
        return
    if report.perpetrator is Perpetrator.UNKNOWN or report.adult is not Adult.YES:
        yield "advice/report-to-platform"
    if report.where not in {"email", "other"}:
        yield "advice/helpline-mediation"
        yield "advice/report-harmful-content"


def _identity(report: Report) -> Iterator[str]:
    # Impersonation and private information have their own routes and rules.
    if Nature.IMPERSONATION in report.natures:
        yield "advice/impersonation"
    if Nature.PRIVATE_INFO in report.natures:
        yield "advice/private-info"


def _support(report: Report) -> Iterator[str]:
    yield "advice/support"


RULES: tuple[Rule, ...] = (_always, _police, _course_of_conduct, _known_person, _adult, _platform, _identity, _support)

URGENT = frozenset({"advice/police"})


class GuidanceEngine:
    """Turns a report into ordered, de-duplicated next steps, each citing content."""

    def __init__(self, *, content: Content) -> None:
        self._content = content

    def citations(self, report: Report) -> list[str]:
        """The content entries that apply to this report, in the order to show them."""
        seen: dict[str, None] = {}
        for rule in RULES:
            for cite in rule(report):
                seen.setdefault(cite, None)
        return list(seen)

    def steps(self, report: Report) -> list[Step]:
        """The next steps for this report, urgent ones first."""
        steps = [self._step(cite) for cite in self.citations(report)]
        return sorted(steps, key=lambda step: not step.urgent)

    def _step(self, cite: str) -> Step:
        entry = self._content.advice_entry(cite)
        return Step(cite=cite, title=entry.title, text=entry.text, urgent=cite in URGENT)
