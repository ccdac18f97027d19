"""The composition root: settings -> config, content, store and services. Nothing else wires things up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import requests

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.signature import Clock as SignatureClock

from bot.config import AppConfig, load_config
from bot.content import load_content
from bot.crypto import Keyring, key_file_a_start_creates, load_keyring, new_key
from bot.domain.content import Content
from bot.domain.errors import ConfigError, StoreError
from bot.domain.guidance import GuidanceEngine
from bot.domain.platform import SLACK
from bot.domain.ports import Changes, Clock, Notifier, Notifiers, Store, SystemClock
from bot.domain.ui import counted
from bot.pacing import Pacer
from bot.settings import Settings
from bot.slack.directory import SlackDirectory
from bot.slack.http import EVENTS_PATH, SlackHttpApp, Workspace
from bot.slack.listeners import SlackListeners
from bot.slack.transport import SlackTransport, log_error
from bot.slack.logs import library_logger, quiet_slack_libraries
from bot.slack.notifier import SLACK_CAPABILITIES, SlackNotifier
from bot.store.postgres.read_only import open_read_only
from bot.store.postgres.store import PostgresStore, database_written, describe
from bot.store.read_only import ReadOnlyStore
from bot.teams.activities import TeamsActivities
from bot.teams.auth import InboundAuth
from bot.teams.capabilities import TEAMS, TEAMS_CAPABILITIES
from bot.teams.channels import TeamsChannels
from bot.teams.connector import ConnectorClient
from bot.teams.directory import TeamsDirectory, TimeZones
from bot.teams.endpoint import MESSAGES_PATH, Authenticator, TeamsEndpoint
from bot.teams.exports import ExportOffers
from bot.teams.invokes import Invokes
from bot.teams.notifier import Downloads, TeamsNotifier
from bot.teams.outbound import ChatReplies, Connector
from bot.teams.screenshots import Screenshots
from bot.teams.settings import TeamsSettings
from bot.teams.tokens import BotTokens, TokenUnavailable
from bot.store.tinydb_store import TinyDBStore
from bot.store.upgrades import adopt_unrouted, unrouted_items
from bot.web import PlatformDoors, WsgiApp
from bot.worker import OutboxWorker, Scheduler
from handlers.delivery import LEASE, deliver_due
from handlers.outbox_state import waiting_by_platform
from handlers.reminders import reminders_to_seed, seed_reminders
from handlers.scheduled import run_due_work
from handlers.services import Services


def load_keys(settings: Settings) -> Keyring:
    """The configured encryption keys."""
    return load_keyring(data_dir=settings.data_dir, secret_file=settings.secret_file, env_value=settings.secret_key)


def open_store(settings: Settings) -> TinyDBStore | PostgresStore:
    """The PostgreSQL store if STAFFSAFE_DATABASE_URL is set, else the embedded one in the data folder; with the configured keys."""
    if settings.database_url:
        _refuse_a_new_key_for_a_used_database(settings)
        return PostgresStore.open(settings.database_url, load_keys(settings))
    return TinyDBStore.open(settings.data_dir, load_keys(settings))


def _refuse_a_new_key_for_a_used_database(settings: Settings) -> None:
    # As beside a data folder that holds data: a fresh key could open nothing the database holds.
    created = key_file_a_start_creates(data_dir=settings.data_dir, secret_file=settings.secret_file,
                                       env_value=settings.secret_key)
    if created is not None and database_written(settings.database_url):
        raise ConfigError(
            f"the secret key file {created} is missing, but the database {describe(settings.database_url)} holds "
            "data; restore the key file from your backup (or give the key with STAFFSAFE_SECRET_KEY or a secret "
            "file, the same on every instance): a new key could not open the stored reports"
        )


@contextmanager
def running(settings: Settings, *, clock: Clock | None = None, store: Store | None = None) -> Iterator[tuple[Services, AppConfig]]:
    """Build everything from settings; close the store on the way out."""
    config = load_config(settings.config_path)
    content = load_content()
    store = store or open_store(settings)
    try:
        # A database never held items from before items carried their platform, unless copied from a
        # data folder that did: asking it first spares a start reading every report.
        if not isinstance(store, PostgresStore) or store.holds_unrouted_items():
            adopt_unrouted(store)
        services = _services(store, config, content, clock or SystemClock())
        seed_reminders(services, config.reminders)
        yield services, config
    finally:
        store.close()


@contextmanager
def checking(settings: Settings) -> Iterator[tuple[Services, AppConfig, list[str]]]:
    """Build what `running` builds, changing nothing on disk; and what a start would change, in words.

    The store is opened read-only (a data folder with nothing changed, or a read-only database session) and
    no key file is created; what a start adopts and seeds is only
    previewed in memory, so counts are a start's.
    """
    config = load_config(settings.config_path)
    content = load_content()
    keyring, new_key_file = peek_keys(settings)
    if settings.database_url:
        store = open_read_only(settings.database_url, keyring)
    else:
        store = ReadOnlyStore.open(settings.data_dir, keyring)
    try:
        services = _services(store, config, content, SystemClock())
        next_start = [*store.next_start, *new_key_file]
        unrouted = unrouted_items(store)
        if unrouted:
            store.preview(Changes(outbox=tuple(unrouted)))
            next_start.append(f"{counted(len(unrouted), 'outbox item')} stored before items carried their platform: "
                              "the next start gives each the platform it was meant for.")
        seeds = reminders_to_seed(services, config.reminders)
        if seeds:
            store.preview(Changes(reminders=tuple(seeds)))
            next_start.append(f"{counted(len(seeds), 'reminder')} from app.yaml not created yet: the next start creates "
                              f"{'it' if len(seeds) == 1 else 'them'} ({', '.join(r.name for r in seeds)}).")
        yield services, config, next_start
    finally:
        store.close()


def peek_keys(settings: Settings) -> tuple[Keyring, list[str]]:
    """The configured keys, creating none; where a start would create the key file, a throwaway key and words saying so.

    A start only creates a key file in a folder without data, so the throwaway key has nothing to open.
    """
    created = key_file_a_start_creates(data_dir=settings.data_dir, secret_file=settings.secret_file,
                                       env_value=settings.secret_key)
    if created is None:
        return load_keys(settings), []
    return Keyring(keys=[new_key()]), [f"There is no secret key file {created}: the next start creates one."]


def _services(store: Store, config: AppConfig, content: Content, clock: Clock) -> Services:
    return Services(store=store, content=content, clock=clock, org=config.organisation,
                    guidance=GuidanceEngine(content=content), commands=config.commands, limits=config.limits)


def scheduler_for(services: Services, config: AppConfig, *, wake_outbox: Callable[[], None],
                  poll_seconds: float = 15.0) -> Scheduler:
    """The scheduler thread: reminders, escalations and retention by app.yaml's settings, every `poll_seconds`."""
    return Scheduler(run_pass=lambda: run_due_work(services, config).queued, wake_outbox=wake_outbox,
                     poll_seconds=poll_seconds)


