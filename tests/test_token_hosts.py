"""The bot token is sent only where Slack is, judged by the parser the HTTP client connects with."""

from __future__ import annotations

import pytest
import requests
from hypothesis import given, strategies as st

from bot.slack.notifier import token_may_go_to

API = "https://slack.com/api/"


@pytest.mark.parametrize("url", [
    "https://files.slack.com/files-pri/T1-F1/download/a.png",
    "https://files.slack.com:443/x",
    "https://slack.com/x",
    "HTTPS://Files.Slack.com/x",
])
def test_slacks_own_hosts_are_trusted(url):
    assert token_may_go_to(url, api_url=API)


@pytest.mark.parametrize("url", [
    "https://evil.example\\@files.slack.com/x",  # urlsplit reads files.slack.com; requests connects to evil.example
    "https://files.slack.com@evil.example/x",
    "https://user:pw@files.slack.com/x",
    "http://files.slack.com/x",
    "https://files.slack.com:8443/x",
    "https://files.slack.com.evil.example/x",
    "https://evilslack.com/x",
    "https://files.slack.com./x",
    "https://evil.example%40files.slack.com/x",
    " https://files.slack.com/x",
    "https://files.slack.com/x\n",
    "https://files.slаck.com/x",  # a Cyrillic а
    "//files.slack.com/x",
    "ftp://files.slack.com/x",
    "https://[::1]/x",
    "",
])
def test_anything_else_is_refused(url):
    assert not token_may_go_to(url, api_url=API)


def test_the_configured_api_host_is_trusted_with_its_scheme_and_port_only():
    api = "http://127.0.0.1:8123/api/"
    assert token_may_go_to("http://127.0.0.1:8123/files-pri/x", api_url=api)
    assert not token_may_go_to("http://127.0.0.1:8124/files-pri/x", api_url=api)
    assert not token_may_go_to("https://127.0.0.1:8123/files-pri/x", api_url=api)


@given(st.text(max_size=80))
def test_a_trusted_address_is_one_requests_would_send_to_a_slack_host(url):
    if token_may_go_to(url, api_url=API):
        prepared = requests.Request("GET", url).prepare()  # what the download actually connects to
        host = requests.utils.urlparse(prepared.url).hostname
        assert host == "slack.com" or host.endswith(".slack.com")


@given(st.sampled_from(["https://files.slack.com/x", "https://slack.com/a"]), st.text(max_size=20), st.text(max_size=20))
def test_no_insertion_into_a_trusted_address_sends_the_token_elsewhere(url, before, inserted):
    for candidate in (before + url, url[:8] + inserted + url[8:], url.replace("files.", inserted, 1)):
        if token_may_go_to(candidate, api_url=API):
            host = requests.utils.urlparse(requests.Request("GET", candidate).prepare().url).hostname
            assert host == "slack.com" or host.endswith(".slack.com"), candidate
