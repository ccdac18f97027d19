"""The leaflet's decision rules, one by one."""

import pytest

from bot.domain.guidance import GuidanceEngine
from bot.domain.report import Adult, Nature, Perpetrator
from testkit.builders import a_report


@pytest.fixture
def engine(content):
    return GuidanceEngine(content=content)


def cites(engine, **fields):
    return engine.citations(a_report(**fields))


def test_never_retaliate_and_save_evidence_always_come_first(engine):
    for perpetrator in Perpetrator:
        assert cites(engine, perpetrator=perpetrator, natures=frozenset())[:3] == [
            "advice/never-retaliate", "advice/save-evidence", "advice/tell-manager"]


@pytest.mark.parametrize("perpetrator", [Perpetrator.SERVICE_USER, Perpetrator.LINKED, Perpetrator.COLLEAGUE])
def test_known_people_go_through_the_organisations_procedures(engine, perpetrator):
    assert "advice/organisation-procedures" in cites(engine, perpetrator=perpetrator)


def test_unknown_people_are_reported_to_the_platform_not_procedures(engine):
    found = cites(engine, perpetrator=Perpetrator.UNKNOWN, adult=Adult.UNSURE)
    assert "advice/organisation-procedures" not in found
    assert "advice/report-to-platform" in found


def test_colleagues_add_the_colleague_route(engine):
    assert "advice/colleague" in cites(engine, perpetrator=Perpetrator.COLLEAGUE)
    assert "advice/colleague" not in cites(engine, perpetrator=Perpetrator.LINKED)


def test_known_adult_gets_a_meeting_and_removal_request_then_the_refusal_route(engine):
    found = cites(engine, perpetrator=Perpetrator.LINKED, adult=Adult.YES)
    assert found.index("advice/meet-adult") < found.index("advice/if-refused")


@pytest.mark.parametrize("adult", [Adult.NO, Adult.UNSURE])
def test_no_meeting_unless_known_to_be_an_adult(engine, adult):
    assert "advice/meet-adult" not in cites(engine, perpetrator=Perpetrator.SERVICE_USER, adult=adult)


def test_unknown_adult_is_not_invited_to_a_meeting(engine):
    assert "advice/meet-adult" not in cites(engine, perpetrator=Perpetrator.UNKNOWN, adult=Adult.YES)


@pytest.mark.parametrize("nature", [Nature.THREATENING, Nature.ABUSIVE, Nature.SEXIST, Nature.SEXUAL, Nature.HATE_CRIME])
def test_police_for_the_leaflets_categories_and_it_is_urgent(engine, nature):
    steps = engine.steps(a_report(natures=frozenset({nature})))
    assert steps[0].cite == "advice/police" and steps[0].urgent


@pytest.mark.parametrize("nature", [Nature.IMPERSONATION, Nature.PRIVATE_INFO])
def test_no_police_step_for_other_natures(engine, nature):
    assert "advice/police" not in cites(engine, natures=frozenset({nature}))


def test_two_or_more_occasions_is_a_course_of_conduct(engine):
    assert "advice/course-of-conduct" not in cites(engine, occasions=1)
    assert "advice/course-of-conduct" in cites(engine, occasions=2)


def test_course_of_conduct_is_worded_as_facts_corrects_it(engine, content):
    text = content.cite("advice/course-of-conduct").text
    assert "two occasions" in text.lower() or "two or more" in text.lower()
    assert "warning notice" not in text.lower() or "not" in text.lower()


@pytest.mark.parametrize("where", ["phone", "sms"])
def test_phone_abuse_routes_to_the_provider_not_the_platform(engine, where):
    found = cites(engine, where=where, urls=())
    assert "advice/phone-provider" in found
    assert "advice/helpline-mediation" not in found


def test_platform_cases_get_the_helpline_for_mediation(engine):
    assert "advice/helpline-mediation" in cites(engine, where="instagram")


def test_impersonation_and_private_information_have_their_own_steps(engine):
    found = cites(engine, natures=frozenset({Nature.IMPERSONATION, Nature.PRIVATE_INFO}))
    assert {"advice/impersonation", "advice/private-info"} <= set(found)


def test_every_step_cites_real_content_and_none_repeats(engine, content):
    report = a_report(perpetrator=Perpetrator.COLLEAGUE, natures=frozenset(Nature), occasions=5)
    steps = engine.steps(report)
    assert len({s.cite for s in steps}) == len(steps)
    for step in steps:
        assert content.cite(step.cite).title == step.title and step.text


@pytest.mark.parametrize("fields", [
    {"natures": frozenset({Nature.CHILD_SEXUAL})},
    {"natures": frozenset({Nature.SEXUAL}), "perpetrator": Perpetrator.SERVICE_USER, "adult": Adult.NO},
    {"natures": frozenset({Nature.SEXUAL}), "perpetrator": Perpetrator.SERVICE_USER, "adult": Adult.UNSURE},
])
def test_sexual_content_involving_a_child_adds_the_safeguarding_route_first(engine, content, fields):
    steps = engine.steps(a_report(**fields))
    assert steps[0].cite == "advice/safeguarding" and steps[0].urgent
    assert "designated safeguarding lead" in steps[0].text and "ceop.police.uk" in steps[0].text
    assert "advice/safeguarding" in [s.cite for s in engine.lead_steps(a_report(**fields))]


def test_sexual_content_from_an_adult_is_not_a_safeguarding_case(engine):
    assert "advice/safeguarding" not in cites(engine, natures=frozenset({Nature.SEXUAL}), adult=Adult.YES)


@pytest.mark.parametrize("nature", [Nature.THREATENING, Nature.FALSE_CLAIMS])
def test_threats_and_false_claims_cite_the_online_safety_act_offences(engine, nature):
    assert "law/online-safety-act-offences" in cites(engine, natures=frozenset({nature}))


def test_other_natures_do_not_cite_the_communications_offences(engine):
    assert "law/online-safety-act-offences" not in cites(engine, natures=frozenset({Nature.SEXIST}))


def test_leads_always_get_the_data_protection_duties_and_the_law_for_a_course_of_conduct(engine):
    assert [s.cite for s in engine.lead_steps(a_report(occasions=1, natures=frozenset()))] == ["law/uk-gdpr"]
    cites_for_leads = [s.cite for s in engine.lead_steps(a_report(occasions=3))]
    assert {"law/harassment-act-1997", "law/police-information-notice", "law/uk-gdpr"} <= set(cites_for_leads)