@dataclass(frozen=True, kw_only=True)
class SlackRuntime:
    """The Slack adapter, wired: Bolt with its listeners, the HTTP front door, the outbox worker."""

    bolt: App
    http: SlackHttpApp
    worker: OutboxWorker
    scheduler: Scheduler
    services: Services  # with Slack's directory
    listeners: Executor  # Bolt's lazy listeners: the work that follows each ack

    def start(self) -> None:
        """Start delivering and scheduling."""
        self.worker.start()
        self.scheduler.start()

    def stop(self) -> None:
        """Stop the background threads, once the work after acks already given is done (then the store may close)."""
        self.scheduler.stop()
        self.listeners.shutdown(wait=True)
        self.worker.stop()


def build_slack(services: Services, config: AppConfig, settings: Settings, *,
                signature_clock: SignatureClock | None = None, poll_seconds: float = 1.0,
                scheduler_seconds: float = 15.0, pacer: Pacer | None = None,
                other_notifiers: Sequence[Notifier] = ()) -> SlackRuntime:
    """Everything the Slack adapter needs, from checked settings; `other_notifiers` share its outbox worker."""
    quiet_slack_libraries()

    def web_client(retry_handlers: list, timeout: int = 10) -> WebClient:
        return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=timeout,
                         logger=library_logger("slack_sdk"), retry_handlers=retry_handlers)

    # Listener calls (opening modals, answering a button) may retry at once: they post nothing
    # twice that matters. Deliveries never retry inside the client: the outbox decides, durably.
    listener_client = web_client([ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)])
    # The directory answers inside a form's 3-second ack (is this an admin? can the bot post there?):
    # a short timeout, and its answers are cached.
    services = replace(services, directories={**services.directories, SLACK: SlackDirectory(web_client([], timeout=2))},
                       capabilities={**services.capabilities, SLACK: SLACK_CAPABILITIES})
    notifier = SlackNotifier(client=web_client([]), lead_channel=config.lead_channel.get("slack", ""))
    notifiers = Notifiers([notifier, *other_notifiers])
    worker, scheduler = build_outbox(services, config, notifiers, pacer=pacer, poll_seconds=poll_seconds,
                                     scheduler_seconds=scheduler_seconds,
                                     lease=timedelta(seconds=settings.outbox_lease_seconds))
    listeners = ThreadPoolExecutor(max_workers=5, thread_name_prefix="slack-listener")  # Bolt's own default size
    bolt = App(
        listener_executor=listeners,
        client=listener_client,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=False,  # done in SlackHttpApp, before Bolt can log a rejected body
        process_before_response=True,  # ack after the listener: a report is stored before Slack hears back
        logger=library_logger("slack_bolt"),
        # No auth.test per process: a Web API outage must not stop reports being received and stored.
        # `staffsafe serve` checks the token once at start instead, with a clear message.
        authorize=lambda enterprise_id, team_id, **_: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=settings.slack_bot_token),
    )
    bolt.error(log_error)
    SlackListeners(services=services, commands=config.commands,
                   transport=SlackTransport(wake_outbox=worker.wake)).configure(bolt)
    # Socket Mode needs no signing secret and serves no HTTP; the verifier only refuses an empty one.
    http = SlackHttpApp(app=bolt, signing_secret=settings.slack_signing_secret or "socket-mode",
                        healthy=lambda: worker.alive and scheduler.alive and services.store.healthy,
                        clock=signature_clock, detail=lambda: _health_detail(services, notifiers.platforms),
                        workspace=Workspace(team_id=settings.slack_team_id, app_id=settings.slack_app_id),
                        api_url=settings.slack_api_url)
    return SlackRuntime(bolt=bolt, http=http, worker=worker, scheduler=scheduler, services=services,
                        listeners=listeners)


