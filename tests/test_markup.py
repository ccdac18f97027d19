"""One markup grammar: tokenised once in the core, each renderer maps the tokens its own way."""

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.console.render import markup_to_text
from bot.domain.errors import NotFound, user_message
from bot.domain.markup import Kind, Line, Token, bad_links, command, literal, parse, plain, quoted, reflow
from bot.slack.blocks import mrkdwn
from bot.teams.markup import markup_elements
from handlers import info


def test_tokens_of_bold_links_commands_and_bullets():
    assert parse("**Save** it: [the form](https://x.org/a) or [[hotlines o2]]\n- first") == [
        Line((Token(Kind.BOLD_START), Token(Kind.TEXT, "Save"), Token(Kind.BOLD_END), Token(Kind.TEXT, " it: "),
              Token(Kind.LINK, "the form", "https://x.org/a"), Token(Kind.TEXT, " or "),
              Token(Kind.COMMAND, "hotlines", "o2"))),
        Line((Token(Kind.TEXT, "first"),), bullet=True),
    ]


def test_a_link_to_anything_but_http_stays_text():
    assert parse("[bad](javascript:x)") == [Line((Token(Kind.TEXT, "[bad](javascript:x)"),))]
    assert bad_links("See [a](gov.uk/x) and [b](https://gov.uk)") == ["gov.uk/x"]


def test_a_bar_in_a_url_is_one_link_everywhere():
    markup = "[the list](https://x.org/a|b)"
    assert mrkdwn(markup) == "<https://x.org/a%7Cb|the list>"  # a raw | would end Slack's URL early
    assert markup_to_text(markup) == "the list (https://x.org/a|b)"


def test_a_paragraph_after_a_bullet_list_stays_a_paragraph():
    text = reflow("Capture it:\n- one\n  more\n- note who posted it\nShare copies only with the leads.")
    assert text == "Capture it:\n- one more\n- note who posted it\nShare copies only with the leads."
    assert [line.bullet for line in parse(text)] == [False, True, True, False]


def test_commands_are_a_token_each_renderer_shows_its_own_way():
    markup = f"Try {command('phonelines', 'o2')} or {command('help')}."
    assert mrkdwn(markup) == "Try `/phonelines o2` or `/help`."
    assert markup_to_text(markup) == "Try /phonelines o2 or /help."
    assert plain(markup, command_prefix="") == "Try phonelines o2 or help."


def test_text_in_every_token_is_escaped_for_slack():
    assert mrkdwn("**<!here>** [a & b](https://x.org/?q=<b>) [[x <y>]]") == (
        "*&lt;!here&gt;* <https://x.org/?q=&lt;b&gt;|a &amp; b> `/x &lt;y&gt;`")


def test_core_strings_name_commands_by_token_only(services):
    from handlers import info, takedown

    renamed = info.help_card({"hotlines": "phonelines"}, lead=True, admin=True)
    bodies = [s.body for reply in (renamed, info.hotlines(services), takedown.takedown(services, ""))
              for card in reply.cards for s in card.sections]
    assert all("`" not in body and " /" not in body for body in bodies)
    assert "[[phonelines o2]]" in bodies[0]


# --- generated markup: every renderer agrees on the tokens, and Slack gets nothing it would act on ----------

_PIECES = st.sampled_from([
    "**", "[", "]", "(", ")", "[[", "]]", "- ", "\n", " ", "|", "<", ">", "&", "<!here>", "<@U1>", "`", "/",
    "https://x.org/a", "http://y.org/b|c", "javascript:x", "word", "hotlines o2", "é", "*",
])
MARKUP = st.lists(_PIECES, max_size=30).map("".join)
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)\|[^>]*>")


@given(MARKUP)
def test_slack_mrkdwn_holds_no_angle_bracket_but_our_links(markup):
    text = _SLACK_LINK.sub("", mrkdwn(markup))
    assert "<" not in text and ">" not in text


@given(MARKUP)
def test_slack_and_console_show_the_same_links_and_lines(markup):
    slack = [url.replace("&amp;", "&").replace("%7C", "|") for url in _SLACK_LINK.findall(mrkdwn(markup))]
    assert slack == [t.target for line in parse(markup) for t in line.tokens if t.kind is Kind.LINK]
    assert len(parse(markup)) == len(markup_to_text(markup).split("\n")) == len(mrkdwn(markup).split("\n"))


@given(st.lists(st.sampled_from(["- item", "  more", "Para", "next line", "", "  "]), max_size=12).map("\n".join))
def test_reflow_is_stable_and_keeps_every_bullet(text):
    once = reflow(text)
    assert reflow(once) == once
    assert once.count("- ") == sum(1 for line in text.splitlines() if line.strip().startswith("- "))


@given(st.text().filter(lambda t: "\n" not in t and "\r" not in t))
def test_literal_user_text_is_one_text_token_whatever_it_holds(text):
    assert parse("Before " + literal(text) + " after") == [Line((Token(Kind.TEXT, f"Before {text} after"),))]
    assert plain("You typed " + quoted(text)) == f"You typed {text!r}"


def test_user_text_quoted_in_a_message_is_never_a_link_bold_or_command(services):
    typed = "[click](https://evil.example) **now** [[report]]"
    try:
        info.hotlines(services, typed)
    except NotFound as error:
        message = user_message(error)
    assert [t.kind for line in parse(message) for t in line.tokens] == [Kind.TEXT]
    assert "<https://evil" not in mrkdwn(message)  # Slack: no link (its mrkdwn has no escape for *)
    assert [e["type"] for e in markup_elements(message)] == ["RichTextBlock"]  # Teams: no Markdown at all
    assert typed in markup_to_text(message)
