"""Admin use cases for awareness reminders, and the staff's button presses. Admins are checked here, every time."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.domain.errors import ConfigError, Conflict, NotAllowed, NotFound, StaffSafeError
from bot.domain.org import Actor
from bot.domain.reminder import ROTATION, SEEDED_BY, PressKind, Reminder, ReminderPress
from bot.domain.ports import Changes
from bot.domain.report import new_id
from bot.domain.schedule import next_run, time_zone_error
from bot.domain.ui import Answers, Card, Form, FormResult, Reply, counted
from handlers.actions import Action
from handlers.reminder_cards import (
    SHOWN_CHANNELS,
    local_time,
    reminder_card,
    reminder_summary,
    reminders_header,
    show_me_how_card,
)
from handlers.reminder_form import initial_answers, parse_reminder, reminder_form
from handlers.reminder_sends import send_now, tip_for
from handlers.services import Services

log = logging.getLogger(__name__)

PREVIEW = "preview"  # the run id on a preview's buttons: pressing them records nothing


def is_admin(services: Services, actor: Actor) -> bool:
    """An admin named in app.yaml, or one the platform says administers the workspace."""
    return services.org.is_admin(actor.id) or services.directory_for(actor.id).is_admin(actor.id)


def require_admin(services: Services, actor: Actor) -> None:
    """Raise NotAllowed unless the actor is an admin."""
    if not is_admin(services, actor):
        log.warning("refused: not an admin (reminders)")
        raise NotAllowed("Only admins can manage awareness reminders.")


def list_reminders(services: Services, actor: Actor) -> Reply:
    """Every reminder with its schedule, next send (in the admin's time zone), channels and counts."""
    require_admin(services, actor)
    shown = [r for r in services.store.reminders() if not r.deleted]
    return Reply(cards=(reminders_header(len(shown)), *(summary(services, r, actor) for r in shown)))


def summary(services: Services, reminder: Reminder, actor: Actor) -> Card:
    """One reminder as an admin sees it."""
    def label(channel: str) -> str:
        return services.directory_for(channel).channel_label(channel)
    return reminder_summary(
        reminder, services.content,
        counts=services.store.press_counts(reminder.id),
        sends=services.store.run_count(reminder.id),
        labels=[label(c) for c in reminder.channels[:SHOWN_CHANNELS]],
        blocked=[label(c) for c in reminder.blocked_channels[:SHOWN_CHANNELS]],
        time_zone=_time_zone(services, actor, reminder),
    )


def reminder_editor(services: Services, actor: Actor, reminder_id: str = "") -> tuple[Form, Answers]:
    """The form to create a reminder, or to edit one, with its current answers."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id) if reminder_id else None
    form = reminder_form(services.content, reminder.id if reminder else "")
    return form, initial_answers(reminder, services.clock.now().date())


def save_reminder(services: Services, actor: Actor, reminder_id: str, answers: Answers, *,
                  form: Form | None = None) -> FormResult:
    """Create or update a reminder from the form (`form`, if the caller built it); nothing is saved unless every answer is good."""
    require_admin(services, actor)
    now = services.clock.now()
    existing = _reminder(services, reminder_id) if reminder_id else None
    form = form or reminder_form(services.content, reminder_id)
    parsed, errors = parse_reminder(form, answers, today=now.date())
    if parsed is None:
        return FormResult(errors=errors)
    refused = _unpostable(services, parsed.channels)
    if refused:
        return FormResult(errors={"channels": refused})
    settings = dict(name=parsed.name, channels=parsed.channels, schedule=parsed.schedule, topic=parsed.topic,
                    next_run=next_run(parsed.schedule, now), blocked_channels=())
    if existing:
        saved = existing.evolve(now=now, **settings)
    else:
        saved = Reminder(id=new_id(), created_by=actor.id, created_at=now, **settings)  # type: ignore[arg-type]
    _commit(services, Changes(reminders=(saved,)))
    log.info("reminder %s saved by an admin", saved.id)
    when = _local_next(services, actor, saved)
    return FormResult(reply=Reply.say(f"Saved. Next send: {when}."))


def preview(services: Services, actor: Actor, reminder_id: str) -> Reply:
    """The message the reminder's next send will post, shown to the admin only."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    tip = services.content.tips[tip_for(services.content, reminder)]
    return Reply(text="Preview (only you can see this):", cards=(reminder_card(tip, PREVIEW),))


def send_reminder_now(services: Services, actor: Actor, reminder_id: str) -> Reply:
    """Send the reminder once now, outside its schedule."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    if not reminder.targets:
        raise StaffSafeError("This reminder has no channel it can post in. Edit it, or press Resume.")
    _commit(services, send_now(services, reminder, actor.id))
    return Reply.say(f"Sending now to {counted(len(reminder.targets), 'channel')}.")


def pause(services: Services, actor: Actor, reminder_id: str) -> Reply:
    """Stop sending until resumed."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    _commit(services, Changes(reminders=(reminder.evolve(now=services.clock.now(), paused=True),)))
    return Reply.say("Paused. Nothing is sent until you resume it.")


def resume(services: Services, actor: Actor, reminder_id: str) -> Reply:
    """Send again from the next due time (missed ones are not caught up), retrying skipped channels."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    now = services.clock.now()
    resumed = reminder.evolve(now=now, paused=False, blocked_channels=(), next_run=next_run(reminder.schedule, now))
    _commit(services, Changes(reminders=(resumed,)))
    return Reply.say(f"Resumed. Next send: {_local_next(services, actor, resumed)}.")


def delete_form(services: Services, actor: Actor, reminder_id: str) -> Form:
    """Confirm before deleting."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    return Form(id=Action.REMINDER_DELETE.value, title="Delete reminder", submit_label="Delete", fields=(),
                intro="Delete this reminder? It stops at once; messages already posted stay.",
                context={"reminder": reminder.id})


