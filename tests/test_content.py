"""content/: the real files load and hold what the bot cites; broken files fail fast, naming file and entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.content import REQUIRED_ADVICE, REQUIRED_HELPLINES, REQUIRED_LAW, REQUIRED_TIPS, load_content
from bot.domain.content import TEMPLATE_PLACEHOLDERS
from bot.domain.errors import ContentError, NotFound

CONTENT = Path(__file__).resolve().parent.parent / "content"


# --- the real content --------------------------------------------------------------------------


def test_loads_from_the_installed_package_and_from_a_folder(content):
    assert load_content(CONTENT) == content


@pytest.mark.parametrize(
    ("table", "required"),
    [("advice", REQUIRED_ADVICE), ("law", REQUIRED_LAW), ("helplines", REQUIRED_HELPLINES)],
)
def test_every_required_id_is_present(content, table, required):
    assert required <= set(getattr(content, table))


def test_tips_cover_exactly_the_reminder_topics(content):
    assert set(content.tips) == REQUIRED_TIPS


def test_every_platform_has_a_template_and_what_to_include(content):
    for platform in content.platforms.values():
        assert platform.template in content.templates and platform.include, platform.id


def test_services_the_facts_say_to_check_are_not_offered_until_verified(content):
    # FACTS: Rate My Teacher and Ask.fm are named in the leaflet; check each still operates first.
    for name in ("rate my teacher", "ratemyteachers", "ask.fm", "askfm"):
        with pytest.raises(NotFound):
            content.platform(name)


# Numbers a current source gives as today's route, per network (FACTS.md); anything else the 2016
# table lists is history only, and must not be shown as a current contact.
CONFIRMED_TODAY = {"ee": {"150"}, "virgin": {"789"}}


def test_current_contacts_never_come_from_the_2016_table(content):
    for provider in content.providers.values():
        old = {c.value for c in provider.history_2016}
        current = {c.value for c in provider.contacts}
        assert current & old <= CONFIRMED_TODAY.get(provider.id, set()), provider.id
    assert "0800 956 6000" not in {c.value for c in content.providers["ee"].contacts}


def test_the_bt_line_from_an_older_source_is_not_shown_as_current(content):
    assert "0800 661 441" not in content.providers["bt"].route
    assert "0800 661 441" not in {c.value for c in content.providers["bt"].contacts}


def test_each_policy_reads_after_your(content):
    for platform in content.platforms.values():
        policy = platform.policy
        assert not policy.casefold().startswith(("the ", "your ", "a ")), platform.id
        assert any(word in policy.casefold() for word in ("policy", "rule", "terms", "guidelines")), platform.id


def test_templates_say_who_writes_them(content):
    for template in content.templates.values():
        version = content.templates.get(template.organisation_version)
        if version:
            assert (template.voice, version.voice) == ("self", "organisation"), template.id


def test_every_template_fills_from_the_placeholders_alone(content):
    values = {name: f"<{name}>" for name in TEMPLATE_PLACEHOLDERS}
    for template in content.templates.values():
        assert "<urls>" in template.text.format(**values), template.id


@pytest.mark.parametrize(
    ("name", "entry_id"),
    [("O2", "o2"), ("o2", "o2"), ("three", "three"), ("3", "three"), ("Vodafone", "vodafone"),
     ("t-mobile", "t-mobile"), ("Virgin Mobile", "virgin")],
)
def test_provider_look_up_ignores_case_and_uses_aliases(content, name, entry_id):
    assert content.provider(name).id == entry_id


def test_old_networks_point_to_ee(content):
    assert content.provider("T-Mobile").merged_into == "ee"
    assert content.provider("Orange").merged_into == "ee"


def test_unknown_provider_lists_the_known_ones(content):
    with pytest.raises(NotFound) as raised:
        content.provider("Carrier Pigeon")
    assert "Vodafone" in str(raised.value) and "EE" in str(raised.value)


@pytest.mark.parametrize("table", ["providers", "platforms"])
def test_every_name_and_alias_finds_its_own_entry(content, table):
    look_up = content.provider if table == "providers" else content.platform
    for entry in getattr(content, table).values():
        for name in (entry.id, entry.name, *entry.aliases):
            assert look_up(name) is entry, name


def test_current_facts_replace_the_leaflets(content):
    assert content.helplines["posh"].contacts[0].value == "0344 381 4772"
    assert "no basis in law" in content.law["police-information-notice"].text
    assert content.cite("advice/course-of-conduct").source == "legislation-pha-1997"


# --- validation: copy content/, break one thing, expect a ContentError naming file and entry ---

Doc = dict


def _set(path: str, value: object) -> Callable[[Doc], None]:
    """A mutation that sets a dotted path (list items by index) in the parsed file."""
    *parents, last = path.split(".")

    def mutate(doc: Doc) -> None:
        for key in parents:
            doc = doc[int(key)] if isinstance(doc, list) else doc[key]
        doc[last] = value

    return mutate


def _drop(path: str) -> Callable[[Doc], None]:
    *parents, last = path.split(".")

    def mutate(doc: Doc) -> None:
        for key in parents:
            doc = doc[key]
        del doc[last]

    return mutate


BROKEN = {
    "missing key": ("platforms.yaml", _drop("facebook.policy"), "entry 'facebook': missing 'policy'"),
    "extra key": ("advice.yaml", _set("save-evidence.colour", "red"), "entry 'save-evidence': unexpected 'colour'"),
    "bad date": ("tips.yaml", _set("passwords.verified", "2026-13-01"), "entry 'passwords': 'verified'"),
    "impossible date": ("law.yaml", _set("uk-gdpr.verified", "2026-02-30"), "entry 'uk-gdpr': 'verified'"),
    "unknown source": ("checklist.yaml", _set("lock-device.source", "hearsay"), "entry 'lock-device': 'source' 'hearsay'"),
    "wrong type": ("checklist.yaml", _set("friend-requests.do", "no"), "entry 'friend-requests': 'do'"),
    "empty text": ("advice.yaml", _set("police.title", " "), "entry 'police': 'title' must be non-empty"),
    "too few steps": ("checklist.yaml", _set("passwords.steps", ["one"]), "entry 'passwords': 'steps'"),
    "unknown placeholder": (
        "templates.yaml", _set("platform-takedown.text", "Dear {recipient}, {urls}"),
        "entry 'platform-takedown': 'text' uses unknown placeholder {recipient}",
    ),
    "stray brace": ("templates.yaml", _set("impersonation-report.text", "{urls"), "entry 'impersonation-report'"),
    "unknown checklist": ("tips.yaml", _set("passwords.checklist", "nope"), "entry 'passwords': 'checklist' 'nope'"),
    "unknown template": ("platforms.yaml", _set("x.template", "nope"), "entry 'x': 'template' 'nope'"),
    "unknown merge": ("providers.yaml", _set("networks.orange.merged_into", "mars"), "entry 'orange': 'merged_into'"),
    "bad contact kind": (
        "providers.yaml", _set("networks.o2.contacts.0.kind", "fax"), "entry 'o2': 'contacts' [0] 'kind'",
    ),
    "bad phone number": ("helplines.yaml", _set("posh.contacts.0.value", "call us"), "entry 'posh': 'contacts' [0]"),
    "bad report url": ("platforms.yaml", _set("reddit.report_url", "www.reddit.com"), "entry 'reddit': 'report_url'"),
    "bad link in markup": (
        "advice.yaml", _set("colleague.text", "See [GOV.UK](gov.uk/bullying)."), "entry 'colleague': 'text' links",
    ),
    "bad any_network": ("providers.yaml", _drop("any_network.source"), "entry 'any_network': missing 'source'"),
    "required advice removed": ("advice.yaml", _drop("never-retaliate"), "entry 'never-retaliate' missing"),
    "required tip removed": ("tips.yaml", _drop("device-locking"), "entry 'device-locking' missing"),
    "bad id": ("law.yaml", _set("UK_GDPR", {}), "entry 'UK_GDPR'"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CONTENT, tmp_path / "content"))


@pytest.mark.parametrize(("file", "mutate", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_entry_is_named(folder, file, mutate, expected):
    path = folder / file
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_content(folder)
    assert str(raised.value).startswith(f"content/{file}: ")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        ("advice.yaml", "never-retaliate: [unclosed\n", "not valid YAML"),
        ("advice.yaml", "- a list\n- not a mapping\n", "must be a mapping"),
        ("law.yaml", "uk-gdpr: {}\nuk-gdpr: {}\n", "duplicate key 'uk-gdpr'"),
        ("providers.yaml", "networks: {}\n", "missing 'any_network'"),
    ],
    ids=["bad yaml", "not a mapping", "duplicate id", "missing section"],
)
def test_a_broken_file_is_named(folder, file, text, expected):
    (folder / file).write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_content(folder)
    assert str(raised.value).startswith(f"content/{file}: ") and expected in str(raised.value)


def test_a_missing_file_is_named(folder):
    (folder / "sources.yaml").unlink()
    with pytest.raises(ContentError, match=r"^content/sources\.yaml: file missing$"):
        load_content(folder)


def test_markup_is_reflowed_to_one_line_per_paragraph_or_bullet(content):
    from bot.domain.markup import reflow

    assert reflow("Capture it:\n- one\n  more\n- two\n\nNext\nline") == "Capture it:\n- one more\n- two\n\nNext line"
    police = content.advice["police"].text
    assert "because of who they are" in police.replace("\n", " ") and "of\nwho" not in police


def test_hotlines_history_never_sends_people_to_a_route_above(services):
    from handlers.info import hotlines
    for provider in services.content.providers:
        for card in hotlines(services, provider).cards:
            for section in card.sections:
                assert "route above" not in section.body
                if section.heading.startswith("History"):
                    current = {c.value for p in services.content.providers.values() for c in p.contacts}
                    assert not {f.value for f in section.facts} & current, provider
