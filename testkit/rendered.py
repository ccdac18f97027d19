"""Helpers for tests of renderers: golden JSON files, and every object inside rendered JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent.parent / "tests" / "golden"


def golden_json(name: str, data: Any) -> Any:
    """The golden file's data (UPDATE_GOLDEN=1 first rewrites it with `data`)."""
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def walk(node: Any) -> list[dict[str, Any]]:
    """Every dict inside a JSON-like value."""
    if isinstance(node, dict):
        return [node, *(d for v in node.values() for d in walk(v))]
    if isinstance(node, list):
        return [d for v in node for d in walk(v)]
    return []
