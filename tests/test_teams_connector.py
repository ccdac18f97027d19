"""The Connector client against a local Bot Connector: paths, bodies, tokens, and every failure's retry category."""

from __future__ import annotations

import threading
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot.domain.ports import PermanentFailure, RateLimited, TemporaryFailure, UncertainDelivery
from bot.pacing import RateWindows
from bot.teams.connector import ConnectorClient, service_url_allowed, teams_limits
from bot.teams.tokens import BotTokens, WrongSecret
from testkit.fake_botframework import APP_ID, TENANT_ID
from testkit.fake_connector import FakeConnector
from testkit.fake_entra import FakeEntra
from bot.teams.settings import TeamsSettings

PERSONAL = "a:1personal-chat"
CHANNEL = "19:abc123@thread.tacv2;messageid=1700000000001"


class StaticTokens:
    """A token source that always hands out the same token, or fails as told."""

    def __init__(self, token: str = "bot-token") -> None:
        self.value = token
        self.error: Exception | None = None

    def token(self) -> str:
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture
def teams():
    with FakeConnector() as fake:
        yield fake


@pytest.fixture
def tokens():
    return StaticTokens()


@pytest.fixture
def client(teams, tokens):
    return ConnectorClient(tokens=tokens, app_id=APP_ID, tenant_id=TENANT_ID, allowed_origins=(teams.base_url,))


def test_send_posts_to_the_conversation_under_the_service_urls_path(teams, client):
    activity_id = client.send(teams.service_url, PERSONAL, {"type": "message", "text": "hello"})
    [call] = teams.calls("send")
    assert call.path == "/teams/v3/conversations/a%3A1personal-chat/activities"
    assert (call.conversation_id, call.body, call.authorization) == \
        (PERSONAL, {"type": "message", "text": "hello"}, "Bearer bot-token")
    assert teams.activity(PERSONAL, activity_id) == {"type": "message", "text": "hello"}


def test_a_service_url_without_its_trailing_slash_keeps_its_path(teams, client):
    client.send(teams.service_url.rstrip("/"), PERSONAL, {"type": "message"})
    assert teams.calls("send")[0].path.startswith("/teams/v3/")


def test_conversation_ids_are_quoted_whole(teams, client):
    client.reply(teams.service_url, CHANNEL, "1700000000001", {"type": "message", "text": "in thread"})
    [call] = teams.calls("reply")
    assert call.path == ("/teams/v3/conversations/19%3Aabc123%40thread.tacv2%3Bmessageid%3D1700000000001"
                         "/activities/1700000000001")
    assert (call.conversation_id, call.activity_id) == (CHANNEL, "1700000000001")


def test_update_replaces_an_activity_sent_earlier(teams, client):
    activity_id = client.send(teams.service_url, PERSONAL, {"type": "message", "text": "v1"})
    client.update(teams.service_url, PERSONAL, activity_id, {"type": "message", "text": "v2"})
    [call] = teams.calls("update")
    assert call.method == "PUT" and call.activity_id == activity_id
    assert teams.activity(PERSONAL, activity_id) == {"type": "message", "text": "v2", "id": activity_id}


def test_create_conversation_opens_a_1_to_1_chat_in_the_tenant(teams, client):
    conversation = client.create_conversation(teams.service_url, member_id="29:1user")
    [call] = teams.calls("create")
    assert call.path == "/teams/v3/conversations"
    assert call.body == {"bot": {"id": f"28:{APP_ID}"}, "members": [{"id": "29:1user"}], "isGroup": False,
                         "tenantId": TENANT_ID, "channelData": {"tenant": {"id": TENANT_ID}}}
    assert client.create_conversation(teams.service_url, member_id="29:1user") == conversation  # as Teams: the same chat
    other = "0f0f0f0f-0000-4000-8000-000000000000"
    client.create_conversation(teams.service_url, member_id="29:2user", tenant=other)
    assert teams.calls("create")[-1].body["channelData"] == {"tenant": {"id": other}}


# (the scripted answer, the error raised) for a send
FAILURES = [
    (dict(status=429, retry_after="7"), RateLimited, 7.0),
    (dict(status=429), RateLimited, None),
    (dict(status=412), TemporaryFailure, None),
    (dict(status=503, retry_after="2"), TemporaryFailure, 2.0),
    (dict(status=502), UncertainDelivery, None),
    (dict(status=504), UncertainDelivery, None),
    (dict(status=500), UncertainDelivery, None),
    (dict(status=401), TemporaryFailure, None),
    (dict(disconnect="before"), UncertainDelivery, None),
    (dict(disconnect="after"), UncertainDelivery, None),
]