def build_outbox(services: Services, config: AppConfig, notifiers: Notifiers, *, pacer: Pacer | None = None,
                 poll_seconds: float = 1.0, scheduler_seconds: float = 15.0,
                 lease: timedelta = LEASE) -> tuple[OutboxWorker, Scheduler]:
    """One outbox worker for every platform served here, and the scheduler that feeds it."""
    pacer = pacer or Pacer()
    worker = OutboxWorker(deliver=lambda: deliver_due(services, notifiers, pacer=pacer, lease=lease),
                          poll_seconds=poll_seconds)
    # Woken by every commit that queues work: this process's, and on a shared database other instances' too.
    services.store.on_queued(worker.wake)
    return worker, scheduler_for(services, config, wake_outbox=worker.wake, poll_seconds=scheduler_seconds)


def _health_detail(services: Services, platforms: Collection[str]) -> dict[str, object]:
    """What /healthz adds: outbox items due for a platform no worker here serves (they wait for one).

    Nothing while the store cannot be read (a database away): the check then fails with 503, not 500.
    """
    try:
        waiting = waiting_by_platform(services.store, services.clock.now(), running=platforms)
    except StoreError:
        return {}
    return {"outbox_waiting": waiting} if waiting else {}


SCREENSHOT_WINDOW = timedelta(minutes=30)  # images sent this soon after a report join it without its reference


def with_teams(services: Services, *, channels: TeamsChannels | None = None,
               time_zones: TimeZones | None = None) -> Services:
    """The services with Teams' directory and abilities (before the outbox worker and the endpoint are built)."""
    # Channel names from the teams' channel lists, where known (the catalog the reminder form offers).
    directory = TeamsDirectory(conversations=services.store, labels=channels.label if channels else None,
                               time_zones=time_zones)
    return replace(services, directories={**services.directories, TEAMS: directory},
                   capabilities={**services.capabilities, TEAMS: TEAMS_CAPABILITIES})


def teams_notifier(services: Services, config: AppConfig, *, connector: Connector, downloads: Downloads,
                   http: requests.Session | None = None) -> TeamsNotifier:
    """The Teams notifier, to register with the outbox worker beside the other platforms'."""
    return TeamsNotifier(connector=connector, downloads=downloads, conversations=services.store,
                         lead_channel=config.lead_channel.get(TEAMS, ""),
                         exports=ExportOffers(services=services, http=http or requests.Session()))


@dataclass(frozen=True, kw_only=True)
class TeamsRuntime:
    """The Teams adapter, wired: the `/api/messages` endpoint and the threads that answer after it."""

    endpoint: TeamsEndpoint
    notifier: TeamsNotifier
    replies: Executor  # answers sent after the HTTP answer (Teams takes none in it)

    def stop(self) -> None:
        """Finish the answers already promised (then the store may close)."""
        self.replies.shutdown(wait=True)


