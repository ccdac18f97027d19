"""The Slack fake behaves like the Web API as seen through the real slack_sdk WebClient."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from testkit.fake_slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return connect(slack)


def connect(fake: FakeSlack) -> WebClient:
    # No retry handlers: each test sees exactly what one request got (slack_sdk retries connection errors).
    return WebClient(token=fake.token, base_url=fake.api_url, retry_handlers=[], timeout=5)


def download(url: str, token: str | None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return bytes(response.read())


def test_auth_test_names_the_bot(client: WebClient, slack: FakeSlack) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (slack.bot_user_id, slack.bot_id, "T0FAKE")


def test_posts_get_increasing_unique_ts_and_are_recorded(client: WebClient, slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New report*"}}]
    first = client.chat_postMessage(channel="C1", text="one", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="two")
    assert first["ts"] < second["ts"] and first["ts"] == "1700000000.000100"
    assert first["channel"] == "C1" and first["message"]["text"] == "one"
    recorded = slack.calls("chat.postMessage")
    assert [call.args["text"] for call in recorded] == ["one", "two"]
    assert recorded[0].args["blocks"] == blocks
    assert recorded[0].headers["Authorization"] == f"Bearer {slack.token}"


def test_posting_to_a_user_lands_in_their_dm(client: WebClient) -> None:
    assert client.chat_postMessage(channel="U123", text="hi")["channel"] == "DU123"
    assert client.conversations_open(users="U123")["channel"]["id"] == "DU123"


def test_update_needs_a_message_the_fake_posted(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="old")
    assert client.chat_update(channel="C1", ts=posted["ts"], text="new")["message"]["text"] == "new"
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C1", ts="1.000000", text="new")
    assert caught.value.response["error"] == "message_not_found"


def test_form_fields_holding_json_are_decoded(client: WebClient, slack: FakeSlack) -> None:
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": '[{"type": "divider"}]'})
    assert slack.calls("chat.postMessage")[0].args["blocks"] == [{"type": "divider"}]


def test_views_answer_with_an_id_and_hash_and_update_in_place(client: WebClient, slack: FakeSlack) -> None:
    modal = {"type": "modal", "callback_id": "report.submit", "title": {"type": "plain_text", "text": "Report"}}
    opened = client.views_open(trigger_id="123.456", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["hash"] and opened["callback_id"] == "report.submit"
    updated = client.views_update(view_id=opened["id"], view=modal)["view"]
    assert updated["id"] == opened["id"]
    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert home["type"] == "home"
    assert [call.method for call in slack.calls()] == ["views.open", "views.update", "views.publish"]


def test_ephemeral_and_users_info(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("U1", "Sam Jones")
    assert client.chat_postEphemeral(channel="C1", user="U1", text="only you")["message_ts"]
    assert client.users_info(user="U1")["user"]["real_name"] == "Sam Jones"


def test_429_carries_retry_after(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert slack.calls("chat.postMessage") == [] and len(slack.attempts("chat.postMessage")) == 1
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # only the next one failed


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_surface_as_slack_api_errors(client: WebClient, slack: FakeSlack, status: int) -> None:
    slack.fail_next("chat.postMessage", status=status, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel="C1", text="hi")
        assert caught.value.response.status_code == status
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]


def test_error_answers_200_with_ok_false(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert (caught.value.response.status_code, caught.value.response["error"]) == (200, "channel_not_found")


def test_disconnect_is_a_connection_error_and_nothing_is_posted(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", disconnect=True)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        client.chat_postMessage(channel="C1", text="hi")
    assert slack.calls("chat.postMessage") == []


def test_disconnect_after_processing_posts_but_the_client_sees_an_error(client: WebClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", disconnect_after_processing=True)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        client.chat_postMessage(channel="C1", text="hi")
    assert len(slack.calls("chat.postMessage")) == 1


def test_down_fails_everything_until_up(client: WebClient, slack: FakeSlack) -> None:
    slack.down()
    for call in (client.auth_test, lambda: client.chat_postMessage(channel="C1", text="hi")):
        with pytest.raises(SlackApiError) as caught:
            call()
        assert caught.value.response.status_code == 503
    slack.up()
    assert client.auth_test()["ok"]


def test_bad_token_is_invalid_auth(slack: FakeSlack) -> None:
    intruder = WebClient(token="xoxb-wrong", base_url=slack.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as caught:
        intruder.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response["error"] == "invalid_auth"
    assert slack.calls() == []


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("chat.scheduleMessage", json={"channel": "C1", "text": "hi", "post_at": 1})
    assert caught.value.response["error"] == "unknown_method"


def test_file_info_and_download_need_the_token(client: WebClient, slack: FakeSlack) -> None:
    slack.add_file("F1", "screenshot.png", "image/png", b"\x89PNG fake")
    info = client.files_info(file="F1")["file"]
    assert (info["name"], info["mimetype"], info["size"]) == ("screenshot.png", "image/png", 9)
    assert info["url_private_download"] == f"{slack.base_url}/files-pri/T0FAKE-F1/download/screenshot.png"
    assert download(info["url_private_download"], slack.token) == b"\x89PNG fake"
    for token in (None, "xoxb-wrong"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            download(info["url_private_download"], token)
        assert caught.value.code == 403
    with pytest.raises(SlackApiError):
        client.files_info(file="F404")


def test_upload_flow_shares_the_bytes_in_the_channel(client: WebClient, slack: FakeSlack) -> None:
    answer = client.files_upload_v2(channel="D1", content="case export", filename="case.txt",
                                    initial_comment="Your export")
    [upload] = slack.uploads
    assert (upload.data, upload.filename, upload.channel_id, upload.initial_comment) == (
        b"case export", "case.txt", "D1", "Your export")
    assert answer["file"]["id"] == upload.file_id
    assert client.files_info(file=upload.file_id)["file"]["name"] == "case.txt"


def test_response_url_posts_are_recorded(slack: FakeSlack) -> None:
    sent = WebhookClient(slack.response_url("cmd-1")).send(text="Thanks", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert slack.responses("cmd-1")[0].args == {"text": "Thanks", "response_type": "ephemeral"}


def test_wait_for_blocks_until_an_asynchronous_call_arrives(client: WebClient, slack: FakeSlack) -> None:
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="later"))
    timer.start()
    try:
        assert slack.wait_for("chat.postMessage")[0].args["text"] == "later"
    finally:
        timer.join()
    with pytest.raises(AssertionError, match="chat.update"):
        slack.wait_for("chat.update", timeout=0.05)


def test_fail_next_is_consumed_once_across_threads(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=503, times=3)
    statuses: list[int] = []
    stamps: list[str] = []
    lock = threading.Lock()

    def post() -> None:
        client = WebClient(token=slack.token, base_url=slack.api_url, retry_handlers=[])
        try:
            answer = client.chat_postMessage(channel="C1", text="hi")
            status, ts = answer.status_code, answer["ts"]
        except SlackApiError as error:
            status, ts = error.response.status_code, None
        with lock:
            statuses.append(status)
            stamps.extend([ts] if ts else [])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [503] * 3
    assert len(set(stamps)) == 5 == len(slack.calls("chat.postMessage"))


class Clock:
    """A monotonic clock the test moves by hand, so rate limits need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def post_error(client: WebClient, channel: str) -> tuple[int, str, str | None]:
    """(HTTP status, Slack error, Retry-After) of a post expected to fail."""
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=channel, text="hi")
    response = caught.value.response
    return response.status_code, response["error"], response.headers.get("Retry-After")


