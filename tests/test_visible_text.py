"""What leads read cannot deceive them: characters that hide or reorder user text are shown, everywhere."""

from __future__ import annotations

import json
import sys
import unicodedata

from hypothesis import given, strategies as st

from bot.console.render import render_card as console_card
from bot.domain.ports import Changes
from bot.domain.visible import reveal_hidden
from bot.slack.blocks import render_card as slack_card
from handlers import leads
from handlers.export import export_case
from testkit.builders import a_report
from tests.conftest import LEAD

RLO = "\u202e"
TRICK = f"https://files.example/{RLO}gpj.exe"


def _hidden(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "Cf"]


def test_every_format_character_unicode_knows_is_revealed():
    missing = [hex(c) for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) == "Cf" and reveal_hidden(f"a{chr(c)}b") == f"a{chr(c)}b"]
    assert missing == []


def test_the_override_shows_as_its_code_point():
    assert reveal_hidden(TRICK) == "https://files.example/<U+202E>gpj.exe"
    assert reveal_hidden("pay\u200bpal") == "pay<U+200B>pal"


def test_an_emoji_built_with_a_joiner_stays_one_emoji():
    assert reveal_hidden("👩\u200d💻 and a\u200db") == "👩\u200d💻 and a<U+200D>b"


@given(st.text())
def test_nothing_invisible_survives_outside_an_emoji(text):
    shown = reveal_hidden(text)
    assert all(ch == "\u200d" for ch in _hidden(shown))
    if not any(unicodedata.category(ch) == "Cf" for ch in text):
        assert shown == text  # text with nothing hidden is left exactly as typed


def _case(services):
    report = a_report(what_happened=f"He posted {RLO}txt.exe", urls=(TRICK,))
    services.store.commit(Changes(reports=(report,)))
    return report, leads.view_case(services, LEAD, report.reference)


def test_the_slack_case_view_shows_hidden_characters_in_the_words_and_links(services):
    _, card = _case(services)
    blocks = json.dumps(slack_card(card), ensure_ascii=False)
    assert RLO not in blocks
    assert "files.example/&lt;U+202E&gt;gpj.exe" in blocks and "He posted &lt;U+202E&gt;txt.exe" in blocks


def test_the_console_case_view_shows_them(services):
    _, card = _case(services)
    text = console_card(card)
    assert RLO not in text and "files.example/<U+202E>gpj.exe" in text and "<U+202E>txt.exe" in text


def test_the_export_shows_them(services):
    report, _ = _case(services)
    text = export_case(services, LEAD, report.reference).text
    assert RLO not in text and "files.example/<U+202E>gpj.exe" in text and "He posted <U+202E>txt.exe" in text


def test_text_typed_after_a_command_is_echoed_inert(bot):
    for command in ("hotlines", "takedown"):
        answer = bot.command(command, "<!channel> <https://evil.example|click here>")
        text = answer.json()["text"]
        assert answer.status == 200 and "<!channel>" not in text and "<https://evil.example" not in text
        assert "&lt;!channel&gt;" in text
