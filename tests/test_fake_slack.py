"""The Slack fake behaves like the Web API as seen through the real slack_sdk WebClient."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.fake_slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    # No retry handlers: each test sees exactly what one request got (slack_sdk retries connection errors).
    return WebClient(token=slack.token, base_url=slack.api_url, retry_handlers=[], timeout=5)


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
        assert slack.wait_for("chat.postMessage", timeout=2)[0].args["text"] == "later"
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