def test_channel_limit_answers_429_until_the_bucket_refills() -> None:
    clock = Clock()
    with FakeSlack(clock=clock, channel_rate=0.25, channel_burst=2) as limited:
        client = connect(limited)
        for text in ("one", "two"):
            assert client.chat_postMessage(channel="C1", text=text)["ok"]
        assert post_error(client, "C1") == (429, "ratelimited", "4")  # one message every 4 s
        assert client.chat_postMessage(channel="C2", text="elsewhere")["ok"]  # each channel has its own bucket
        clock.advance(3)
        assert post_error(client, "C1") == (429, "ratelimited", "1")  # a quarter token short: rounded up
        clock.advance(1)
        assert client.chat_postMessage(channel="C1", text="three")["ok"]
        assert [m["text"] for m in limited.posts_in("C1")] == ["one", "two", "three"]  # 429s stored nothing
        assert limited.rate_limited == 2
        assert len(limited.attempts("chat.postMessage")) == 6 and len(limited.calls("chat.postMessage")) == 4


def test_channel_limit_on_the_real_clock(slack: FakeSlack, client: WebClient) -> None:
    # One a second: the refused post must follow the first before its token is back, even on a loaded machine.
    slack.limit(channel_rate=1)
    assert client.chat_postMessage(channel="C1", text="one")["ok"]
    assert post_error(client, "C1") == (429, "ratelimited", "1")  # never less than a second, as Slack says
    time.sleep(1.0)
    assert client.chat_postMessage(channel="C1", text="two")["ok"]


def test_workspace_limit_spans_channels() -> None:
    clock = Clock()
    with FakeSlack(clock=clock, workspace_rate=2, workspace_burst=3) as limited:
        client = connect(limited)
        for channel in ("C1", "C2", "U1"):
            assert client.chat_postMessage(channel=channel, text="hi")["ok"]
        assert post_error(client, "C4") == (429, "ratelimited", "1")
        assert limited.posts_in("C4") == [] and client.conversations_history(channel="C4")["messages"] == []
        assert client.auth_test()["ok"]  # only chat.postMessage is limited
        clock.advance(0.5)
        assert client.chat_postMessage(channel="C4", text="hi")["ok"]
        assert limited.rate_limited == 1


