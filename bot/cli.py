"""The `staffsafe` command: console, key management, and a configuration check."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.app import checking, open_store, running
from bot.crypto import Keyring
from bot.config import AppConfig, all_problems, load_config, recipient_warnings
from bot.content import load_content
from bot.console.app import ConsoleBot
from bot.domain.errors import ConfigError, ContentError, StaffSafeError
from bot.slack.checks import slack_problems, uses_slack
from bot.domain.org import Actor
from bot.domain.platform import CONSOLE, local_id, qualified_id
from bot.domain.ports import Conversations
from bot.domain.ui import counted
from handlers.outbox_state import waiting_by_platform, waiting_words
from bot.settings import Settings, settings_from_env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="staffsafe", description="StaffSafe: protect staff from cyberbullying.")
    parser.add_argument("--config", type=Path, help="app.yaml (default: $STAFFSAFE_CONFIG or ./app.yaml)")
    parser.add_argument("--data-dir", type=Path, help="data folder (default: $STAFFSAFE_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)
    console = sub.add_parser("console", help="run the bot in this terminal")
    console.add_argument("--user", required=True, help="who you are (a console user id, e.g. sam)")
    console.add_argument("--name", help="your display name (default: the user id)")
    console.add_argument("--lead", action="store_true", help="act as a designated lead (checked against app.yaml)")
    keys = sub.add_parser("keys", help="manage the encryption keys")
    keys.add_argument("action", choices=["rotate", "reencrypt"])
    check = sub.add_parser("check", help="validate app.yaml, content/ and the data folder, then exit")
    check.add_argument("--repair", action="store_true",
                       help="first move a damaged journal tail aside and list what it held")
    check.add_argument("--socket", action="store_true", help="check the settings Socket Mode needs, as serve --socket")
    serve = sub.add_parser("serve", help="run the Slack bot (HTTP on /slack/events, or --socket)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT or 3000)")
    serve.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--playground", action="store_true",
                       help="Teams only, WITHOUT authentication, for the Microsoft 365 Agents Playground on this "
                            "machine (loopback only)")
    migrate = sub.add_parser("migrate", help="copy the data folder into PostgreSQL (to run several instances), "
                             "verify the copy, and leave the folder as it is")
    migrate.add_argument("--to", required=True, metavar="postgresql://...",
                         help="the database to copy into: empty, or holding an interrupted copy of this folder")
    manifest = sub.add_parser("manifest", help="an app manifest generated from app.yaml (Slack: printed; "
                                               "Teams: an app package written to --out)")
    manifest.add_argument("platform", choices=["slack", "teams"])
    manifest.add_argument("--url", help="the public https:// address the bot is served at")
    manifest.add_argument("--socket", action="store_true", help="a Socket Mode app (no URL needed)")
    teams = manifest.add_argument_group("teams")
    teams.add_argument("--out", type=Path, help="where to write the Teams app package (a .zip)")
    teams.add_argument("--app-id", help="the bot's Entra application id (default: $CLIENT_ID or $MicrosoftAppId)")
    teams.add_argument("--website", help="the organisation's https:// website (default: --url)")
    teams.add_argument("--privacy-url", help="its privacy notice (default: the website)")
    teams.add_argument("--terms-url", help="its terms of use (default: the website)")
    teams.add_argument("--app-version", help="the package's version; raise it for each upload of a change")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `staffsafe` script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings = settings_from_env(config_path=args.config, data_dir=args.data_dir,
                                     port=getattr(args, "port", None), host=getattr(args, "host", None))
        return COMMANDS[args.command](settings, args)
    except StaffSafeError as error:
        print(f"staffsafe: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run_console(settings: Settings, args: argparse.Namespace) -> int:
    """Run the console bot until end of input."""
    interactive = sys.stdin.isatty()

    def read(prompt: str) -> str:
        if interactive:
            return input(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def write(text: str) -> None:
        print(text, flush=True)

    with running(settings) as (services, config):
        _log_to_file(settings.data_dir / CONSOLE_LOG)  # the terminal is the user's screen: no log lines in it
        user = qualified_id(CONSOLE, args.user.strip().lower())
        ConsoleBot(
            services=services,
            commands=config.commands,
            actor=Actor(id=user, name=args.name or config.organisation.names.get(user, local_id(user))),
            read=read,
            write=write,
            lead_mode=args.lead,
            policy=config,
        ).run()
    return 0


CONSOLE_LOG = "console.log"


def _log_to_file(path: Path) -> None:
    """Send log lines to a file instead of the terminal (they may say a case was refused, to its subject)."""
    path.parent.mkdir(parents=True, exist_ok=True)  # with a database, nothing else may have made the data folder
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    """Rotate the key file, or re-encrypt every record under the newest key."""
    from bot.crypto import SECRET_FILE_NAME, rotate_key_file

    if args.action == "rotate":
        if settings.secret_key:
            raise StaffSafeError("Keys come from STAFFSAFE_SECRET_KEY: put the new key first in that variable instead.")
        path = settings.secret_file or settings.data_dir / SECRET_FILE_NAME
        print(f"New key {rotate_key_file(path)} added to {path}. Run `staffsafe keys reencrypt` next.")
        if settings.database_url:
            print("Every instance on the database needs the new key file before you re-encrypt: copy it to each "
                  "and restart them.")
        return 0
    with open_store(settings) as store:
        count = store.reencrypt()
    print(f"Re-encrypted {count} records under the newest key.")
    return 0


def run_check(settings: Settings, args: argparse.Namespace) -> int:
    """Load everything once, as a start would, changing nothing, and say what a start would change; --repair mends first."""
    if args.repair:
        from datetime import datetime, timezone

        from bot.app import peek_keys
        from bot.store.repair import repair_data_folder

        for line in repair_data_folder(settings.data_dir, peek_keys(settings)[0], now=datetime.now(timezone.utc)):
            print(line)
    problems = start_problems(settings, socket_mode=args.socket, token=True)
    if problems:
        raise ConfigError(all_problems(problems))
    with checking(settings) as (services, config, next_start):
        print(f"OK: {config.organisation.name}, {counted(len(config.organisation.leads), 'lead')}, "
              f"{counted(services.store.open_report_count(), 'open report')}.")
        for change in next_start:
            print(change)
        for warning in recipient_warnings(config) + _install_warnings(config, services.store):
            print(f"Warning: {warning}")
        waiting = waiting_words(waiting_by_platform(services.store, services.clock.now()))
        if waiting:
            print(f"Outbox: items waiting to be sent ({waiting}); each waits for a worker of its platform.")
    return 0


def _install_warnings(config: AppConfig, conversations: Conversations) -> list[str]:
    """Who on Teams cannot be messaged yet (the app not installed); nothing if app.yaml names no one there."""
    from bot.teams.checks import not_installed, uses_teams

    return not_installed(config, conversations) if uses_teams(config) else []


def start_problems(settings: Settings, *, socket_mode: bool, slack: bool = False, token: bool = False) -> list[str]:
    """Everything a start would stop at, all at once: app.yaml, content/, and each configured platform's settings.

    `slack`: serving Slack, so its settings are checked even if app.yaml does not mention it;
    `token`: also ask Slack whether the bot token works and Entra for a Teams token (serve asks as it builds the app).
    """
    problems = []
    if settings.outbox_lease_seconds <= 0:
        problems.append("STAFFSAFE_OUTBOX_LEASE_SECONDS must be a number of seconds above 0 (the default is 120)")
    try:
        config = load_config(settings.config_path)
    except ConfigError as error:
        problems.append(str(error))
        config = None
    try:
        load_content()
    except ContentError as error:
        problems.append(str(error))
    if config is not None and (slack or uses_slack(config)):
        slack_settings = slack_problems(settings, config, socket_mode=socket_mode)
        problems += slack_settings
        if token and not slack_settings:
            from slack_sdk import WebClient

            from bot.slack.checks import check_token
            try:
                check_token(WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=5))
            except ConfigError as error:
                problems.append(str(error))
    if token and settings.teams is not None:
        from bot.teams.tokens import BotTokens, TokenConfigError

        try:
            BotTokens(settings=settings.teams).check()  # a wrong app id, secret or tenant, in Entra's words
        except TokenConfigError as error:
            problems.append(str(error))
    return problems


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve Slack, Teams or both until stopped; settings are checked before anything starts."""
    if args.playground:
        return run_playground(settings)
    from bot.app import build_served, teams_connection
    from bot.slack.checks import check_token
    from bot.slack.serve import serve_http, serve_socket

    logging.getLogger().setLevel(logging.INFO)
    slack = _serves_slack(settings)
    if not slack and settings.teams is None:
        raise ConfigError(NOTHING_TO_SERVE)
    if args.socket and settings.teams is not None:
        raise ConfigError("--socket serves Slack only (Socket Mode has no web address), but Teams is set up and "
                          "needs POST /api/messages: run `staffsafe serve` without --socket to serve both.")
    problems = start_problems(settings, socket_mode=args.socket, slack=slack)
    if problems:
        raise ConfigError(all_problems(problems))
    teams = teams_connection(settings.teams) if settings.teams is not None else None
    with running(settings) as (services, config):
        for warning in recipient_warnings(config) + _install_warnings(config, services.store):
            logging.getLogger("staffsafe").warning("%s", warning)
        runtime = build_served(services, config, settings, slack=slack, teams=teams)
        if runtime.slack is not None:
            door = runtime.slack.http
            door.workspace.team_id = door.workspace.team_id or check_token(runtime.slack.bolt.client)
        runtime.start()
        try:
            if args.socket and runtime.slack is not None:
                serve_socket(runtime.slack.bolt, door=runtime.slack.http, app_token=settings.slack_app_token,
                             api_url=settings.slack_api_url)
            else:
                serve_http(runtime.web, host=settings.host, port=settings.port, paths=runtime.web.paths)
        finally:
            runtime.stop()
    return 0


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the data folder into a PostgreSQL database, verify the copy; the folder is only read."""
    from bot.app import peek_keys
    from bot.store.migrate import migrate, summary
    from bot.store.postgres.store import PostgresStore, describe
    from bot.store.read_only import ReadOnlyStore

    if not args.to.startswith(("postgresql://", "postgres://")):
        raise ConfigError("--to must be a PostgreSQL address: postgresql://user@host:5432/database")
    folder = settings.data_dir
    if not (folder / "store.json").exists():
        raise StaffSafeError(f"there is no StaffSafe store in the data folder {folder}: nothing to copy "
                             "(give the folder with --data-dir or STAFFSAFE_DATA_DIR)")
    keyring, no_key_file = peek_keys(settings)
    if no_key_file:
        raise StaffSafeError(f"{no_key_file[0]} The data folder cannot be read without the keys it was written "
                             "with: give them with STAFFSAFE_SECRET_KEY or STAFFSAFE_SECRET_FILE.")
    where = describe(args.to)
    source = ReadOnlyStore.open(folder, keyring)  # a shared lock: refused while an instance runs on the folder
    try:
        print(f"Copying the data folder {folder} (only read: nothing in it changes) into the database {where}.",
              flush=True)
        with PostgresStore.open(args.to, keyring) as target:
            migration = migrate(source, target, say=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        source.close()
    for line in summary(migration):
        print(line)
    print(f"Keys: the database is sealed with the same keys as the data folder ({_key_words(settings, keyring)}). "
          "Every instance on the database needs them: give each the same STAFFSAFE_SECRET_KEY or "
          "STAFFSAFE_SECRET_FILE.")
    if migration.ok:
        print(f"Next: stop using the data folder, and start each instance with STAFFSAFE_DATABASE_URL set to this "
              f"database. The folder {folder} is unchanged: keep it as a backup.")
    return 0 if migration.ok else 1


def _key_words(settings: Settings, keyring: Keyring) -> str:
    """Where the keys come from, and their ids (never the keys)."""
    from bot.crypto import SECRET_FILE_NAME

    ids = ", ".join(keyring.key_ids)
    if settings.secret_key:
        return f"key ids {ids}, from STAFFSAFE_SECRET_KEY"
    if settings.secret_file:
        return f"key ids {ids}, from the key file {settings.secret_file}"
    return f"key ids {ids}, from the key file {settings.data_dir / SECRET_FILE_NAME} inside the data folder: " \
           "copy it to where the instances run"


NOTHING_TO_SERVE = ("Nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to serve Slack, or CLIENT_ID, "
                    "CLIENT_SECRET and TENANT_ID to serve Teams (or both).")


def _serves_slack(settings: Settings) -> bool:
    """Whether `serve` runs Slack: any Slack secret is set, or app.yaml names someone on Slack (whose settings
    are then checked, naming what is missing)."""
    if settings.slack_bot_token or settings.slack_signing_secret or settings.slack_app_token:
        return True
    try:
        return uses_slack(load_config(settings.config_path))
    except ConfigError:
        return settings.teams is None  # start_problems names what is wrong with app.yaml


def run_playground(settings: Settings) -> int:
    """Serve Teams for the Agents Playground: no token checks, no Entra, loopback only; said at every start."""
    from bot.app import build_served
    from bot.slack.serve import serve_http
    from bot.teams.playground import announce, check_listen_host, playground_connection

    logging.getLogger().setLevel(logging.INFO)
    check_listen_host(settings.host)
    with running(settings) as (services, config):
        announce(settings.host, settings.data_dir)
        runtime = build_served(services, config, settings, slack=False, teams=playground_connection(settings))
        runtime.start()
        try:
            serve_http(runtime.web, host=settings.host, port=settings.port, paths=runtime.web.paths)
        finally:
            runtime.stop()
    return 0


def run_manifest(settings: Settings, args: argparse.Namespace) -> int:
    """Print the Slack app manifest, or write the Teams app package, for app.yaml's command names."""
    from bot.config import load_config
    from bot.slack.manifest import manifest_yaml, slack_manifest

    config = load_config(settings.config_path)
    if args.platform == "teams":
        return write_teams_package(settings, args, config)
    print(manifest_yaml(slack_manifest(config, url=args.url, socket_mode=args.socket)), end="")
    return 0


def write_teams_package(settings: Settings, args: argparse.Namespace, config: AppConfig) -> int:
    """Write the Teams app package (manifest.json, color.png, outline.png) to --out."""
    from bot.teams.manifest import app_package, teams_manifest

    if args.out is None:
        raise ConfigError("Teams manifest: say where to write the app package, e.g. --out staffsafe-teams.zip")
    app_id = args.app_id or (settings.teams.app_id if settings.teams else "")
    manifest = teams_manifest(config, app_id=app_id.strip(), website=args.website or args.url,
                              privacy_url=args.privacy_url, terms_url=args.terms_url, url=args.url,
                              app_version=args.app_version)
    try:
        args.out.write_bytes(app_package(manifest))
    except OSError as error:
        raise StaffSafeError(f"Could not write {args.out}: {error.strerror}") from None
    print(f"Wrote {args.out}: upload it in the Teams admin center (Manage apps > Upload new app) or the "
          f"Developer Portal (Apps > Import app).")
    return 0


COMMANDS = {"console": run_console, "keys": run_keys, "check": run_check, "serve": run_serve,
            "manifest": run_manifest, "migrate": run_migrate}

if __name__ == "__main__":
    sys.exit(main())
