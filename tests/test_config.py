"""app.yaml validation: each mistake is named."""

import pytest

from bot.config import load_config, parse_config
from bot.domain.errors import ConfigError

BASE = {"organisation": "Example", "leads": {"console": [{"id": "lee", "name": "Lee"}]}}


def test_the_shipped_app_yaml_is_valid():
    config = load_config(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.yaml")
    assert config.organisation.is_lead("console:lee") and config.commands["report"] == "report"


def test_leads_are_platform_qualified_with_display_names():
    config = parse_config(BASE | {"admins": {"slack": ["U0ADMIN"]}})
    assert config.organisation.leads == {"console:lee"}
    assert config.organisation.names["console:lee"] == "Lee"
    assert config.organisation.is_admin("slack:U0ADMIN")


@pytest.mark.parametrize(
    "change, named",
    [
        ({"organisation": ""}, "'organisation'"),
        ({"leads": {}}, "'leads'"),
        ({"leads": {"console": [{"name": "no id"}]}}, "leads.console[0]"),
        ({"leads": {"myspace": ["x"]}}, "leads.myspace"),
        ({"commands": {"report": "Bad Name!"}}, "commands.report"),
        ({"commands": {"launch": "x"}}, "commands.launch"),
        ({"commands": {"report": "help"}}, "share a name"),
        ({"escalation": {"window_hours": -1}}, "escalation.window_hours"),
        ({"retention": {"days": "soon"}}, "retention.days"),
        ({"colour": "blue"}, "'colour'"),
    ],
)
def test_mistakes_name_the_setting(change, named):
    with pytest.raises(ConfigError, match=__import__("re").escape(named)):
        parse_config(BASE | change)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "app.yaml"
    bad.write_text("organisation: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