def test_limits_can_be_changed_and_lifted_at_runtime(slack: FakeSlack, client: WebClient) -> None:
    slack.limit(channel_rate=0.01)
    client.chat_postMessage(channel="C1", text="one")
    assert post_error(client, "C1")[0] == 429
    slack.limit()
    for _ in range(5):
        assert client.chat_postMessage(channel="C1", text="again")["ok"]
    with pytest.raises(ValueError):
        slack.limit(workspace_rate=0)
    with pytest.raises(ValueError):
        slack.limit(channel_rate=1, channel_burst=0)


def test_rate_limit_admits_exactly_the_burst_across_threads() -> None:
    with FakeSlack(clock=Clock(), channel_rate=0.001, channel_burst=3) as limited:
        statuses: list[int] = []
        lock = threading.Lock()

        def post() -> None:
            client = connect(limited)
            try:
                status = client.chat_postMessage(channel="C1", text="hi").status_code
            except SlackApiError as error:
                status = error.response.status_code
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=post) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 3 + [429] * 7
        assert limited.rate_limited == 7 and len(limited.posts_in("C1")) == 3


def test_posting_after_remove_bot_is_not_in_channel(client: WebClient, slack: FakeSlack) -> None:
    slack.add_channel("C1", name="general")
    assert client.chat_postMessage(channel="C1", text="before")["ok"]
    slack.remove_bot("C1")
    assert post_error(client, "C1") == (200, "not_in_channel", None)
    assert [m["text"] for m in slack.posts_in("C1")] == ["before"]
    slack.add_channel("C2", private=True, member=False)
    assert post_error(client, "C2")[1] == "channel_not_found"  # private channels are invisible to non-members


def test_posting_to_an_archived_channel_is_is_archived(client: WebClient, slack: FakeSlack) -> None:
    slack.add_channel("C1", archived=True)
    assert post_error(client, "C1") == (200, "is_archived", None)
    assert slack.posts_in("C1") == [] and slack.calls() == []


def test_strict_channels_rejects_unknown_ids_but_not_dms() -> None:
    with FakeSlack(strict_channels=True) as strict:
        client = connect(strict)
        assert post_error(client, "C404")[1] == "channel_not_found"
        strict.add_channel("C1")
        assert client.chat_postMessage(channel="C1", text="hi")["ok"]
        assert client.chat_postMessage(channel="U1", text="hi")["channel"] == "DU1"
        group = client.conversations_open(users="U1,U2")["channel"]["id"]
        assert client.chat_postMessage(channel=group, text="hi")["ok"]


def test_conversations_info_describes_channels_and_membership(client: WebClient, slack: FakeSlack) -> None:
    slack.add_channel("C1", name="general")
    slack.add_channel("C2", name="leads", private=True)
    general = client.conversations_info(channel="C1")["channel"]
    assert general == {"id": "C1", "name": "general", "is_channel": True, "is_group": False, "is_im": False,
                       "is_mpim": False, "is_private": False, "is_archived": False, "is_member": True}
    assert client.conversations_info(channel="C2")["channel"]["is_private"] is True
    slack.remove_bot("C1")
    assert client.conversations_info(channel="C1")["channel"]["is_member"] is False
    slack.add_channel("C3", archived=True)
    assert client.conversations_info(channel="C3")["channel"]["is_archived"] is True
    assert client.conversations_info(channel="U1")["channel"] == {
        "id": "DU1", "is_im": True, "user": "U1", "is_archived": False, "is_open": True}
    for unknown in ("C404", ""):
        with pytest.raises(SlackApiError) as caught:
            client.conversations_info(channel=unknown)
        assert caught.value.response["error"] == "channel_not_found"


def test_users_info_reports_admin_owner_and_time_zone(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("U1", "Ana Admin", is_admin=True, is_owner=True, tz="America/New_York")
    ana = client.users_info(user="U1")["user"]
    assert (ana["real_name"], ana["is_admin"], ana["is_owner"], ana["tz"]) == (
        "Ana Admin", True, True, "America/New_York")
    stranger = client.users_info(user="U2")["user"]
    assert (stranger["is_admin"], stranger["is_owner"], stranger["tz"]) == (False, False, "Europe/London")


def test_posts_in_lists_one_channel_oldest_first(client: WebClient, slack: FakeSlack) -> None:
    first = client.chat_postMessage(channel="C1", text="one")
    client.chat_postMessage(channel="C2", text="other")
    client.chat_postMessage(channel="C1", text="two")
    client.chat_update(channel="C1", ts=first["ts"], text="one, edited")
    client.chat_postMessage(channel="U1", text="direct")
    assert [m["text"] for m in slack.posts_in("C1")] == ["one, edited", "two"]
    assert [m["text"] for m in slack.posts_in("U1")] == ["direct"] == [m["text"] for m in slack.posts_in("DU1")]
    assert slack.posts_in("C404") == []