def delete(services: Services, actor: Actor, reminder_id: str) -> Reply:
    """Stop and hide a reminder for good (kept as deleted, so app.yaml does not seed it again)."""
    require_admin(services, actor)
    reminder = _reminder(services, reminder_id)
    _commit(services, Changes(reminders=(reminder.evolve(now=services.clock.now(), deleted=True),)))
    return Reply.say("Deleted.")


def press(services: Services, actor: Actor, run: str, button: PressKind) -> Reply:
    """Someone pressed Done or Show me how: counted once per person and send, answered privately."""
    record = services.store.reminder_run(run)
    if record is None:
        if run == PREVIEW:
            return Reply.say("This is a preview: nothing was recorded.")
        raise NotFound("This reminder is no longer available.")
    try:
        services.store.commit(Changes(presses=(ReminderPress(
            id=new_id(), reminder_id=record.reminder_id, run_id=record.id, button=button,
            presser_id=actor.id, at=services.clock.now()),)))
    except Conflict:
        pass  # pressed before: counted once
    tip = services.content.tips.get(record.topic)
    if button is PressKind.HOW and tip is not None:
        return Reply(cards=(show_me_how_card(services.content, tip),))
    return Reply.say("Nice one, thank you. Only you can see this; admins see a count, never names.")


def seed_reminders(services: Services, seeds: Iterable) -> int:
    """Create the reminders app.yaml lists that do not exist yet; returns how many were created."""
    created = reminders_to_seed(services, seeds)
    for reminder in created:
        try:
            services.store.commit(Changes(reminders=(reminder,)))
        except Conflict:
            pass  # seeded by another instance starting at the same time
    return len(created)


def reminders_to_seed(services: Services, seeds: Iterable) -> list[Reminder]:
    """The reminders app.yaml lists that do not exist yet, as a start would create them; ConfigError for a bad topic."""
    now = services.clock.now()
    created = []
    for seed in seeds:
        if seed.topic != ROTATION and seed.topic not in services.content.tips:
            raise ConfigError(f"app.yaml: reminders: {seed.name!r}: unknown topic {seed.topic!r} "
                              f"(use rotation or one of {', '.join(services.content.tips)})")
        if services.store.reminder(seed.key) is None:
            created.append(Reminder(id=seed.key, name=seed.name, channels=seed.channels, schedule=seed.schedule,
                                    topic=seed.topic, created_by=SEEDED_BY, created_at=now,
                                    next_run=next_run(seed.schedule, now)))
    return created


def _reminder(services: Services, reminder_id: str) -> Reminder:
    reminder = services.store.reminder(reminder_id)
    if reminder is None or reminder.deleted:
        raise NotFound("That reminder no longer exists.")
    return reminder


def _commit(services: Services, changes: Changes) -> None:
    try:
        services.store.commit(changes)
    except Conflict:
        raise StaffSafeError("The reminder changed while you were working on it (or was just sent). "
                             "Please open the list again and retry.") from None


def _unpostable(services: Services, channels: tuple[str, ...]) -> str:
    """Why the bot cannot post in some of the chosen channels, for the form; "" if it can post in all."""
    problems = [(c, services.directory_for(c).channel_problem(c)) for c in channels]
    bad = [(c, why) for c, why in problems if why]
    if not bad:
        return ""
    names = ", ".join(services.directory_for(c).channel_label(c) for c, _ in bad[:3])
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return f"I cannot post in {names}{more}: {bad[0][1]}"


def _time_zone(services: Services, actor: Actor, reminder: Reminder) -> str:
    """The admin's own time zone if the platform knows a valid one, else the reminder's."""
    zone = services.directory_for(actor.id).time_zone(actor.id)
    return zone if zone and time_zone_error(zone) is None else reminder.schedule.timezone


def _local_next(services: Services, actor: Actor, reminder: Reminder) -> str:
    return local_time(reminder.next_run, _time_zone(services, actor, reminder))
