"""The console adapter: the whole bot in a terminal, like Hubot's shell or Errbot's text backend."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from itertools import count

from bot.console.render import field_prompt, inert, render_card, render_reply
from bot.domain.errors import StaffSafeError, user_message
from bot.incidents import log_incident
from bot.domain.org import Actor
from bot.domain.dates import read_date
from bot.domain.people import name_person
from bot.domain.platform import CONSOLE, local_id, qualified_id
from bot.domain.policy import Policy
from bot.domain.ports import Destination, FetchedFile, OutgoingFile, PermanentFailure
from bot.domain.report_form import FORM_ID, check_field
from bot.domain.ui import Answers, Card, Document, Field, FieldKind, Form, FormResult, Reply, Section
from handlers import export, reminders
from handlers.actions import Action
from handlers.delivery import deliver_due
from handlers.forms import NAMED
from handlers.routes import COMMANDS, ROUTES, Command, command_context
from handlers.scheduled import run_due_work
from handlers.services import Services

log = logging.getLogger(__name__)

CANCEL = "/cancel"


class EndOfInput(Exception):
    """Standard input closed, or the user cancelled, in the middle of a form."""


class LeaveForm(EndOfInput):
    """The user typed a command in the middle of a form and chose to leave it for that command."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


class ConsoleNotifier:
    """Delivers to the terminal: the leads' channel and private messages as labelled panes."""

    platform = CONSOLE

    def __init__(self, *, write: Callable[[str], None], viewer: str = "") -> None:
        self._write = write
        self._viewer = viewer  # whose terminal this is: another person's private messages are not shown in it
        self._sent = count(1)

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Print the card under the pane it would reach; someone else's private message is not shown at all."""
        if not self._hidden(destination):
            self._write(f"\n── {_pane(destination)} ──\n{render_card(card)}")
        return f"console-{next(self._sent)}"

    def _hidden(self, destination: Destination) -> bool:
        # A notice to another lead may be about the person at this terminal: not even its header shows here.
        return bool(self._viewer and destination.user_id and destination.user_id != self._viewer)

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Print the edited message, marked as an edit of the earlier one (not someone else's)."""
        if not self._hidden(destination):
            self._write(f"\n── {_pane(destination)} (message {message_id} edited) ──\n{render_card(card)}")

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Print the document, marked as a file, under the pane it would reach (not someone else's)."""
        if self._hidden(destination):
            return f"console-file-{next(self._sent)}"
        self._write(f"\n── {_pane(destination)} ──\n── {document.filename} ──\n{inert(document.text)}"
                    f"── end of {document.filename} ──")
        return f"console-file-{next(self._sent)}"

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        """Say that a file would arrive here (a terminal shows no screenshots), under the pane it would reach."""
        if not self._hidden(destination):
            self._write(f"\n── {_pane(destination)} ──\n── file: {inert(file.name)} ({file.size:,} bytes) ──")
        return f"console-file-{next(self._sent)}"

    def fetch_file(self, file_id: str) -> AbstractContextManager[FetchedFile]:
        """The console has no file uploads."""
        raise PermanentFailure("the console cannot attach files")


def _pane(destination: Destination) -> str:
    if destination.leads:
        return "leads channel"
    if destination.channel:
        return f"channel #{local_id(destination.channel)}"
    return f"private message to {local_id(destination.user_id)}"


@dataclass(kw_only=True)
class ConsoleBot:
    """Reads commands line by line and answers as the bot would on Slack."""

    services: Services
    commands: dict[str, str]
    actor: Actor
    read: Callable[[str], str]  # prompt -> line; raises EOFError at the end
    write: Callable[[str], None]
    lead_mode: bool = False
    policy: Policy = Policy()  # the scheduler runs a pass after each command, so due work shows at once

    def __post_init__(self) -> None:
        self.notifier = ConsoleNotifier(write=self.write, viewer=self.actor.id)
        self._handlers = self._table()

    def _table(self) -> dict[str, Callable[[list[str]], object]]:
        """The configured commands from the core's route table, then the console's own (a reference first)."""
        table: dict[str, Callable[[list[str]], object]] = {
            self.commands[key]: self._command(command) for key, command in COMMANDS.items()}
        table[self.commands["help"]] = lambda args: self._help(" ".join(args))
        table[self.commands["reminders"]] = self._reminders

        def case(action: Action, answers: Callable[[list[str]], Answers] | None = None, *,
                 usage: str = "") -> Callable[[list[str]], object]:
            """A route about one report, named by the first word; `answers` from the rest fill its form.

            Without `answers` the command takes the reference alone, and anything after it is refused.
            """
            def run(args: list[str]) -> object:
                context = {"report": _arg(args, 0)}
                if answers is None:
                    if args[1:]:
                        raise StaffSafeError(f"Use {usage or '/COMMAND REF'}: nothing after the reference.")
                    return self.open(action, context)
                return self.submit(action, context, answers(args))
            return run

        return table | {
            "reply": case(Action.REPORTER_REPLY, lambda args: {"text": _rest(args)}),
            "withdraw": case(Action.REPORT_WITHDRAW, usage="/withdraw REF"),  # opens the confirmation
            "queue": lambda args: self._no_words(args, "/queue") or self.open(Action.LEAD_QUEUE, {}),
            "case": case(Action.CASE_VIEW, usage="/case REF"),
            "ack": self._acknowledge,
            "note": case(Action.CASE_NOTE, lambda args: {"text": _rest(args)}),
            "status": case(Action.CASE_STATUS, lambda args: {"status": _rest(args)}),
            "message": case(Action.CASE_MESSAGE, lambda args: {"text": _rest(args)}),
            "letter": case(Action.CASE_LETTER, usage="/letter REF"),
            # The console has no file messages: the export prints at once (still audited).
            "export": lambda args: self._no_words(args[1:], "/export REF") or export.export_case(
                self.services, self.actor, _arg(args, 0)),
            "hold": self._hold,
        }

    @staticmethod
    def _no_words(args: list[str], usage: str) -> None:
        """Refuse words a command does not take, showing how it is used."""
        if args:
            raise StaffSafeError(f"Use {usage}: I don't know {' '.join(args)[:40]!r} here.")

    def _acknowledge(self, args: list[str]) -> object:
        """/ack REF asks whether to be named; /ack REF named confirms first (it cannot be undone); unnamed."""
        context = {"report": _arg(args, 0)}
        choice = _rest(args).lower()
        if not choice:
            return self.open(Action.CASE_ACK, context)
        if choice not in (NAMED, "unnamed"):
            raise StaffSafeError("Use /ack REF (you are asked whether to be named), /ack REF named (the reporter "
                                 "is told your name) or /ack REF unnamed (they are told \"a designated lead\").")
        if choice == NAMED and not self.confirm("The reporter will be told your name. This cannot be undone."):
            return Reply.say("Nothing was changed.")
        return self.submit(Action.CASE_ACK, context, {"named": choice})

    def _hold(self, args: list[str]) -> object:
        """/hold REF places a legal hold; /hold REF lift lifts it; anything else is refused."""
        choice = _rest(args).lower()
        if choice not in ("", "lift"):
            raise StaffSafeError("Use /hold REF to place a legal hold, or /hold REF lift to lift it.")
        action = Action.CASE_HOLD_LIFT if choice == "lift" else Action.CASE_HOLD
        return self.open(action, {"report": _arg(args, 0)})

    def confirm(self, question: str, *, otherwise: str = "anything else stops") -> bool:
        """Ask before an irreversible step; only "yes" goes ahead."""
        self.write(f"{question}\n  Type yes to go ahead; {otherwise}.")
        try:
            return self.read("  > ").strip().lower() in ("yes", "y")
        except EOFError:
            return False

    def _command(self, command: Command) -> Callable[[list[str]], object]:
        return lambda args: self.open(command.route, command_context(command, " ".join(args)))

    def open(self, action: str, context: dict[str, str]) -> object:
        """A route's first step, as a button or command would take it."""
        route = ROUTES[action]
        assert route.open is not None
        return route.open(self.services, self.actor, context)

    def submit(self, action: str, context: dict[str, str], answers: Answers) -> FormResult:
        """A route's form, submitted with answers the command line gave."""
        route = ROUTES[action]
        assert route.submit is not None
        return route.submit(self.services, self.actor, context, lambda form: answers)

    def _reminders(self, args: list[str]) -> object:
        """Admins: /reminders [new | edit N | preview N | send N | pause N | resume N | delete N]."""
        if not args:
            listed = self.open(Action.REMINDERS, {})
            assert isinstance(listed, Reply)
            header, *each = listed.cards  # numbered as edit N, delete N... take them (the list's own order)
            return replace(listed, cards=(header, *(replace(card, title=f"{n}. {card.title}")
                                                    for n, card in enumerate(each, 1))))
        verb = args[0].lower()
        if verb == "new":
            self._no_words(args[1:], f"/{self.commands['reminders']} new")
            return self.open(Action.REMINDER_NEW, {})
        actions = {"edit": Action.REMINDER_EDIT, "preview": Action.REMINDER_PREVIEW,
                   "send": Action.REMINDER_SEND_NOW, "pause": Action.REMINDER_PAUSE, "resume": Action.REMINDER_RESUME}
        if verb not in (*actions, "delete"):
            raise StaffSafeError("Use /reminders, or /reminders new, edit N, preview N, send N, pause N, resume N "
                                 "or delete N.")
        self._no_words(args[2:], f"/{self.commands['reminders']} {verb} N")
        context = {"reminder": self._reminder_number(args)}
        if verb == "delete":
            return self.open(Action.REMINDER_DELETE, context)  # the confirmation, as on Slack
        return self.open(actions[verb], context)

    def _reminder_number(self, args: list[str]) -> str:
        """The id of the Nth reminder in the list (the console has no buttons to carry ids)."""
        reminders.require_admin(self.services, self.actor)
        shown = [r for r in self.services.store.reminders() if not r.deleted]
        number = args[1] if len(args) > 1 else ""
        if not number.isdigit() or not 1 <= int(number) <= len(shown):
            raise StaffSafeError(f"Please give the reminder's number in the list, 1 to {len(shown)}.")
        return shown[int(number) - 1].id

    def run(self) -> None:
        """Read and answer commands until end of input or /quit."""
        self.write(f"StaffSafe console: you are {local_id(self.actor.id)} ({self.roles()}). "
                   f"Type /{self.commands['help']} for commands, /quit to leave.")
        if self.lead_mode and not self.services.org.is_lead(self.actor.id):
            self.write("Note: you are not a designated lead in app.yaml, so lead commands will be refused.")
        self._deliver()
        while True:
            try:
                line = self.read("> ")
            except EOFError:
                return
            if line.strip() in ("/quit", "/exit"):
                return
            if line.strip():
                self.handle(line)

    def handle(self, line: str) -> None:
        """Answer one command line; errors become friendly text, never a traceback."""
        try:
            words = shlex.split(line.strip())
        except ValueError:
            words = line.strip().split()
        name, args = words[0].lstrip("/").lower(), words[1:]
        handler = self._handlers.get(name)
        if handler is None and f"/{name}" == CANCEL:  # the help lists it: not "I don't know" outside a form
            self.write("There is no form to stop.")
            return
        if handler is None:
            self.write(f"I don't know '{inert(name)}'. Type /{self.commands['help']} for the commands.")
            return
        try:
            self.show(handler(args))
        except LeaveForm as leaving:
            self.write("Form left. Nothing was saved.")
            self.handle(leaving.line)
            return
        except EndOfInput:
            self.write("Form cancelled. Nothing was saved.")
        except StaffSafeError as error:
            self.write(user_message(error))
        except Exception as error:  # noqa: BLE001 - one place that turns surprises into an incident id
            incident = log_incident(log, "console command", error)
            self.write(f"Sorry, something went wrong. Incident id: {incident}.")
        self._deliver()

    def show(self, outcome: object) -> None:
        """Print a reply, a card, a form result, or fill a form that a handler returned."""
        if isinstance(outcome, Form):
            outcome = self.fill_form(outcome)
        if isinstance(outcome, FormResult) and outcome.next is not None:
            outcome = self.fill_form(outcome.next)
        if isinstance(outcome, FormResult):
            outcome = outcome.reply or Reply.say(" ".join(outcome.errors.values()))  # each a whole sentence
        if isinstance(outcome, Document):
            self.write(f"── {outcome.filename} ──\n{inert(outcome.text)}── end of {outcome.filename} ──")
            return
        if isinstance(outcome, Card):
            outcome = Reply(cards=(outcome,))
        if isinstance(outcome, Reply):
            self.write(render_reply(outcome))

    def _deliver(self) -> None:
        run_due_work(self.services, self.policy)
        deliver_due(self.services, self.notifier)

    def roles(self) -> str:
        """What app.yaml makes this person: designated lead, backup lead, admin, or staff."""
        org, me = self.services.org, self.actor.id
        roles = ["designated lead"] if me in org.leads else ["backup lead"] if me in org.backup_leads else []
        roles += ["admin"] if org.is_admin(me) else []
        return ", ".join(roles) or "staff"

    def _help(self, words: str = "") -> Reply:
        reply = self.open(Action.INFO_HELP, command_context(COMMANDS["help"], words))  # refuses words, as on Slack
        assert isinstance(reply, Reply)
        lines = ["- /reply REF text: answer a lead's message on your report",
                 "- /withdraw REF: close your own report (you are asked to confirm)"]
        if self.lead_mode or self.services.org.is_lead(self.actor.id):
            lines += ["- /queue: open reports, oldest first", "- /case REF: the whole case (audited)",
                      "- /ack REF [named | unnamed]: take the case; being named is confirmed first",
                      "- /note REF text, /message REF text: an internal note; a message to the reporter",
                      "- /status REF STATUS: e.g. in progress, waiting, escalated, resolved, closed",
                      "- /letter REF, /export REF: a takedown letter; the case as a file",
                      "- /hold REF [lift]: place or lift a legal hold"]
        if reminders.is_admin(self.services, self.actor):
            lines += [f"- /{self.commands['reminders']} [new | edit N | preview N | send N | pause N | resume N | "
                      "delete N]: N is the reminder's number in the list"]
        lines += [f"- {CANCEL}: stop a form; /quit: leave"]
        more = Card(title="More commands here", sections=(Section(body="\n".join(lines)),))
        return Reply(cards=(*reply.cards, more))

    def fill_form(self, form: Form) -> FormResult | Reply:
        """Ask each field, re-asking on an inline error; submit to the form's route; re-ask only fields it rejects."""
        self.write(f"── {form.title} ── (type {CANCEL} to stop)")
        if form.intro:
            self.write(render_reply(Reply.say(form.intro)))
        if not form.fields:  # a confirmation (withdraw, delete): nothing to fill, only yes or no
            if not self.confirm(f"{form.submit_label}?"):
                return Reply.say("Nothing was changed.")
            return self.submit(form.id, form.context, {})
        answers: Answers = dict(form.initial)  # editing: each answer starts as it is, Enter keeps it
        fields = [f for f in form.fields if f.kind is not FieldKind.FILES]
        precheck = form.id == FORM_ID  # the report's own rules (no future dates...); others check on submit
        for _ in range(5):
            for field in fields:
                if field.applies(answers):  # e.g. a cron reminder asks for no time
                    # Asked only because of another answer, it is needed (optional only where every field shows).
                    asked = replace(field, required=True) if field.only_if else field
                    answers[field.id] = self._ask(asked, precheck=precheck, current=form.initial.get(field.id))
            if form.id == FORM_ID and not self._confirm_report(form, answers, precheck):
                return Reply.say("Nothing was sent.")
            result = self.submit(form.id, form.context, answers)
            if result.ok:
                return result
            fields = [f for f in form.fields if f.id in result.errors]
            for field in fields:
                self.write(f"  ✗ {field.label}: {result.errors[field.id]}")
        return Reply.say("The form was not accepted. Nothing was saved.")

    def _confirm_report(self, form: Form, answers: Answers, precheck: bool) -> bool:
        """Show the answers and send only on "yes"; a question's number asks it again first."""
        asked = [f for f in form.fields if f.kind is not FieldKind.FILES]
        while True:
            lines = [f"  {n}. {_asked(f.label)} {inert(_shown(f, answers.get(f.id))) or '(none)'}"
                     for n, f in enumerate(asked, 1)]
            self.write("── Check your report before it is sent ──\n" + "\n".join(lines))
            self.write("  Type yes to send it, a number to change that answer; anything else stops (nothing is sent).")
            try:
                choice = self.read("  > ").strip().lower()
            except EOFError:
                raise EndOfInput from None
            if choice in ("yes", "y"):
                return True
            if not (choice.isdigit() and 1 <= int(choice) <= len(asked)):
                return False
            field = asked[int(choice) - 1]
            answers[field.id] = self._ask(field, precheck=precheck)

    def _ask(self, field: Field, *, precheck: bool = True, current: object = None) -> object:
        now = _shown(field, current)
        self.write(field_prompt(field) + (f"\n  Now: {inert(now)}. Press Enter to keep it." if now else ""))
        today = self.services.clock.now().date()
        while True:
            try:
                raw = self.read("  > ").strip()
            except EOFError:
                raise EndOfInput from None
            if raw == CANCEL:
                raise EndOfInput
            if not raw and now:
                return current
            if raw.startswith("/"):  # a command, not an answer: ask before dropping the form for it
                self._leave_for(raw)
                self.write(field_prompt(field))
                continue
            if field.kind is FieldKind.USER:
                named = name_person(self.services.org, raw, platform=CONSOLE)
                value, error = named.user_id, named.problem
            else:
                value = self._parse(field, raw)
                _, error = check_field(field, value, today=today) if precheck else (value, "")
            if not error:
                return value
            self.write(f"  ✗ {error}")

    def _leave_for(self, line: str) -> None:
        """Leave the form for a command typed mid-form on "yes" (LeaveForm), stop it on /cancel; else return."""
        self.write(f"You are filling in a form. Leave it to run {line.split()[0]}? Nothing in the form is saved.\n"
                   f"  Type yes to go ahead, {CANCEL} to stop the form; anything else goes back to the question.")
        try:
            answer = self.read("  > ").strip().lower()
        except EOFError:
            raise EndOfInput from None
        if answer == CANCEL:
            raise EndOfInput
        if answer in ("yes", "y"):
            raise LeaveForm(line)

    def _parse(self, field: Field, raw: str) -> object:
        if field.kind is FieldKind.SELECT:
            return _pick(field, raw)
        if field.kind is FieldKind.MULTI_SELECT:
            return [_pick(field, part.strip()) for part in raw.split(",") if part.strip()]
        if field.kind is FieldKind.DATE:
            day, _ = read_date(raw, today=self.services.clock.now().date())
            return day or raw  # the form's own check explains a date it cannot read
        if field.kind is FieldKind.URLS:
            return raw.split()
        if field.kind is FieldKind.CHANNELS:
            return [qualified_id(CONSOLE, part.strip().lstrip('#').lower()) for part in raw.split(",") if part.strip()]
        return raw


def _asked(label: str) -> str:
    """A question's label as the start of a summary line: a label that is no question ends in a colon."""
    return label if label.endswith("?") else f"{label}:"


def _shown(field: Field, value: object) -> str:
    """An answer as the person gave it: option labels, not values; several joined."""
    if value is None or value == "" or value == [] or value == ():
        return ""
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    if field.options:
        return ", ".join(field.option_label(str(v)) for v in values)
    if field.kind in (FieldKind.USER, FieldKind.CHANNELS):  # platform-qualified ids, shown as typed here
        return ", ".join(local_id(str(v)) for v in values)
    if field.kind is FieldKind.DATE:  # as UK staff write it (12 March 2026), not 2026-03-12
        return ", ".join(_long_date(v) for v in values)
    return ", ".join(str(v) for v in values)


def _long_date(value: object) -> str:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day:%B %Y}"


def _pick(field: Field, raw: str) -> str:
    """An option chosen by number or by its value."""
    if raw.isdigit() and 1 <= int(raw) <= len(field.options):
        return field.options[int(raw) - 1].value
    return raw


def _arg(args: list[str], index: int) -> str:
    if len(args) <= index:
        raise StaffSafeError("Please give the report's reference, e.g. SS-ABCDE-FGHJK.")
    return args[index]


def _rest(args: list[str]) -> str:
    return " ".join(args[1:])