@pytest.mark.parametrize("fault, kind, retry_after", FAILURES, ids=[str(f) for f, _, _ in FAILURES])
def test_failures_worth_retrying_are_raised_for_the_outbox_to_retry(teams, client, fault, kind, retry_after):
    teams.fail_next("send", **fault)
    with pytest.raises(TemporaryFailure) as raised:
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    assert type(raised.value) is kind and raised.value.retry_after == retry_after
    assert len(teams.attempts("send")) == 1  # the client itself never loops
    client.send(teams.service_url, PERSONAL, {"type": "message"})  # and the next try goes through


def test_an_update_or_create_that_fails_is_temporary_not_uncertain(teams, client):
    activity_id = client.send(teams.service_url, PERSONAL, {"type": "message"})
    teams.fail_next("update", status=502)
    with pytest.raises(TemporaryFailure) as raised:
        client.update(teams.service_url, PERSONAL, activity_id, {"type": "message"})
    assert type(raised.value) is TemporaryFailure  # an update twice is harmless
    teams.fail_next("create", disconnect="after")
    with pytest.raises(TemporaryFailure):
        client.create_conversation(teams.service_url, member_id="29:1user")


def test_retry_after_as_an_http_date(teams, client):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    teams.fail_next("send", status=429, retry_after=format_datetime(when, usegmt=True))
    with pytest.raises(RateLimited) as raised:
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    assert 25 <= raised.value.retry_after <= 31


@pytest.mark.parametrize("code", ["BotNotInConversationRoster", "MessageWritesBlocked"])
def test_a_403_refusal_is_permanent_with_its_code(teams, client, code):
    teams.fail_next("send", status=403, code=code)
    with pytest.raises(PermanentFailure) as raised:
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    assert str(raised.value) == code


def test_other_refusals_are_permanent_with_their_code_and_never_the_message(teams, client):
    teams.fail_next("send", status=400, code="BadArgument")
    with pytest.raises(PermanentFailure, match="^BadArgument$"):
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    with pytest.raises(PermanentFailure, match="^ActivityNotFoundInConversation$"):
        client.update(teams.service_url, PERSONAL, "missing", {"type": "message"})
    teams.fail_next("send", status=403, code="a code with spaces <script>")
    with pytest.raises(PermanentFailure, match="^HTTP403$"):
        client.send(teams.service_url, PERSONAL, {"type": "message"})


def test_nothing_listening_is_temporary_and_certainly_not_sent(tokens):
    client = ConnectorClient(tokens=tokens, app_id=APP_ID, tenant_id=TENANT_ID, allowed_origins=("http://127.0.0.1:9",))
    with pytest.raises(TemporaryFailure) as raised:
        client.send("http://127.0.0.1:9/teams/", PERSONAL, {"type": "message"})
    assert type(raised.value) is TemporaryFailure


def test_no_bot_token_is_temporary_and_nothing_is_sent(teams, client, tokens):
    tokens.error = WrongSecret("Entra refused the client secret")
    with pytest.raises(TemporaryFailure, match="no bot token"):
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    assert teams.attempts() == []


@pytest.mark.parametrize("url", ["https://attacker.example/teams/", "http://smba.trafficmanager.net/teams/",
                                 "https://smba.trafficmanager.net.attacker.example/", "https://user@smba.trafficmanager.net/",
                                 "https://smba.trafficmanager.net:8443/teams/", "https://smba.trafficmanager.net\\@x/"])
def test_the_bot_token_never_goes_to_another_host(teams, client, url):
    with pytest.raises(PermanentFailure, match="ServiceUrlNotAllowed"):
        client.send(url, PERSONAL, {"type": "message"})
    with pytest.raises(PermanentFailure, match="ServiceUrlNotAllowed"):
        client.download(url + "v3/attachments/x/views/original")


def test_teams_service_hosts_are_allowed():
    for url in ["https://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net/teams/",
                "https://smba.infra.gcc.teams.microsoft.com/gcc/", "https://smba.infra.gov.teams.microsoft.us/",
                "https://SMBA.trafficmanager.net/emea/"]:
        assert service_url_allowed(url)
    assert service_url_allowed("http://127.0.0.1:8080/", ["http://127.0.0.1:8080"])
    assert not service_url_allowed("http://127.0.0.1:8081/", ["http://127.0.0.1:8080"])


