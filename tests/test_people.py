"""Naming the person responsible: display names and ids, any case; ambiguous or unknown answers asked again."""

import pytest

from bot.domain.org import Organisation
from bot.domain.people import name_person

ORG = Organisation(name="Trust", leads=frozenset({"console:lee", "console:leej"}),
                   backup_leads=frozenset({"console:bea"}), admins=frozenset({"console:ada"}),
                   names={"console:lee": "Lee Harper", "console:leej": "Lee Jones", "console:bea": "Bea Moss"})


@pytest.mark.parametrize("answer, expected", [
    ("Lee Harper", "console:lee"), ("lee harper", "console:lee"), ("  LEE   HARPER ", "console:lee"),
    ("leej", "console:leej"), ("@LEEJ", "console:leej"), ("Bea", "console:bea"), ("bea moss", "console:bea"),
    ("console:bea", "console:bea"), ("olu", "console:olu"), ("@leeh", "console:leeh"), ("", ""),
])
def test_people_are_found_by_name_or_id_in_any_case(answer, expected):
    named = name_person(ORG, answer, platform="console")
    assert (named.user_id, named.problem) == (expected, "")


def test_a_name_several_people_share_is_asked_again_with_the_choices():
    named = name_person(ORG, "Lee", platform="console")
    assert not named.user_id and "More than one person" in named.problem
    assert "Lee Harper (type lee)" in named.problem and "Lee Jones (type leej)" in named.problem


@pytest.mark.parametrize("answer", ["Lee Haper", "lee harpr", "Bea Mos"])
def test_a_near_miss_of_a_known_person_is_asked_again(answer):
    named = name_person(ORG, answer, platform="console")
    assert not named.user_id and "Did you mean" in named.problem


def test_an_unknown_full_name_is_asked_again():
    named = name_person(ORG, "Olu Ade", platform="console")
    assert not named.user_id and "I don't know anyone called 'Olu Ade'" in named.problem


def test_people_on_another_platform_are_not_matched():
    assert name_person(ORG, "Lee Harper", platform="slack").problem
