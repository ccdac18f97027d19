"""The benchmark's reference servers: a bare Bolt app that only acknowledges, on StaffSafe's waitress settings.

Run `python -m bench.bare_bolt --port P [--process-before-response]` with SLACK_SIGNING_SECRET,
SLACK_BOT_TOKEN and SLACK_API_URL set (Bolt asks the API's auth.test once, on the first request).
Without the flag, Bolt acks from a worker thread and polls for the ack every 10 ms; with it, the ack
is the HTTP answer, which makes this the framework's CPU floor. Signatures are checked by Bolt.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack.serve import serve_http

HEALTH_PATH = "/healthz"


def bare_app(*, signing_secret: str, token: str, api_url: str, command: str, callback_id: str,
             process_before_response: bool) -> App:
    """A Bolt app with one command and one view listener, each only acknowledging."""
    app = App(client=WebClient(token=token, base_url=api_url), signing_secret=signing_secret,
              process_before_response=process_before_response, token_verification_enabled=False)

    def acknowledge(ack: Ack) -> None:
        ack()

    app.command(command)(acknowledge)
    app.view(callback_id)(acknowledge)
    return app


def with_health(handler: SlackRequestHandler) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """Bolt's own WSGI adapter, plus the GET /healthz the benchmark waits for."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps({"ok": True}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return handler(environ, start_response)
    return wsgi


def main() -> None:
    """Serve a reference app until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--command", default="/report")
    parser.add_argument("--callback-id", default="report.form")
    parser.add_argument("--process-before-response", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = bare_app(signing_secret=os.environ["SLACK_SIGNING_SECRET"], token=os.environ["SLACK_BOT_TOKEN"],
                   api_url=os.environ["SLACK_API_URL"], command=args.command, callback_id=args.callback_id,
                   process_before_response=args.process_before_response)
    serve_http(with_health(SlackRequestHandler(app)), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
