"""What a stored report may hold: the keys its definition has, strings not far beyond their field's limit,
and a whole report of a realistic size.

A draft is stored without validation (the clerk keeps what was typed) and every save keeps a revision,
so without bounds one clerk could fill the disk: a QA pass stored five 15-million-character names
(83 -> 373 MB) and 200,000 keys the form does not have. The bounds are far above anything a form is
meant to hold, so a value too long by a little is still saved and shown with the usual problem
("最多填写 20 个字"); only what no form holds is refused. ``engine.submissions.within_limits`` applies
them to every report before it is stored (a save, a submit, a batch submit).

The numbers (docs/definitions.md, "Report size"):
- a whole report (its data and explanations as JSON text, UTF-8) at most ``MAX_REPORT_BYTES``, 4 MiB.
  The largest realistic report is a roster: a large village's elderly_allowance list of 1,000 elders
  is about 300 KB as clerks fill it (280-350 bytes a row), 1.4 MB with every text at its maxLength;
  village_basic is 3 KB;
- a string at most ``LENGTH_FACTOR`` times its field's maxLength, and never less than ``LENGTH_FLOOR``
  characters; any other string (a field without maxLength, an explanation, text where a number
  belongs) at most ``STRING_CAP`` characters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from engine.errors import DefinitionRef, Problem
from engine.validation.paths import join, key_of

MAX_REPORT_BYTES = 4 * 1024 * 1024
STRING_CAP = 20_000
LENGTH_FACTOR = 20
LENGTH_FLOOR = 2_000
NAMED = 50  # problems of one kind listed in an answer; the rest are counted


def string_cap(max_length: Any) -> int:
    """The longest string a report may hold for a field with this maxLength (None: none declared)."""
    if isinstance(max_length, int) and not isinstance(max_length, bool):
        return max(LENGTH_FACTOR * max_length, LENGTH_FLOOR)
    return STRING_CAP


@dataclass(frozen=True)
class _Leaf:
    pointer: str
    max_length: int | None
    cap: int


@dataclass(frozen=True)
class _Object:
    """A section, a grid, a repeat's row or the root: the keys it has, and whether it declares others."""

    pointer: str
    known: Mapping[str, Any] = field(default_factory=dict)  # name -> _Object | _Rows | _Leaf
    open: bool = False  # declares additionalProperties (a schema or true): any key is the definition's
    cap: int = STRING_CAP  # a string where the section belongs
    max_length: None = None


@dataclass(frozen=True)
class _Rows:
    row: _Object
    pointer: str
    cap: int = STRING_CAP  # a string where the rows belong
    max_length: None = None


_ANY = _Leaf("", None, STRING_CAP)  # a value the definition does not describe: only its strings are bounded


