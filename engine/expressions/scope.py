"""Name resolution for expressions: a written name (``pop_total``, ``population.pop_total``) -> a value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Scope(Protocol):
    def lookup(self, name: str) -> Any:
        """The value of a written name; KeyError if the name is unknown, None if its value is missing."""
        ...

    def row(self, row: Mapping[str, Any]) -> Scope:
        """A scope for one repeat row: the row's own fields first, then this scope."""
        ...


_SEQUENCES = (list, tuple)  # a tuple: ``list | tuple`` in isinstance builds a union object per call


def walk_path(value: Any, path: tuple[str, ...] | list[str]) -> Any:
    """Follow ``path`` through nested dicts. A missing key gives None (a missing value, not an error).

    Walking into a list maps the rest of the path over its elements, so ``elders.id_number`` on a
    list of rows yields the list of every row's ID number.
    """
    for i, key in enumerate(path):
        if value is None:
            return None
        if isinstance(value, _SEQUENCES):
            rest = path[i:]
            return [walk_path(item, rest) for item in value]
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class MappingScope:
    """A scope over a (nested) mapping such as a submission's data.

    ``aliases`` maps a written name to a path, e.g. ``{"pop_total": ("population", "pop_total")}``, so a
    definition can let authors write a unique leaf name instead of the full dotted key.
    """

    __slots__ = ("data", "aliases")

    def __init__(self, data: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.data = data
        self.aliases: Mapping[str, tuple[str, ...]] = aliases or {}

    def lookup(self, name: str) -> Any:
        path = self.aliases.get(name)
        return walk_path(self.data, path if path is not None else name.split("."))

    def row(self, row: Mapping[str, Any]) -> Scope:
        return RowScope(row, self)

    def __repr__(self) -> str:
        return f"MappingScope({self.data!r}, aliases={dict(self.aliases)!r})"


class RowScope:
    """One repeat row in front of its enclosing scope: a name whose first segment is a row field is the row's."""

    __slots__ = ("fields", "parent")

    def __init__(self, fields: Mapping[str, Any], parent: Scope) -> None:
        self.fields = fields
        self.parent = parent

    def lookup(self, name: str) -> Any:
        path = name.split(".")
        if path[0] in self.fields:
            return walk_path(self.fields, path)
        return self.parent.lookup(name)

    def row(self, row: Mapping[str, Any]) -> Scope:
        return RowScope(row, self)

    def __repr__(self) -> str:
        return f"RowScope({self.fields!r}, parent={self.parent!r})"
