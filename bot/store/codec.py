"""Domain records <-> plain JSON-ready dicts, shared by every store.

Dates and datetimes are ISO 8601 text, enums their values, frozensets sorted lists, tuples lists,
nested dataclasses (a reminder's schedule) objects. No record holds bytes (evidence bytes are blobs).
Decoding is strict (a wrong type raises ValueError) so a damaged file is noticed, not half-read;
a field missing from a document takes its dataclass default, so new optional fields can be added;
documents written before a change of meaning are mapped first (`bot/store/upgrades.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from bot.domain.platform import ConversationRef
from bot.domain.reminder import PurgeRecord, Reminder, ReminderPress, ReminderRun
from bot.domain.ports import Changes
from bot.domain.report import AuditEvent, Evidence, Note, OutboxItem, Report
from bot.store.upgrades import UPGRADES

Record = (
    Report | Note | Evidence | AuditEvent | OutboxItem | Reminder | ReminderRun | ReminderPress | PurgeRecord
    | ConversationRef
)
D = TypeVar("D")  # a record, or a dataclass nested in one

# Table names, in the order a commit applies them (documented on `Changes`): what a record names
# comes before it (reports first; a note before the outbox item relaying it; a reminder before its
# runs, a run before its posts and presses).
TABLES: dict[str, type[Record]] = {
    "reports": Report,
    "notes": Note,
    "evidence": Evidence,
    "audit": AuditEvent,
    "reminders": Reminder,
    "runs": ReminderRun,
    "outbox": OutboxItem,
    "presses": ReminderPress,
    "purges": PurgeRecord,
    "conversations": ConversationRef,
}
TABLE_OF: dict[type, str] = {cls: table for table, cls in TABLES.items()}

Decoder = Callable[[Any], Any]


def by_table(changes: Changes) -> Iterator[tuple[str, tuple[Record, ...]]]:
    """The records of `changes` per table, in TABLES order (each `Changes` field is named after its table)."""
    return ((table, getattr(changes, table)) for table in TABLES)


def to_doc(record: Record) -> dict[str, Any]:
    """A record as a plain dict of JSON values."""
    return _fields(record)


def from_doc(cls: type[D], doc: Mapping[str, Any]) -> D:
    """A record of type `cls` from a plain dict; raises ValueError if it does not fit."""
    upgrade = UPGRADES.get(cls)
    if upgrade is not None and upgrade[0] not in doc:
        doc = upgrade[1](doc)
    values: dict[str, Any] = {}
    # mypy takes a dataclass's instance __hash__ for the class's own; classes are hashable.
    for name, decode, required in _field_decoders(cls):  # type: ignore[arg-type]
        if name in doc:
            try:
                values[name] = decode(doc[name])
            except (TypeError, ValueError):
                # `from None`: the original message may quote the stored value.
                raise ValueError(f"field {name!r} has the wrong type") from None
        elif required:
            raise ValueError(f"field {name!r} is missing")
    return cls(**values)


@functools.cache  # a pure function of the class; type hints are slow to evaluate per record
def _field_decoders(cls: type) -> tuple[tuple[str, Decoder, bool], ...]:
    hints = get_type_hints(cls)
    return tuple(
        (
            f.name,
            _decoder(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}


def _encode(value: Any) -> Any:
    # Plain values first: this runs for every field of every record committed (the hot path).
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, Enum):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(_encode(v) for v in value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if dataclasses.is_dataclass(value):  # a nested record, e.g. a reminder's schedule
        return _fields(value)
    return value


def _decoder(tp: Any) -> Decoder:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        inner = _decoder(next(a for a in args if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if origin is frozenset:
        item = _decoder(args[0])
        return lambda v: frozenset(item(x) for x in _exact(list, v))
    if origin is tuple:
        item = _decoder(args[0])
        return lambda v: tuple(item(x) for x in _exact(list, v))
    if tp is datetime:
        return lambda v: datetime.fromisoformat(_exact(str, v))
    if tp is date:
        return lambda v: date.fromisoformat(_exact(str, v))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda v: from_doc(tp, _exact(dict, v))
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if tp in (str, int, bool):
        return lambda v: _exact(tp, v)
    raise TypeError(f"no decoder for {tp!r}")


def _exact(tp: type, value: Any) -> Any:
    # type() rather than isinstance(): a JSON true must not pass for an int, nor 1 for a bool.
    if type(value) is not tp:
        raise ValueError(f"expected {tp.__name__}")
    return value
