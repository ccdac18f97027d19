"""Typed errors of the core. Adapters turn them into friendly text; none carries report content.

    StaffSafeError
    ├── NotFound            unknown report reference, provider or platform
    ├── NotAllowed          the caller may not do this (not a lead, the report is about them)
    ├── InvalidTransition   a status change the workflow does not allow
    ├── Conflict            the record changed since it was read; try again
    ├── ContentError        content/ is missing an entry or has a malformed one (at start)
    ├── ConfigError         app.yaml or a setting is missing or wrong (at start)
    └── StoreError          the data folder cannot be used
        ├── StoreLocked     another process holds the data folder
        ├── StoreCorrupt    a data file cannot be read; nothing was overwritten
        │   └── EvidenceUnreadable  an evidence file's bytes are missing, damaged or not this file's
        └── KeyMismatch     the encryption key does not open this data folder
"""


class StaffSafeError(Exception):
    """Base of every error the core raises on purpose; its message is safe to show users."""


class NotFound(StaffSafeError):
    """Something the user named does not exist (or is not theirs to see)."""


class NotAllowed(StaffSafeError):
    """The caller is not authorised for this action."""


class InvalidTransition(StaffSafeError):
    """The status workflow does not allow this move."""


class Conflict(StaffSafeError):
    """Optimistic concurrency: the record changed after it was read."""


class ContentError(StaffSafeError):
    """content/ failed validation; the message names the file and entry."""


class ConfigError(StaffSafeError):
    """Configuration failed validation; the message names the setting."""


class StoreError(StaffSafeError):
    """The store cannot be used."""


class StoreLocked(StoreError):
    """Another process is using the data folder."""


class StoreCorrupt(StoreError):
    """A data file is damaged; it was left untouched."""


class EvidenceUnreadable(StoreCorrupt):
    """An evidence file's stored bytes are missing, damaged, tampered with or moved from elsewhere."""


class KeyMismatch(StoreError):
    """None of the configured keys opens the data folder."""


def user_message(error: StaffSafeError) -> str:
    """What to tell the user: our own message, except where it speaks of storage internals."""
    if isinstance(error, Conflict):
        return "Someone changed this at the same moment. Please try again."
    if isinstance(error, StoreError):
        return "Sorry, I can't save anything right now. Please try again in a few minutes."
    return str(error)