def build_teams(services: Services, config: AppConfig, *, auth: Authenticator, connector: Connector,
                notifier: TeamsNotifier, wake_outbox: Callable[[], None],
                screenshot_window: timedelta = SCREENSHOT_WINDOW,
                channels: TeamsChannels | None = None, time_zones: TimeZones | None = None) -> TeamsRuntime:
    """Everything the Teams adapter needs; `services` from `with_teams`, the worker already built."""
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="teams-reply")
    replies = ChatReplies(connector=connector, executor=executor)
    invokes = Invokes(services=services, replies=replies, wake_outbox=wake_outbox,
                      exports=notifier.exports, screenshot_minutes=int(screenshot_window.total_seconds() // 60),
                      channels=channels)
    dispatch = TeamsActivities(services=services, commands=config.commands, replies=replies, invokes=invokes,
                               screenshots=Screenshots(services=services, window=screenshot_window),
                               time_zones=time_zones)
    return TeamsRuntime(endpoint=TeamsEndpoint(auth=auth, dispatch=dispatch), notifier=notifier, replies=executor)


@dataclass(frozen=True, kw_only=True)
class TeamsConnection:
    """What Teams needs from outside, built from its settings (or fakes in tests): inbound checks and the Connector."""

    auth: Authenticator
    connector: Connector
    downloads: Downloads
    http: requests.Session | None = None  # for uploading exports a lead accepted (to their OneDrive)


def teams_connection(teams: TeamsSettings, *, allowed_origins: Sequence[str] = ()) -> TeamsConnection:
    """Teams' real collaborators from its settings: Bot Framework's inbound checks, msal tokens, the Connector.

    The bot's token is fetched once here, so a wrong app id, secret or tenant stops the start with one
    line (TokenConfigError); Entra out of reach only delays deliveries (the outbox retries), so it is
    logged and the start goes on. `allowed_origins`: service URLs besides Teams' own hosts (local fakes).
    """
    tokens = BotTokens(settings=teams)
    try:
        tokens.check()
    except TokenUnavailable as error:
        logging.getLogger("staffsafe").warning("Teams: %s; deliveries wait until it can be reached", error)
    connector = ConnectorClient(tokens=tokens, app_id=teams.app_id, tenant_id=teams.tenant_id,
                                allowed_origins=allowed_origins)
    return TeamsConnection(auth=InboundAuth(settings=teams), connector=connector, downloads=connector)


@dataclass(frozen=True, kw_only=True)
class ServedRuntime:
    """Every platform served by one `staffsafe serve`: one HTTP app, one outbox worker, one scheduler."""

    web: PlatformDoors
    worker: OutboxWorker
    scheduler: Scheduler
    services: Services  # with every served platform's directory
    slack: SlackRuntime | None
    teams: TeamsRuntime | None

    def start(self) -> None:
        """Start delivering and scheduling."""
        self.worker.start()
        self.scheduler.start()

    def stop(self) -> None:
        """Stop the background threads once the work already promised is done (then the store may close)."""
        if self.teams is not None:
            self.teams.stop()
        if self.slack is not None:
            self.slack.stop()  # its scheduler, its listeners, then the shared worker
            return
        self.scheduler.stop()
        self.worker.stop()


def build_served(services: Services, config: AppConfig, settings: Settings, *, slack: bool,
                 teams: TeamsConnection | None, poll_seconds: float = 1.0, scheduler_seconds: float = 15.0,
                 pacer: Pacer | None = None, signature_clock: SignatureClock | None = None) -> ServedRuntime:
    """Slack, Teams or both on one server (`/slack/events`, `/api/messages`, `/healthz`), sharing one outbox worker."""
    notifier, channels, time_zones = None, None, TimeZones()
    if teams is not None:
        channels = TeamsChannels(services=services, lister=teams.connector)
        services = with_teams(services, channels=channels, time_zones=time_zones)
        notifier = teams_notifier(services, config, connector=teams.connector, downloads=teams.downloads,
                                  http=teams.http)
    slack_runtime = None
    if slack:
        slack_runtime = build_slack(services, config, settings, poll_seconds=poll_seconds, pacer=pacer,
                                    scheduler_seconds=scheduler_seconds, signature_clock=signature_clock,
                                    other_notifiers=[notifier] if notifier else [])
        services, worker, scheduler = slack_runtime.services, slack_runtime.worker, slack_runtime.scheduler
    else:
        worker, scheduler = build_outbox(services, config, Notifiers([notifier] if notifier else []), pacer=pacer,
                                         poll_seconds=poll_seconds, scheduler_seconds=scheduler_seconds,
                                         lease=timedelta(seconds=settings.outbox_lease_seconds))
    doors: dict[str, WsgiApp] = {EVENTS_PATH: slack_runtime.http} if slack_runtime else {}
    teams_runtime = None
    if teams is not None and notifier is not None:
        teams_runtime = build_teams(services, config, auth=teams.auth, connector=teams.connector,
                                    notifier=notifier, wake_outbox=worker.wake, channels=channels,
                                    time_zones=time_zones)
        doors[MESSAGES_PATH] = teams_runtime.endpoint
    served = services
    platforms = ({SLACK} if slack_runtime else set()) | ({TEAMS} if notifier else set())

    web = PlatformDoors(doors=doors, healthy=lambda: worker.alive and scheduler.alive and served.store.healthy,
                        detail=lambda: _health_detail(served, platforms))
    return ServedRuntime(web=web, worker=worker, scheduler=scheduler, services=services, slack=slack_runtime,
                         teams=teams_runtime)
