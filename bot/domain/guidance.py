"""GuidanceEngine: the leaflet's decision rules, turned into next steps for one report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.domain.content import Content
from bot.domain.report import PHONE_CHANNELS, Adult, Nature, Perpetrator, Report, Want


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


def _safeguarding(report: Report) -> Iterator[str]:
    # Sexual content or images of a child or young person (or sexual content from one): the
    # organisation's designated safeguarding lead and CEOP, whatever else applies.
    if is_safeguarding(report):
        yield SAFEGUARDING


def is_safeguarding(report: Report) -> bool:
    """Whether the report involves sexual content or images of a child or young person."""
    if Nature.CHILD_SEXUAL in report.natures:
        return True
    child = report.perpetrator is Perpetrator.SERVICE_USER and report.adult is not Adult.YES
    return Nature.SEXUAL in report.natures and child


def _communications_offences(report: Report) -> Iterator[str]:
    # Threats and false communications are offences under the Online Safety Act 2023 (s.179, s.181).
    if report.natures & {Nature.THREATENING, Nature.FALSE_CLAIMS}:
        yield "law/online-safety-act-offences"


def _removal(report: Report) -> Iterator[str]:
    # The organisation should try to get the material removed on the person's behalf.
    if Want.REMOVED in report.wants and report.where not in PHONE_CHANNELS:
        yield "advice/organisation-takedown"


def _support(report: Report) -> Iterator[str]:
    yield "advice/support"


RULES: tuple[Rule, ...] = (_always, _safeguarding, _police, _communications_offences, _course_of_conduct,
                           _known_person, _adult, _platform, _identity, _removal, _support)

SAFEGUARDING = "advice/safeguarding"
URGENT = frozenset({SAFEGUARDING, "advice/police"})


def _lead_duties(report: Report) -> Iterator[str]:
    # What the leads handling the case must keep in mind, beyond the reporter's own next steps.
    if is_safeguarding(report):
        yield SAFEGUARDING
    if report.course_of_conduct or report.possible_crime:
        yield "law/harassment-act-1997"
        yield "law/police-information-notice"
    yield "law/uk-gdpr"


LEAD_RULES: tuple[Rule, ...] = (_lead_duties,)


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

    def lead_steps(self, report: Report) -> list[Step]:
        """What the leads handling this report must do or know: safeguarding, the law, data protection."""
        cites = dict.fromkeys(cite for rule in LEAD_RULES for cite in rule(report))
        return [self._step(cite) for cite in cites]

    def _step(self, cite: str) -> Step:
        entry = self._content.advice_entry(cite)
        return Step(cite=cite, title=entry.title, text=entry.text, urgent=cite in URGENT)
