"""Playground mode's guards, unit by unit: what counts as this machine, and a Connector that calls nothing else."""

from __future__ import annotations

import pytest

from bot.domain.ports import PermanentFailure, TemporaryFailure
from bot.teams.playground import LoopbackConnector, NoTokens, is_loopback, loopback_url
from testkit.fake_connector import FakeConnector


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("localhost.example.org", False),
    ("127.0.0.1.example.org", False), ("", False),
])
def test_what_counts_as_this_machine(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://localhost:56150/_connector", True), ("http://127.0.0.1:3978/", True), ("https://[::1]:8443/x", True),
    ("https://smba.trafficmanager.net/teams/", False), ("http://127.0.0.1@evil.example.org/", False),
    ("file:///etc/passwd", False), ("http://[::1", False), ("", False),
])
def test_service_urls_on_this_machine(url, loopback):
    assert loopback_url(url) is loopback


def test_the_connector_calls_this_machine_only_without_a_token():
    connector = LoopbackConnector(app_id="00000000-0000-4000-8000-00000000b0a7", tenant_id="")
    with FakeConnector() as teams:
        # The fake, like Teams, wants a token (the Playground wants none: the end-to-end test posts through it).
        with pytest.raises(TemporaryFailure):
            connector.send(teams.service_url, "a:1", {"type": "message", "text": "hello"})
        (sent,) = teams.attempts("send")
        assert sent.body["text"] == "hello" and sent.authorization == ""  # no token, no header
        for elsewhere in ("https://smba.trafficmanager.net/teams/", "http://10.0.0.1/", "http://u@localhost.evil.org/"):
            with pytest.raises(PermanentFailure):
                connector.send(elsewhere, "a:1", {})
            with pytest.raises(PermanentFailure):
                connector.update(elsewhere, "a:1", "1", {})
            with pytest.raises(PermanentFailure):
                connector.create_conversation(elsewhere, member_id="29:x", tenant="t")
        assert len(teams.attempts()) == 1


def test_no_tokens_are_asked_for():
    tokens = NoTokens()
    tokens.check()
    assert tokens.token() == ""
