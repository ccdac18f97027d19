"""One markup grammar: tokenised once in the core, each renderer maps the tokens its own way."""

from bot.console.render import markup_to_text
from bot.domain.markup import Kind, Line, Token, bad_links, command, parse, plain, reflow
from bot.slack.blocks import mrkdwn


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
