"""Action and form ids: dotted names shared by every adapter (button actions, form callbacks)."""

from enum import StrEnum


class Action(StrEnum):
    """Everything a button or form can ask the core to do."""

    REPORT_OPEN = "report.open"
    MY_REPORTS = "report.mine"
    REPORTER_REPLY = "report.reply"
    REPORT_WITHDRAW = "report.withdraw"
    CASE_VIEW = "case.view"
    CASE_ACK = "case.ack"
    CASE_NOTE = "case.note"
    CASE_STATUS = "case.status"
    CASE_MESSAGE = "case.message"
    CASE_LETTER = "case.letter"
    CASE_EXPORT = "case.export"
    LEAD_QUEUE = "case.queue"
    INFO_HOTLINES = "info.hotlines"
    INFO_TAKEDOWN = "info.takedown"  # pick a platform, then its takedown form
    INFO_STAYSAFE = "info.staysafe"
    INFO_HELP = "info.help"
    TAKEDOWN_SUBMIT = "info.takedown_submit"
    CASE_HOLD = "case.hold"  # place a legal hold (never purged while held)
    CASE_HOLD_LIFT = "case.hold_lift"  # lift it (separate actions: a second press never undoes the first)
    REMINDERS = "reminder.list"  # admins: the reminders and their counts
    REMINDER_NEW = "reminder.new"
    REMINDER_SAVE = "reminder.save"  # the create/edit form
    REMINDER_EDIT = "reminder.edit"
    REMINDER_PREVIEW = "reminder.preview"
    REMINDER_SEND_NOW = "reminder.send_now"
    REMINDER_PAUSE = "reminder.pause"
    REMINDER_RESUME = "reminder.resume"
    REMINDER_DELETE = "reminder.delete"  # opens the confirmation form of the same id
    REMINDER_DONE = "reminder.done"  # staff, on a reminder message (value: the run id)
    REMINDER_HOW = "reminder.how"  # "show me how" (value: the run id)
