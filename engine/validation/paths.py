"""Data paths: dotted keys with row indices (``elders.2.id_number``) and walking nested documents."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from engine.expressions.scope import MappingScope, walk_path


def join(*parts: str | int) -> str:
    return ".".join([str(p) for p in parts if p != ""])  # a list: str.join makes one of a generator anyway


def key_of(data_path: str) -> str:
    """The field key of a data path: row indices removed (``elders.2.id_number`` -> ``elders.id_number``)."""
    return ".".join(p for p in data_path.split(".") if not p.isdigit())


def local_parts(spec: Any) -> list[str]:
    """The path of a field inside its row (row fields) or inside the document (other fields)."""
    key: str = spec.key
    if spec.array_key:
        key = key[len(spec.array_key) + 1 :]
    return key.split(".")


def get_in(data: Any, parts: Iterable[str]) -> Any:
    for part in parts:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def container_for(data: dict[str, Any], parts: list[str], create: bool) -> dict[str, Any] | None:
    """The dict that holds the last part of ``parts``; created on the way when ``create``."""
    node: Any = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            if not create or nxt is not None:
                return None
            nxt = node[part] = {}
        node = nxt
    return node


def is_hidden(data_path: str, hidden: frozenset[str] | set[str]) -> bool:
    """Whether the path or one of its enclosing sections/rows is in ``hidden``."""
    if not hidden:  # the usual case
        return False
    parts = data_path.split(".")
    return any(".".join(parts[:n]) in hidden for n in range(1, len(parts) + 1))


class DocumentScope(MappingScope):
    """``IndicatorSet.scope`` with a quicker lookup for the usual case, a path through plain dicts.

    Rules and relevance look names up hundreds of times per report; ``walk_path`` pays for an ABC
    ``isinstance`` per step. Anything but a dict on the way hands the whole path to ``walk_path``, so
    every answer is ``walk_path``'s."""

    __slots__ = ()

    def lookup(self, name: str) -> Any:
        path = self.aliases.get(name)
        if path is None:
            path = name.split(".")
        value: Any = self.data
        for key in path:
            if type(value) is not dict:
                # walk_path steps through the dicts passed so far exactly as this loop did
                return walk_path(self.data, path)
            value = value.get(key)
        return value


def document_scope(ind: Any, data: dict[str, Any]) -> DocumentScope:
    return DocumentScope(data, _paths(ind))


@lru_cache(maxsize=256)
def _paths(ind: Any) -> dict[str, tuple[str, ...]]:
    """``ind.scope``'s aliases plus every field key with its own path (what ``name.split(".")`` gives
    for it): the names expressions use, split once per definition instead of on every lookup. The
    aliases come last, so they still win, as in ``MappingScope.lookup``."""
    aliases = ind.scope({}).aliases
    return {**{key: tuple(key.split(".")) for key in ind.fields}, **aliases}