def test_an_attachment_downloads_with_the_bot_token_within_the_cap(teams, client):
    url = teams.add_file("att-1", "image/png", b"\x89PNG" + b"x" * 1000)
    data, media_type = client.download(url)
    assert (media_type, len(data)) == ("image/png", 1004)
    assert teams.calls("download")[0].authorization == "Bearer bot-token"
    with pytest.raises(PermanentFailure, match="FileTooLarge"):
        client.download(url, max_bytes=500)
    with pytest.raises(PermanentFailure, match="NotFound"):
        client.download(teams.add_file("att-2", "image/png", b"x").replace("att-2", "att-3"))
    teams.fail_next("download", status=503)
    with pytest.raises(TemporaryFailure):
        client.download(url)


def test_tokens_come_from_entra_through_msal(tmp_path, monkeypatch):
    with FakeEntra(tenant_id=TENANT_ID, app_id=APP_ID, secret="s", directory=tmp_path) as entra:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))
        bot_tokens = BotTokens(settings=TeamsSettings(app_id=APP_ID, tenant_id=TENANT_ID, client_secret="s",
                                                      login_host=entra.login_host))
        with FakeConnector(token_ok=lambda token: token in entra.issued) as teams:
            client = ConnectorClient(tokens=bot_tokens, app_id=APP_ID, tenant_id=TENANT_ID,
                                     allowed_origins=(teams.base_url,))
            for _ in range(3):
                client.send(teams.service_url, PERSONAL, {"type": "message"})
            assert len(teams.calls("send")) == 3 and entra.requests("token") == 1


def test_sends_are_paced_to_seven_a_second_per_conversation_across_threads(teams, tokens):
    # 429 past 7 per conversation, 50 overall, as Teams; over 0.8 s, not 1 s, so a loaded machine's scheduling
    # jitter between the client's pacing and the fake's clock cannot fail the test.
    teams.limit(per_conversation=(7, 0.8), overall=(50, 0.8))
    client = ConnectorClient(tokens=tokens, app_id=APP_ID, tenant_id=TENANT_ID, allowed_origins=(teams.base_url,),
                             windows=RateWindows(max_wait=5.0))
    failures: list[Exception] = []

    def send(count: int) -> None:
        for _ in range(count):
            try:
                client.send(teams.service_url, PERSONAL, {"type": "message"})
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                failures.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(5,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == [] and teams.rate_limited == 0
    assert len(teams.calls("send")) == 15
    assert time.monotonic() - started >= 1.0  # 15 sends to one conversation need more than two seconds' windows


def test_a_wait_past_the_limit_hands_the_item_back_without_sending(teams, tokens):
    client = ConnectorClient(tokens=tokens, app_id=APP_ID, tenant_id=TENANT_ID, allowed_origins=(teams.base_url,),
                             windows=RateWindows(max_wait=0.0))
    for _ in range(7):
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    with pytest.raises(TemporaryFailure) as raised:
        client.send(teams.service_url, PERSONAL, {"type": "message"})
    assert type(raised.value) is TemporaryFailure and 0 < raised.value.retry_after <= 1.0
    assert len(teams.attempts("send")) == 7
    client.send(teams.service_url, "a:1other", {"type": "message"})  # another conversation is not held up


def test_the_limits_are_teams_published_figures():
    limits = {(limit.count, round(limit.seconds)) for limit in teams_limits("t", "c")}
    assert {(7, 1), (50, 1)} <= limits
    assert all(limit.seconds >= 1.0 for limit in teams_limits("t", "c"))
    assert [limit.key for limit in teams_limits("t")] == ["teams-tenant:t"]


def test_an_empty_token_sends_no_authorization_header(tokens):
    tokens.value = ""  # the Agents Playground's Connector asks for none
    with FakeConnector(token_ok=lambda token: True) as teams:
        client = ConnectorClient(tokens=tokens, app_id=APP_ID, tenant_id=TENANT_ID, allowed_origins=(teams.base_url,))
        with pytest.raises(TemporaryFailure):  # this fake, like Teams, wants a token
            client.send(teams.service_url, PERSONAL, {"type": "message"})
        assert teams.attempts("send")[0].authorization == ""


def test_an_attachment_streams_in_chunks_and_stops_past_the_cap(teams, client):
    url = teams.add_file("big", "image/jpeg", b"y" * 300_000)
    with client.open_download(url) as streamed:
        chunks = list(streamed.chunks)
    assert streamed.media_type == "image/jpeg" and len(chunks) > 1 and sum(map(len, chunks)) == 300_000
    teams.hide_length = True  # no Content-Length: the cap is enforced while streaming
    with client.open_download(url, max_bytes=100_000) as streamed:
        with pytest.raises(PermanentFailure, match="FileTooLarge"):
            for _ in streamed.chunks:
                pass