def _declares_others(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("additionalProperties", False) is not False


def _node(spec: Any) -> Any:
    if spec.kind == "array":
        items = spec.schema.get("items")
        known = {child.name: _node(child) for child in spec.children}
        return _Rows(_Object(spec.pointer + "/items", known, _declares_others(items)), spec.pointer)
    if spec.is_container:
        return _Object(spec.pointer, {child.name: _node(child) for child in spec.children},
                       _declares_others(spec.schema))
    max_length = spec.schema.get("maxLength")
    return _Leaf(spec.pointer, max_length if isinstance(max_length, int) else None, string_cap(max_length))


@lru_cache(maxsize=256)
def _tree(ind: Any) -> _Object:
    """The version's keys as a tree, built once per version."""
    return _Object("", {spec.name: _node(spec) for spec in ind.sections}, _declares_others(ind.schema))


def _size(value: Any) -> int:
    """Bytes of ``value`` as JSON text (what is stored)."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate: the standard way
        return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))


@dataclass
class Findings:
    """What a report holds beyond the bounds; ``problems`` names at most ``NAMED`` of each kind."""

    problems: list[Problem] = field(default_factory=list)
    unknown_keys: int = 0
    too_long: int = 0
    size: int = 0

    def __bool__(self) -> bool:
        return bool(self.problems)


def findings(ind: Any, data: Any, explanations: Mapping[str, Any] | None = None) -> Findings:
    """The keys ``data`` (and ``explanations``) hold that ``ind`` does not have, its strings beyond their
    bounds, or, alone, its size when the whole is beyond ``MAX_REPORT_BYTES`` (then nothing is walked)."""
    found = Findings(size=_size(data) + (_size(explanations) if explanations else 0))
    if found.size > MAX_REPORT_BYTES:
        found.problems.append(Problem(
            f"整张表的数据过大（{found.size / 1048576:.1f} MB），超过了可以保存的 "
            f"{MAX_REPORT_BYTES // 1048576} MB，请删去多余的内容后再保存",
            definition=DefinitionRef(ind.source, ""), code="too_large"))
        return found
    _walk(found, ind, _tree(ind), data)
    rules = {rule.id: rule for rule in ind.rules}
    for rule_id, text in (explanations or {}).items():
        rule = rules.get(rule_id)
        if rule is None:
            _unknown(found, ind, _Object("/x-rules"), ((None, "explanations"), rule_id), what="审核规则")
        elif isinstance(text, str) and len(text) > STRING_CAP:
            _too_long(found, ind, _Leaf(rule.pointer, None, STRING_CAP), text, f"explanations.{rule_id}")
    found.problems = _in_document_order(ind, found.problems)
    return found


Path = tuple[Any, str | int] | None  # (parent, key): joined only for a problem


def _joined(path: Path) -> str:
    parts: list[str | int] = []
    while path is not None:
        path, last = path
        parts.append(last)
    return join(*reversed(parts))


def _in_document_order(ind: Any, problems: list[Problem]) -> list[Problem]:
    order = {key: i for i, key in enumerate(ind.fields)}

    def place(problem: Problem) -> tuple[int, tuple[int, ...]]:
        path = problem.data_path or ""
        key = key_of(path)
        while key and key not in order:  # a key the definition does not have: where its holder is
            key = key.rpartition(".")[0]
        return order.get(key, len(order)), tuple(int(p) for p in path.split(".") if p.isdigit())

    return sorted(problems, key=place)


def _walk(found: Findings, ind: Any, tree: _Object, data: Any) -> None:
    """Every key and string of ``data`` against ``tree``; a number, true/false or null has no bound here.
    Iterative (data may be nested deeper than Python recurses) and without a path per value: on a
    save's hot path it costs a tenth of the validation."""
    stack: list[tuple[Any, Any, Path]] = [(tree, data, None)]
    while stack:
        node, value, path = stack.pop()
        if isinstance(value, dict):
            known = node.known if isinstance(node, _Object) else None
            for key, item in value.items():
                child = known.get(key, None if not node.open else _ANY) if known is not None else _ANY
                if child is None:
                    _unknown(found, ind, node, (path, key))
                    continue
                kind = type(item)
                if kind is str:
                    if len(item) > child.cap:
                        _too_long(found, ind, child, item, _joined((path, key)))
                elif kind is dict or kind is list:
                    stack.append((child, item, (path, key)))
        elif isinstance(value, list):
            # a repeat's rows; a multiple choice's values are bounded as its field is
            row = node.row if isinstance(node, _Rows) else node if isinstance(node, _Leaf) else _ANY
            for i, item in enumerate(value):
                kind = type(item)
                if kind is str:
                    if len(item) > row.cap:
                        _too_long(found, ind, row, item, _joined((path, i)))
                elif kind is dict or kind is list:
                    stack.append((row, item, (path, i)))


def _unknown(found: Findings, ind: Any, node: _Object, path: Path, what: str = "数据项") -> None:
    found.unknown_keys += 1
    if found.unknown_keys <= NAMED and path is not None:
        found.problems.append(Problem(f"「{path[1]}」不是此表的{what}（指标集 {ind.code} 第 {ind.version} 版中没有），"
                                      "请删去", data_path=_joined(path),
                                      definition=DefinitionRef(ind.source, node.pointer), code="unknown_key"))


def _too_long(found: Findings, ind: Any, node: Any, value: str, path: str) -> None:
    found.too_long += 1
    if found.too_long <= NAMED:
        limit = f"此项最多填写 {node.max_length} 个字，" if node.max_length is not None else ""
        pointer = node.pointer + "/maxLength" if node.max_length is not None else node.pointer
        found.problems.append(Problem(f"内容过长（{len(value)} 个字），{limit}超过 {node.cap} 个字的内容不能保存，"
                                      "请删减", data_path=path, definition=DefinitionRef(ind.source, pointer),
                                      code="too_long"))


def known_only(ind: Any, data: Any, explanations: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``data`` and ``explanations`` without the keys ``ind`` does not have. For the fill page, which
    shows and posts only the definition's fields but merges them into the stored draft: one stored by
    an API client before these bounds were kept would otherwise be refused at every save."""
    rules = {rule.id for rule in ind.rules}
    return _known(_tree(ind), data), {k: v for k, v in explanations.items() if k in rules}


def _known(node: Any, value: Any) -> Any:
    if isinstance(node, _Object) and isinstance(value, dict) and not node.open:
        return {key: _known(node.known[key], item) for key, item in value.items() if key in node.known}
    if isinstance(node, _Object) and isinstance(value, dict):
        return {key: _known(node.known.get(key), item) for key, item in value.items()}
    if isinstance(node, _Rows) and isinstance(value, list):
        return [_known(node.row, row) for row in value]
    return value
