"""The Teams benchmark's StaffSafe: `staffsafe serve`'s Teams wiring, whose Connector may also reach the local fake.

Run `python -m bench.teams_server --port P --connector-origin http://127.0.0.1:N` with CLIENT_ID, CLIENT_SECRET,
TENANT_ID, TEAMS_OPENID_METADATA_URL, TEAMS_LOGIN_HOST and REQUESTS_CA_BUNDLE naming the bench's fakes. Every
inbound request is checked in full (tproto's InboundAuth), the bot's tokens come from the fake Entra through
msal, and the Connector client is the real one (`bot.app.teams_connection`); the only difference from
`staffsafe serve` is the extra allowed origin, since production sends the bot token to Teams' own hosts only.
"""

from __future__ import annotations

import argparse
import logging

from bot.app import build_served, running, teams_connection
from bot.settings import settings_from_env
from bot.slack.serve import serve_http


def main() -> None:
    """Serve Teams until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connector-origin", required=True, help="the fake Connector's http://127.0.0.1:PORT")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = settings_from_env(port=args.port, host="127.0.0.1")
    teams = settings.teams
    if teams is None:
        raise SystemExit("bench.teams_server: set CLIENT_ID, CLIENT_SECRET and TENANT_ID")
    connection = teams_connection(teams, allowed_origins=(args.connector_origin,))
    with running(settings) as (services, config):
        runtime = build_served(services, config, settings, slack=False, teams=connection)
        runtime.start()
        try:
            serve_http(runtime.web, host=settings.host, port=settings.port, paths=runtime.web.paths)
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()
