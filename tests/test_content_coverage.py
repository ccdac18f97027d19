"""Every content entry reaches someone: run the commands that show content and find each entry in what they show."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from bot.domain.content import ORGANISATION, SELF, Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.ports import Changes
from bot.domain.report import Adult, Nature, Perpetrator
from bot.domain.report_form import OTHER_CHANNELS
from bot.domain.ui import Card, Document, Form, Reply
from handlers import export, info, leads, reminders, takedown
from handlers.cards import receipt_card
from testkit.builders import a_reminder, a_report
from tests.conftest import LEAD
from tests.test_letters import answers_for

ADMIN_ID = "console:ada"


def _texts(outcome: object) -> Iterator[str]:
    cards = outcome.cards if isinstance(outcome, Reply) else (outcome,) if isinstance(outcome, Card) else ()
    if isinstance(outcome, Document):
        yield outcome.text
    for card in cards:
        yield card.title
        for section in card.sections:
            yield from (section.heading, section.body, section.quote)
            yield from (f"{fact.label}: {fact.value}" for fact in section.facts)


def _reports(content: Content):
    """Reports covering every rule of the guidance engine."""
    natures = [frozenset({n}) for n in Nature] + [frozenset()]
    places = [*content.platforms, *OTHER_CHANNELS]
    for perpetrator, adult, nature, occasions in itertools.product(Perpetrator, Adult, natures, (1, 3)):
        yield a_report(perpetrator=perpetrator, adult=adult, natures=nature, occasions=occasions)
    for where in places:
        yield a_report(where=where, perpetrator=Perpetrator.UNKNOWN)


def everything_shown(services) -> str:
    """The text of every command that shows content, for every choice that changes what it shows."""
    content = services.content
    shown: list[str] = []
    shown += _texts(info.staysafe(services))
    shown += _texts(info.hotlines(services, ""))
    for provider in content.providers:
        shown += _texts(info.hotlines(services, provider))
    for target in [*content.platforms, takedown.KNOWN_PERSON]:
        form = takedown.takedown(services, target)
        assert isinstance(form, Form)
        for kind, sender in itertools.product(("content", "impersonation", "private"), (SELF, ORGANISATION)):
            answers = answers_for(form, kind=kind, sender=sender, role=True, consent="yes")
            shown += _texts(takedown.submit_takedown(services, LEAD, form, answers).reply)
    engine = GuidanceEngine(content=content)
    for report in _reports(content):
        shown += _texts(receipt_card(report, engine.steps(report)))
    for report in list(_reports(content))[::7]:
        services.store.commit(Changes(reports=(report,)))
        shown += _texts(leads.view_case(services, LEAD, report.id))
        shown += _texts(export.export_case(services, LEAD, report.id))
        shown += _texts(leads.takedown_letter(services, LEAD, report.id))
    for tip in content.tips:
        reminder = a_reminder(topic=tip)
        services.store.commit(Changes(reminders=(reminder,)))
        shown += _texts(reminders.preview(services, type(LEAD)(id=ADMIN_ID), reminder.id))
    return "\n".join(shown)


def test_every_content_entry_is_shown_by_some_command(services):
    content = services.content
    shown = everything_shown(services)
    missing = []
    for table in ("advice", "law", "checklist"):
        missing += [f"{table}/{i}" for i, e in getattr(content, table).items() if e.title not in shown]
    missing += [f"tips/{i}" for i, tip in content.tips.items() if tip.tip not in shown]
    missing += [f"providers/{i}" for i, p in content.providers.items()
                if (f"{p.name} is now part of" if p.merged_into else p.route) not in shown]
    missing += [f"helplines/{i}" for i, h in content.helplines.items() if h.name not in shown]
    missing += [f"platforms/{i}" for i, p in content.platforms.items() if p.how_to_report not in shown]
    for template_id, template in content.templates.items():
        subject = template.text.splitlines()[0].split("{")[0]
        if subject not in shown:
            missing.append(f"templates/{template_id}")
    assert not missing, f"content shown by no command: {missing}"
