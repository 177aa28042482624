"""The indicator-set model: what the rest of the engine reads (forms, validation, rollups, exports).

Everything is frozen; ``schema`` dicts are private copies made at load time and must be treated as
read-only. Containers and their children form a tree (``sections`` -> ``children``); ``fields`` is the
same tree flattened by key in document order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.expressions import MappingScope

CONTAINER_KINDS = frozenset({"section", "grid", "array"})
NUMERIC_KINDS = frozenset({"integer", "number"})
# Kinds whose value is a list of option values (several boxes ticked); forms post one value per box.
MULTIPLE_KINDS = frozenset({"multichoice"})
# Kinds whose options can be counted one by one in roll-ups (x-aggregate "count_each").
OPTION_KINDS = frozenset({"choice", "multichoice"})


@dataclass(frozen=True, eq=False)
class FieldSpec:
    key: str  # dotted data path from the root; row fields "<array_key>.<name>"
    name: str  # last segment of key
    path: tuple[str, ...]  # key split on "."
    pointer: str  # JSON pointer of the property in the definition file
    kind: str  # section grid array integer number string text date email boolean choice multichoice
    schema: dict[str, Any]  # the property's schema with every $ref resolved
    title: str
    description: str | None
    unit: str | None
    required: bool
    sensitive: str | None
    aggregate: str
    relevant: str | None
    calculate: str | None
    options: tuple[tuple[Any, str], ...]  # (value, label); a multichoice's are its items' options
    widget: str | None
    children: tuple[FieldSpec, ...]
    array_key: str | None  # key of the enclosing repeat, None outside repeats
    fill: str | None = None  # x-fill: a source of engine.definitions.fill.FILL_SOURCES (unit.code …)

    @property
    def is_container(self) -> bool:
        return self.kind in CONTAINER_KINDS

    @property
    def multiple(self) -> bool:
        """The value is a list of option values (a multiple choice), not one value."""
        return self.kind in MULTIPLE_KINDS


@dataclass(frozen=True)
class RuleSpec:
    id: str
    expr: str
    message: str
    severity: str  # "hard" | "soft"
    fields: tuple[str, ...]  # full keys the error is shown on
    scope: str | None  # None = checked once per document; an array key = checked once per row
    pointer: str


@dataclass(frozen=True)
class FieldMapping:
    """One declared correspondence between the previous version's fields and this version's."""

    kind: str  # rename split merge unit not_comparable removed added same
    from_keys: tuple[str, ...]
    to_keys: tuple[str, ...]
    factor: float  # new value = old value * factor (unit); 1.0 otherwise
    note: str | None
    pointer: str


@dataclass(frozen=True)
class MappingSpec:
    from_version: int
    fields: tuple[FieldMapping, ...]
    pointer: str

    def mentioned_old_keys(self) -> frozenset[str]:
        return frozenset(k for m in self.fields for k in m.from_keys)

    def mentioned_new_keys(self) -> frozenset[str]:
        return frozenset(k for m in self.fields for k in m.to_keys)


@dataclass(frozen=True, eq=False)
class IndicatorSet:
    code: str
    version: int
    title: str
    description: str | None
    schema: dict[str, Any]  # the definition document as loaded (with $ref intact), for jsonschema validation
    content_hash: str
    source: str
    period: str | None
    sections: tuple[FieldSpec, ...]
    fields: dict[str, FieldSpec]
    rules: tuple[RuleSpec, ...]
    mappings: MappingSpec | None

    @cached_property
    def filled(self) -> tuple[FieldSpec, ...]:
        """The fields set from the report's context (``x-fill``), in document order; computed once per
        version, so a save or submit of a version without any costs one attribute read."""
        return tuple(f for f in self.fields.values() if f.fill)

    def leaves(self) -> Iterator[FieldSpec]:
        """Data fields (not sections, grids or repeats) in document order."""
        return (f for f in self.fields.values() if not f.is_container)

    def resolve(self, name: str) -> FieldSpec:
        """A full key, or a bare leaf name unique among the fields outside repeats; KeyError otherwise."""
        if name in self.fields:
            return self.fields[name]
        path = self._aliases.get(name)
        if path is None:
            raise KeyError(f"「{name}」不是指标集 {self.code} v{self.version} 中唯一的字段名")
        return self.fields[".".join(path)]

    def scope(self, data: Mapping[str, Any]) -> MappingScope:
        """An expression scope over a document of this version: bare unique names resolve to their path."""
        return MappingScope(data, aliases=self._aliases)

    @cached_property
    def _aliases(self) -> dict[str, tuple[str, ...]]:
        from engine.definitions.names import unique_leaf_aliases

        return unique_leaf_aliases(self.fields)
