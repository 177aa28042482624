"""Field-by-field differences between two revisions of a document, labelled from the definition."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.definitions import IndicatorSet

_MISSING = object()


@dataclass(frozen=True)
class Change:
    data_path: str  # e.g. "population.pop_total" or "elders.2.id_number"
    label: str  # the field's Chinese title (with the row number for repeat rows)
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{prefix}.{i}")
    else:
        yield prefix, value


def _label(ind: IndicatorSet | None, path: str) -> str:
    if ind is None:
        return path
    parts = path.split(".")
    key_parts = [p for p in parts if not p.isdigit()]
    rows = [int(p) + 1 for p in parts if p.isdigit()]
    spec = ind.fields.get(".".join(key_parts))
    title = spec.title if spec is not None else path
    return f"{title}（第{rows[-1]}行）" if rows else title


def diff_documents(ind: IndicatorSet | None, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every leaf whose value differs, in the order of the newer document then removed ones."""
    before = dict(_leaves(old or {}))
    after = dict(_leaves(new or {}))
    changes = []
    for path in list(after) + [p for p in before if p not in after]:
        a, b = before.get(path, _MISSING), after.get(path, _MISSING)
        if a == b:
            continue
        changes.append(Change(path, _label(ind, path), None if a is _MISSING else a, None if b is _MISSING else b))
    return changes
