"""The Teams benchmark's floor: a bare WSGI app on StaffSafe's waitress settings that only validates the
Bot Framework token with PyJWT and answers 200.

Run `python -m bench.bare_teams --port P --app-id ID --metadata-url URL`. It fetches the OpenID metadata and
its key set once at start, then checks each request's `Authorization: Bearer` token as StaffSafe does (RS256
only, the key by kid, issuer, audience, exp/nbf with 5 minutes' skew) and answers `{}` without reading the
activity: the least any bot must do per request.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import requests

from bot.slack.serve import serve_http

HEALTH_PATH = "/healthz"
ISSUER = "https://api.botframework.com"
SKEW_SECONDS = 300


def signing_keys(metadata_url: str) -> dict[str, Any]:
    """Bot Framework's public keys by kid, from the metadata's jwks_uri."""
    metadata = requests.get(metadata_url, timeout=10).json()
    keys = requests.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    return {entry["kid"]: jwt.PyJWK(entry, algorithm="RS256").key for entry in keys}


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def token_checker(*, app_id: str, keys: dict[str, Any]) -> WsgiApp:
    """The WSGI app: 200 `{}` for a valid token, 401 otherwise; GET /healthz for the benchmark."""
    def answer(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return answer(start_response, "200 OK", b'{"ok": true}')
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)  # the body is read, as any server must, but not parsed
        scheme, _, token = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        try:
            if scheme != "Bearer":
                raise jwt.InvalidTokenError("not a Bearer token")
            key = keys[jwt.get_unverified_header(token)["kid"]]
            jwt.decode(token, key, algorithms=["RS256"], audience=app_id, issuer=ISSUER, leeway=SKEW_SECONDS,
                       options={"require": ["exp", "nbf", "iss", "aud"]})
        except (jwt.InvalidTokenError, KeyError):
            return answer(start_response, "401 Unauthorized", json.dumps({"error": "unauthorized"}).encode())
        return answer(start_response, "200 OK", b"{}")

    return app


def main() -> None:
    """Serve the floor until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--metadata-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    serve_http(token_checker(app_id=args.app_id, keys=signing_keys(args.metadata_url)), host="127.0.0.1",
               port=args.port)


if __name__ == "__main__":
    main()
