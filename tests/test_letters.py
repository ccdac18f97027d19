"""Every takedown letter, for every combination of choices, reads right: voice, names, nothing left or cut."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest

from bot.domain.content import ORGANISATION, SELF
from bot.domain.limits import Limits
from bot.domain.report import Nature, Want
from bot.domain.report_form import OTHER_CHANNELS
from bot.domain.ui import Card, FieldKind, Form
from handlers import leads, reports, takedown
from testkit.builders import report_answers
from tests.conftest import LEAD, STAFF

WRITER, AFFECTED, ROLE = "Sam Jones", "Priya Shah", "Deputy Head"
DESCRIPTION = "Posts calling me a liar and naming my school."
WHERE_LINKS = ("https://example.com/post/1", "https://example.com/post/2")
WHERE_TEXT = "07700 900123 in the group Year 9 Parents"
DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)


def letter_of(card: Card) -> str:
    return card.sections[-1].quote


def _all_text(card: Card) -> str:
    parts = [card.title]
    for section in card.sections:
        parts += [section.heading, section.body, section.quote, *(f"{f.label} {f.value}" for f in section.facts)]
    return "\n".join(parts)


def assert_reads_well(text: str) -> None:
    assert "{" not in text and "}" not in text, text
    assert "[" not in text, text  # no unfilled [gap]
    assert "\n\n\n" not in text, text
    assert not DOUBLED.search(text), DOUBLED.search(text).group(0)
    assert "your the" not in text.casefold() and "your your" not in text.casefold()


def answers_for(form: Form, *, kind: str, sender: str, role: bool, consent: str) -> dict[str, object]:
    where = form.field("urls")
    answers: dict[str, object] = {
        "urls": list(WHERE_LINKS) if where.kind is FieldKind.URLS else WHERE_TEXT,
        "dates": "3 and 5 November 2026",
        "description": DESCRIPTION,
        "sender": sender,
        "sender_name": WRITER,
        "sender_role": ROLE if role else "",
        "affected_name": AFFECTED if sender == ORGANISATION else "",
        "consent": consent if sender == ORGANISATION else "",
    }
    if any(f.id == "kind" for f in form.fields):
        answers["kind"] = kind
    return answers


def targets(content) -> list[str]:
    return [*content.platforms, takedown.KNOWN_PERSON]


COMBINATIONS = list(itertools.product(
    ("content", "impersonation", "private"), (SELF, ORGANISATION), (True, False), ("yes", "no")))


def test_every_template_for_every_combination_reads_right(services, content):
    used = set()
    for target in targets(content):
        form = takedown.takedown(services, target)
        assert isinstance(form, Form)
        for kind, sender, role, consent in COMBINATIONS:
            answers = answers_for(form, kind=kind, sender=sender, role=role, consent=consent)
            result = takedown.submit_takedown(services, STAFF, form, answers)
            assert result.ok, (target, kind, sender, result.errors)
            card = result.reply.cards[0]
            text = letter_of(card)
            label = (target, kind, sender, role, consent)
            assert_reads_well(text)
            assert DESCRIPTION in text, label  # nothing cut
            for line in (WHERE_LINKS if form.field("urls").kind is FieldKind.URLS else (WHERE_TEXT,)):
                assert line in text.splitlines(), label
            used.add(text.splitlines()[0])
            only_the_person = "Only the person affected can send" in _all_text(card)
            if sender == SELF or only_the_person:
                signer = WRITER if sender == SELF else AFFECTED
                assert text.endswith(signer), label  # signed by the person affected, in the first person
                assert re.search(r"\b(I|me|my)\b", text), label
                assert not re.search(r"\b(we|our|us)\b", text, re.IGNORECASE), label
                assert "agreed" not in text, label
            else:
                assert services.org.name in text and WRITER in text, label
                assert re.search(r"\b(we|our|us)\b", text, re.IGNORECASE), label
                assert f"Person affected: {WRITER}" not in text, label
                assert (ROLE in text) == role, label
                to_a_known_person = target == takedown.KNOWN_PERSON
                assert ("agreed" in text) == (consent == "yes" and not to_a_known_person), label
                if consent != "yes":
                    assert "has not agreed yet" in _all_text(card), label
                if target != takedown.KNOWN_PERSON or AFFECTED in text:
                    assert AFFECTED in text, label
    assert len(used) >= len({t.text.splitlines()[0] for t in content.templates.values()}) - 1


def test_the_organisation_must_name_the_person_affected_and_say_whether_they_agreed(services):
    form = takedown.takedown(services, "facebook")
    answers = answers_for(form, kind="content", sender=ORGANISATION, role=False, consent="yes")
    result = takedown.submit_takedown(services, STAFF, form, answers | {"affected_name": "", "consent": ""})
    assert set(result.errors) == {"affected_name", "consent"}
    assert "Me" in result.errors["affected_name"]


def test_me_with_someone_elses_name_is_asked_again(services):
    form = takedown.takedown(services, "facebook")
    answers = answers_for(form, kind="content", sender=SELF, role=False, consent="")
    result = takedown.submit_takedown(services, STAFF, form, answers | {"affected_name": AFFECTED})
    assert set(result.errors) == {"affected_name"}


@pytest.mark.parametrize("target", ["whatsapp", "snapchat", takedown.KNOWN_PERSON])
def test_places_without_web_addresses_take_what_identifies_the_content(services, target):
    form = takedown.takedown(services, target)
    assert form.field("urls").kind is not FieldKind.URLS
    answers = answers_for(form, kind="content", sender=SELF, role=False, consent="")
    result = takedown.submit_takedown(services, STAFF, form, answers)
    assert result.ok and WHERE_TEXT in letter_of(result.reply.cards[0])


def test_form_titles_fit_and_are_never_cut_mid_word(services, content):
    for target in targets(content):
        title = takedown.takedown(services, target).title
        assert len(title) <= takedown.FORM_TITLE_LIMIT
        name = content.platforms[target].name if target in content.platforms else ""
        assert set(title.replace("Takedown:", "").split()) <= set(f"Takedown: {name} Ask someone to remove it".split())
    assert takedown.form_title("Takedown: A Very Long Platform Name", "A Very Long Platform Name Here") \
        == "A Very Long Platform"


def submit(services, **answers):
    services = replace(services, limits=Limits(reports_per_day=1000))  # one person files every combination
    result = reports.submit_report(services, STAFF, report_answers(**answers))
    assert result.ok, result.errors
    reference = re.search(r"SS-\w{5}-\w{5}", result.reply.text).group(0)
    return services.store.report_by_reference(reference)


CASES = list(itertools.product(
    ("named", "anonymous"), (("removed",), ("support",)), (("abusive",), ("impersonation",), ("threatening", "sexual"))))


def test_a_case_letter_never_names_the_reporter_and_reads_right(services, content):
    for where, (named, wants, natures) in itertools.product([*content.platforms, *OTHER_CHANNELS], CASES):
        report = submit(services, where=where, named=named, wants=list(wants), natures=list(natures),
                        urls=[] if where in OTHER_CHANNELS else ["https://example.com/post/1"])
        card = leads.takedown_letter(services, LEAD, report.id).cards[0]
        everything = _all_text(card)
        assert STAFF.name not in everything and STAFF.id not in everything
        label = (where, named, wants, natures)
        if card.sections[-1].quote:
            text = letter_of(card)
            assert_reads_well(text)
            assert LEAD.name in text and report.reference in text, label
            assert ("asked us" in text) == (Want.REMOVED.value in wants), label
            if Want.REMOVED.value not in wants:
                assert "Check with them before you send this" in everything
            assert "Online Safety Act 2023" in everything  # the platform's duty to offer reporting
            if Nature.IMPERSONATION.value in natures:
                assert "pretending to be a member of our staff" in text
        else:
            assert "No letter" in card.title or "Only the person affected" in everything, label
