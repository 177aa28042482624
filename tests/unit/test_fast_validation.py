"""The fast accept path (engine.validation.fast) decides exactly as jsonschema, and validate_submission
returns exactly what it returned before the fast path, the cheaper cleaning and the dict-walking scope.

Differential, with a seeded generator: every shipped indicator-set version, the bench's synthetic
180-field set and the accepted rjsf samples, their example documents and thousands of mutations of
them (wrong types, missing and extra keys, nulls, bounds, patterns, dates, rows, floats against
integers and multipleOf, huge and non-finite numbers, bools where numbers belong), plus hand-written
schemas for the keywords no shipped set uses (if/then/else, dependentRequired, uniqueItems, …), and the
multiple-choice example set of docs/examples (arrays of option values: items oneOf/enum, uniqueItems,
min/maxItems, the minItems a required one gets when compiled).
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import engine.validation as validation
from bench.documents import load_village_report, village_reports
from bench.scale import Scale
from bench.synthetic import load_synthetic, synthetic_documents
from engine.definitions import load_all, load_indicator_file, load_indicator_set
from engine.expressions import MappingScope
from engine.orgs import generate_province, level_of
from engine.roles import Level
from engine.validation import cleaning, rules, schema, validate_submission
from engine.validation.fast import CannotCompile, compile_accepts
from engine.validation.paths import DocumentScope

SEED = 20260315
ROOT = Path(__file__).resolve().parents[2]
DOC_SETS = ROOT / "docs" / "examples"  # example sets the docs point to (not published)
EXAMPLES = sorted(
    p
    for base in (ROOT / "definitions" / "indicators", DOC_SETS)
    for p in base.glob("*/examples/v*/*.json")
    if not p.name.endswith(".expected.json")
)
RJSF = ROOT / "tests" / "fixtures" / "rjsf"
# The samples the loader accepts, and data completing two of them (as in test_rjsf_samples.py).
ACCEPTED = ["additionalProperties", "nested", "numbers", "ordering", "simple", "validation"]
SYNTHETIC = {
    "simple": {"firstName": "Chuck"},
    "validation": {"firstName": "张三", "pass1": "abc", "pass2": "abc", "age": 20},
}


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((RJSF / f"{name}.json").read_text(encoding="utf-8"))


def _definition(example: Path) -> Any:
    return load_indicator_file(example.parents[2] / f"{example.parent.name}.json")


# ---------------------------------------------------------------------------------------------------
# what is compared
# ---------------------------------------------------------------------------------------------------


def _jsonschema_valid(validator: Any, doc: Any) -> bool | str:
    """True/False, or "raises" when jsonschema itself fails on the document (then nothing may accept)."""
    try:
        return next(validator.iter_errors(doc), None) is None
    except Exception:
        return "raises"


def _assert_same_decision(accepts: Any, validator: Any, doc: Any, where: str) -> bool | str:
    expected = _jsonschema_valid(validator, doc)
    got = accepts(doc)
    assert got is (expected is True), f"{where}: fast path {got}, jsonschema {expected}: {doc!r}"
    return expected


def _reference_clean(ind: Any, data: Any) -> cleaning.Cleaned:
    """clean() as it was: a deep copy of the document, then prune + calculate until nothing changes."""
    current = copy.deepcopy(data) if isinstance(data, dict) else {}
    limit = 2 + sum(1 for f in ind.fields.values() if f.relevant or f.calculate)
    hidden: set[str] = set()
    for _ in range(limit):
        hidden = set()
        cleaned = cleaning._prune(ind.sections, current, ind.scope(current), "", hidden, False)
        cleaning._calculate(ind, cleaned, hidden, [])
        if cleaned == current:
            break
        current = cleaned
    return cleaning.Cleaned(current, frozenset(hidden))


def _outcome(call: Any) -> tuple[Any, ...]:
    """Everything a caller can see of a result, with repr() so 1 vs 1.0, -0.0 and key order count."""
    try:
        r = call()
    except Exception as exc:  # the same exception, if any
        return ("raised", type(exc).__name__, str(exc))
    problems = [[p.to_json() for p in ps] for ps in (r.errors, r.warnings, r.unexplained)]
    return (repr(r.data), problems, r.ok, sorted(r.hidden))


def _reference(
    monkeypatch: pytest.MonkeyPatch, ind: Any, doc: Any, explanations: Any = None
) -> tuple[Any, ...]:
    slow = replace(schema.compiled_schema(ind), accepts=None)
    with monkeypatch.context() as m:
        m.setattr(schema, "compiled_schema", lambda _ind: slow)
        m.setattr(validation, "clean", _reference_clean)
        m.setattr(cleaning, "document_scope", lambda i, d: i.scope(d))
        m.setattr(rules, "document_scope", lambda i, d: i.scope(d))
        return _outcome(lambda: validate_submission(ind, doc, explanations=explanations))


def _containers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _containers(v)
    elif isinstance(value, list):
        yield value
        for v in value:
            yield from _containers(v)


# ---------------------------------------------------------------------------------------------------
# the indicator sets and their documents
# ---------------------------------------------------------------------------------------------------


def _villages(n: int) -> list[Any]:
    s = Scale.for_villages(n)
    rows = generate_province(cities=s.cities, counties=s.counties, townships=s.townships, villages=s.villages)
    return [r for r in rows if level_of(r.code) == Level.VILLAGE]


def _sets() -> list[tuple[str, Any, list[Any]]]:
    """(name, model, seed documents) for every shipped version, the synthetic set and the rjsf samples."""
    found: list[tuple[str, Any, list[Any]]] = []
    for code, versions in load_all().items():
        for ind in versions:
            docs = [
                json.loads(p.read_text(encoding="utf-8"))
                for p in EXAMPLES
                if p.parents[2].name == code and p.parent.name == f"v{ind.version}"
            ]
            assert docs, f"{code} v{ind.version} ships no examples"
            found.append((f"{code}/v{ind.version}", ind, docs))
    for path in sorted(DOC_SETS.glob("*/v*.json")):
        ind = load_indicator_file(path)
        docs = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES
                if p.parents[2] == path.parent and p.parent.name == path.stem]
        assert docs, f"docs example {path} ships no examples"
        found.append((f"docs/{ind.code}/v{ind.version}", ind, docs))
    village = load_village_report()
    found.append(("bench/village", village, [d for _, d in village_reports(village, _villages(60))[:12]]))
    found.append(
        ("bench/synthetic180", load_synthetic(), [d for _, d in synthetic_documents(["a", "b", "c"])])
    )
    for name in ACCEPTED:
        ind = load_indicator_set(
            _fixture(name)["schema"], f"rjsf/{name}.json", code=f"rjsf_{name.lower()}", version=1
        )
        found.append((f"rjsf/{name}", ind, [{**_fixture(name)["formData"], **SYNTHETIC.get(name, {})}]))
    return found


SETS = _sets()
SET_IDS = [name for name, _, _ in SETS]

# ---------------------------------------------------------------------------------------------------
# mutations
# ---------------------------------------------------------------------------------------------------

GENERAL_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 3, 7, 0.0, -0.0, 1.0, 2.0, 1.5, -0.5, 0.1, 0.3, 0.01, 0.005, 12.34, 1e-9,
    10**18, 10**30, -(10**30), 1e300, -1e300, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"),
    "", " ", "a", "abc", "1", "0", "-1", "220", "1.5", "true", "null",
    "2024-01-31", "2024-02-29", "2023-02-29", "2024-13-01", "2024-1-1", "20240131", "2024-01-31T08:00:00",
    "2024-01-31\n", "２０２４-０１-３１", "a@b", "name@example.com", "@", "no-at-sign",
    "张三", "赵大山", "赵" * 21, "x" * 300, "390121201202", "39012120120", "39012120120X",
    "390121193205120013", "39012119320512001X", "390121193205120013\n",
    [], [1], ["a", "a"], [None], {}, {"a": 1}, [{}], [{"name": "张三"}],
]  # fmt: skip

# Python types JSON never produces: the fast path must leave them to jsonschema.
FOREIGN_VALUES: list[Any] = [
    Decimal("1"),
    Decimal("0.5"),
    (1, 2),
    date(2024, 1, 31),
    OrderedDict(a=1),
    b"1",
    1j,
]


def _schema_values(node: Any, out: list[Any], names: set[str], seen: set[int]) -> None:
    """Boundary values and option values that the schema's own keywords suggest."""
    if isinstance(node, list):
        for item in node:
            _schema_values(item, out, names, seen)
        return
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        limit = node.get(key)
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            out += [
                limit,
                limit - 1,
                limit + 1,
                limit - 0.5,
                limit + 0.5,
                float(limit),
                limit + 1e-9,
                limit - 1e-9,
            ]
    for key in ("minLength", "maxLength"):
        n = node.get(key)
        if isinstance(n, int):
            out += ["字" * max(n - 1, 0), "字" * n, "a" * (n + 1)]
    step = node.get("multipleOf")
    if isinstance(step, int | float):
        out += [step, step * 3, step / 2, step * 7 + 0.001, step * 10**6, -step]
    for key in ("enum", "const"):
        if key in node:
            options = node[key] if key == "enum" else [node[key]]
            for option in options if isinstance(options, list) else []:
                out.append(option)
                if isinstance(option, str) and option.isdigit():
                    out += [int(option), float(option)]
                elif isinstance(option, int | float):
                    out.append(str(option))
    if isinstance(node.get("properties"), dict):
        names.update(node["properties"])
    for value in node.values():
        _schema_values(value, out, names, seen)


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _subschemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subschemas(value)


def _resolved(root: Any, node: Any) -> Any:
    """A property schema with its local $ref target's keywords (siblings win), for picking values."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for token in node["$ref"][2:].split("/"):
            target = target.get(token, {}) if isinstance(target, dict) else {}
        return {**_resolved(root, target), **node} if isinstance(target, dict) else node
    return node


class Mutator:
    def __init__(self, rng: random.Random, schema_doc: Any, docs: list[Any]) -> None:
        self.rng = rng
        found: list[Any] = []
        self.names: set[str] = set()
        _schema_values(schema_doc, found, self.names, set())
        self.values = GENERAL_VALUES + found
        self.names.update(("extra", "x-unknown", "0"))
        # each property's own boundary and option values, for mutations aimed at that property
        self.by_name: dict[str, list[Any]] = {}
        for node in _subschemas(schema_doc):
            for name, sub in (node.get("properties") or {}).items():
                own: list[Any] = []
                _schema_values(_resolved(schema_doc, sub), own, set(), set())
                self.by_name.setdefault(name, []).extend(own)
        self.seen_values = [v for d in docs for _, _, v in self._slots(d)]  # realistic values from elsewhere

    def _slots(self, doc: Any) -> Iterator[tuple[Any, Any, Any]]:
        """(container, key, value) for every value under ``doc``."""
        stack = [doc]
        while stack:
            node = stack.pop()
            items = (
                node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            )
            for key, value in items:
                yield node, key, value
                if isinstance(value, dict | list):
                    stack.append(value)

    def value(self) -> Any:
        roll = self.rng.random()
        if roll < 0.45:
            return copy.deepcopy(self.rng.choice(self.values))
        if roll < 0.9 and self.seen_values:
            return copy.deepcopy(self.rng.choice(self.seen_values))
        return copy.deepcopy(self.rng.choice(GENERAL_VALUES))

    def mutate(self, doc: Any, times: int) -> Any:
        doc = copy.deepcopy(doc)
        for _ in range(times):
            slots = list(self._slots(doc))
            if not slots:
                return self.value() if self.rng.random() < 0.1 else {"extra": self.value()}
            holder, key, value = self.rng.choice(slots)
            op = self.rng.random()
            if op < 0.2 and self.by_name.get(key):
                holder[key] = copy.deepcopy(self.rng.choice(self.by_name[key]))
            elif op < 0.35:
                holder[key] = self.value()
            elif op < 0.5:
                holder[key] = self._nudge(value)
            elif op < 0.62:
                del holder[key]
            elif op < 0.72:
                holder[key] = None
            elif op < 0.84:
                target = value if isinstance(value, dict) else holder if isinstance(holder, dict) else None
                if target is not None:
                    target[self.rng.choice(sorted(self.names))] = self.value()
            elif isinstance(holder, list):
                holder.insert(self.rng.randrange(len(holder) + 1), copy.deepcopy(self.rng.choice(holder)))
            elif isinstance(value, list) and value:
                value.append(copy.deepcopy(self.rng.choice(value)))
            else:
                holder[key] = [copy.deepcopy(value)] if self.rng.random() < 0.5 else {"value": value}
        return doc

    def _nudge(self, value: Any) -> Any:
        rng = self.rng
        if isinstance(value, bool):
            return rng.choice([not value, int(value), float(value), str(value).lower()])
        if isinstance(value, int | float):
            if not math.isfinite(value) or abs(value) > 1e300:
                return self.value()
            return rng.choice(
                [value + 1, value - 1, -value, float(value), value + 0.5, value + 0.001, value * 10**12,
                 round(value), str(value), value == 0, value / 3]
            )  # fmt: skip
        if isinstance(value, str):
            if not value:
                return rng.choice([" ", "0", None])
            i = rng.randrange(len(value))
            return rng.choice(
                [value[:i] + value[i + 1 :], value + value[-1], value[:i] + "X" + value[i + 1 :],
                 value[:i] + "a" + value[i:], value + "\n", value.upper(), value.strip(), value * 3]
            )  # fmt: skip
        return self.value()


# ---------------------------------------------------------------------------------------------------
# the fast path against jsonschema, per indicator set
# ---------------------------------------------------------------------------------------------------


def test_every_shipped_benchmarked_and_sample_set_has_a_fast_path():
    for name, ind, _ in SETS:
        assert schema.compiled_schema(ind).accepts is not None, name


def test_the_fast_path_is_compiled_with_the_model():
    ind = load_indicator_set(
        _fixture("numbers")["schema"], "rjsf/numbers.json", code="fast_path_hook", version=7
    )
    assert (ind.code, ind.version, ind.content_hash) in schema._cache


@pytest.mark.parametrize(("name", "ind", "docs"), SETS, ids=SET_IDS)
def test_fast_path_decides_as_jsonschema_on_mutated_documents(name: str, ind: Any, docs: list[Any]):
    compiled = schema.compiled_schema(ind)
    rng = random.Random(f"{SEED}-{name}")
    mutator = Mutator(rng, compiled.validator.schema, docs)
    decided = {True: 0, False: 0, "raises": 0}
    for i in range(600):
        seed_doc = docs[i % len(docs)]
        doc = seed_doc if i < len(docs) else mutator.mutate(seed_doc, rng.choice((1, 1, 1, 2, 3)))
        decided[_assert_same_decision(compiled.accepts, compiled.validator, doc, f"{name} #{i}")] += 1
        # validate_submission checks the cleaned document: decide that one too
        cleaned = cleaning.clean(ind, dict(doc) if isinstance(doc, dict) else {}).data
        decided[
            _assert_same_decision(compiled.accepts, compiled.validator, cleaned, f"{name} #{i} cleaned")
        ] += 1
    # not vacuous: both answers occur often
    assert decided[True] >= 60 and decided[False] >= 300, decided


@pytest.mark.parametrize(("name", "ind", "docs"), SETS, ids=SET_IDS)
def test_foreign_python_types_are_left_to_jsonschema(name: str, ind: Any, docs: list[Any]):
    compiled = schema.compiled_schema(ind)
    rng = random.Random(f"{SEED}-foreign-{name}")
    mutator = Mutator(rng, compiled.validator.schema, docs)
    for i in range(60):
        doc = mutator.mutate(docs[i % len(docs)], 1)
        holder, key, _ = rng.choice(list(mutator._slots(doc)) or [(doc, "extra", None)])
        holder[key] = rng.choice(FOREIGN_VALUES)
        if compiled.accepts(doc):  # only where the value is never looked at
            assert _jsonschema_valid(compiled.validator, doc) is True, doc


# ---------------------------------------------------------------------------------------------------
# validate_submission before and after, end to end
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parents[2].name}/{p.parent.name}/{p.name}")
def test_examples_give_the_same_result_as_before(example: Any, monkeypatch: pytest.MonkeyPatch):
    ind = _definition(example)
    data = json.loads(example.read_text(encoding="utf-8"))
    explanations = {r.id: "已核实" for r in ind.rules if r.severity == "soft"}
    for given in (None, explanations):
        assert _outcome(lambda g=given: validate_submission(ind, data, explanations=g)) == _reference(
            monkeypatch, ind, data, given
        )


@pytest.mark.parametrize(("name", "ind", "docs"), SETS, ids=SET_IDS)
def test_validate_submission_gives_the_same_result_as_before(
    name: str, ind: Any, docs: list[Any], monkeypatch: pytest.MonkeyPatch
):
    compiled = schema.compiled_schema(ind)
    rng = random.Random(f"{SEED}-e2e-{name}")
    mutator = Mutator(rng, compiled.validator.schema, docs)
    outcomes = {"ok": 0, "errors": 0}
    for i in range(150):
        doc = (
            docs[i % len(docs)] if i < len(docs) else mutator.mutate(docs[i % len(docs)], rng.choice((1, 2)))
        )
        if i % 10 == 9:
            doc = {**doc, "extra_section": {"nested": [1, {"a": [2]}]}} if isinstance(doc, dict) else doc
        before = repr(doc)
        new = _outcome(lambda d=doc: validate_submission(ind, d))
        assert new == _reference(monkeypatch, ind, doc), f"{name} #{i}: {doc!r}"
        assert repr(doc) == before, "validate_submission changed its input"
        if new[0] != "raised":
            outcomes["ok" if new[2] else "errors"] += 1
            result = validate_submission(ind, doc)
            shared = {id(c) for c in _containers(doc)} & {id(c) for c in _containers(result.data)}
            assert not shared, "the result shares a list or dict with the input"
    assert outcomes["ok"] >= 3 and outcomes["errors"] >= 50, outcomes


def test_first_pass_keeps_the_values_as_sent():
    # "1.0" for a calculated integer compares equal to the computed 1: the document is kept as sent,
    # as the deep copy used to keep it, and never aliased.
    ind = load_indicator_set(
        {"title": "t", "type": "object", "properties": {"s": {"type": "object", "title": "s", "properties": {
            "a": {"type": "integer", "title": "a"},
            "b": {"type": "integer", "title": "b", "readOnly": True, "x-calculate": "a"}}}}},
        "t.json", code="keep_sent", version=1,
    )  # fmt: skip
    doc = {"s": {"a": 1, "b": 1.0}, "other": {"x": [1]}}
    result = cleaning.clean(ind, doc)
    assert repr(result.data) == repr(_reference_clean(ind, doc).data) == repr(doc)
    assert result.data["other"] is not doc["other"] and result.data["s"] is not doc["s"]


def test_document_scope_looks_up_as_the_mapping_scope():
    rng = random.Random(SEED)
    mutator = Mutator(rng, {}, [])
    docs = [
        {
            "a": {"b": 1, "c": [{"d": 2}, {"d": None}, 3], "e": None},
            "f": "x",
            "g": [1, [2]],
            "h": OrderedDict(i=4),
        }
    ]
    names = [
        "a",
        "a.b",
        "a.c",
        "a.c.d",
        "a.e",
        "a.e.z",
        "f",
        "f.z",
        "g",
        "g.x",
        "h.i",
        "h",
        "zz",
        "a.b.c",
        "b",
        "d",
    ]
    aliases = {"b": ("a", "b"), "d": ("a", "c", "d"), "i": ("h", "i")}
    for _ in range(300):
        doc = mutator.mutate(rng.choice(docs), 2)
        for name in names:
            assert repr(DocumentScope(doc, aliases).lookup(name)) == repr(
                MappingScope(doc, aliases).lookup(name)
            )


# ---------------------------------------------------------------------------------------------------
# keywords no shipped set uses, on hand-written schemas
# ---------------------------------------------------------------------------------------------------

KEYWORDS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.org/fast-path-test",
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["a", "b", "c"]},
        "n": {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 100},
        "x": {"type": "number", "exclusiveMinimum": -1.5, "maximum": 1e6, "multipleOf": 0.01},
        "m": {"type": "integer", "multipleOf": 3},
        "h": {"type": "number", "multipleOf": 0.5, "minimum": 0},
        "s": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        "d": {"type": "string", "format": "date"},
        "e": {"type": "string", "format": "email"},
        "any_d": {"format": "date"},
        "flag": {"type": "boolean"},
        "opt": {"type": "string", "oneOf": [{"const": "x", "title": "X"}, {"const": "y"}, {"const": "x"}]},
        "num_opt": {"type": "integer", "oneOf": [{"const": 1, "title": "一"}, {"const": 2}, {"const": True}]},
        "general_one": {"oneOf": [{"type": "integer", "minimum": 5}, {"type": "number", "maximum": 10}]},
        "mixed": {"enum": [1, "1", True, None, 2.5, [1, 2], {"a": 1}, 0.0]},
        "c0": {"const": 0},
        "cf": {"const": False},
        "cn": {"const": None},
        "cl": {"const": [1, {"a": True}]},
        "cs": {"const": "固定"},
        "rows": {"type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": True, "items": {"$ref": "#/$defs/row"}},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "nums": {"type": "array", "uniqueItems": True},
        "choices": {"type": "array", "uniqueItems": True, "minItems": 1, "maxItems": 3,
                    "items": {"type": "string", "oneOf": [{"const": "a", "title": "甲"}, {"const": "b"}, {"const": "c"},
                                                          {"const": "d", "title": "丁"}]}},
        "int_choices": {"type": "array", "uniqueItems": True, "items": {"type": "integer", "enum": [1, 2, 3]}},
        "ref_choices": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/option"}},
        "nothing": {"type": "array", "items": False},
        "free": {"type": "object", "additionalProperties": {"type": "integer"}},
        "closed": {"type": "object", "properties": {"a": True, "b": False}, "additionalProperties": False},
        "dep": {"type": "object", "dependentRequired": {"a": ["b", "c"], "b": []}},
        "plain": {},
        "never": False,
    },
    "required": ["kind"],
    "allOf": [
        {"if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]}, "then": {"required": ["n"]},
         "else": {"properties": {"n": {"maximum": 10}}}},
        {"if": {"properties": {"flag": {"const": True}}, "required": ["flag"]}, "then": {"required": ["s", "d"]}},
        {"if": {"required": ["x"]}, "else": {"required": ["m"]}},
        {"if": {"properties": {"rows": {"minItems": 2}}}, "then": {"properties": {"tags": {"minItems": 1}}}},
    ],
    "$defs": {
        "row": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1},
                                                 "age": {"$ref": "#/$defs/age", "minimum": 18}},
                "required": ["name"], "additionalProperties": False},
        "age": {"type": "integer", "maximum": 120},
        "option": {"type": "string", "oneOf": [{"const": "x", "title": "X"}, {"const": "y", "title": "Y"}]},
    },
}  # fmt: skip

RECURSIVE_SCHEMA: dict[str, Any] = {
    "$defs": {
        "node": {"type": "object", "required": ["v"],
                 "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}},
    },
    "$ref": "#/$defs/node",
}  # fmt: skip

KEYWORD_DOCS: list[Any] = [
    {"kind": "a", "n": 5, "x": 12.34, "h": 1.5, "s": "abc", "d": "2024-02-29", "e": "a@b", "flag": True,
     "opt": "y", "num_opt": 2, "general_one": 3, "mixed": [1, 2], "c0": 0, "cf": False, "cn": None,
     "cl": [1, {"a": True}], "cs": "固定", "rows": [{"name": "甲", "age": 30}, {"name": "乙"}], "tags": ["t"],
     "nums": [1, True, 1.5], "nothing": [], "free": {"p": 1, "q": 2}, "closed": {"a": [1]},
     "dep": {"a": 1, "b": 2, "c": 3}, "plain": {"deep": [1]}, "any_d": "2024-01-31",
     "choices": ["a", "d"], "int_choices": [1, 3], "ref_choices": ["y"]},
    {"kind": "b", "n": 3, "m": 9, "rows": [{"name": "丙"}], "dep": {"b": 1}, "mixed": {"a": 1}},
    {"kind": "c", "x": 0.1, "n": None, "rows": [{"name": "丁", "age": 120}], "general_one": 11, "mixed": 1.0},
    {"v": 1, "kids": [{"v": 2, "kids": []}, {"v": 3, "kids": [{"v": 4}]}]},
]  # fmt: skip


def _checker(schema_doc: Any) -> tuple[Any, Any]:
    validator = schema.Validator(schema_doc, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return compile_accepts(
        schema_doc, implemented=schema.Validator.VALIDATORS, format_checker=validator.format_checker
    ), validator


@pytest.mark.parametrize(
    ("schema_doc", "docs"),
    [(KEYWORDS_SCHEMA, KEYWORD_DOCS[:3]), (RECURSIVE_SCHEMA, KEYWORD_DOCS[3:])],
    ids=["keywords", "recursive"],
)
def test_fast_path_decides_as_jsonschema_on_every_supported_keyword(schema_doc: Any, docs: list[Any]):
    accepts, validator = _checker(schema_doc)
    rng = random.Random(f"{SEED}-keywords")
    mutator = Mutator(rng, schema_doc, docs)
    decided = {True: 0, False: 0, "raises": 0}
    for i in range(3000):
        doc = docs[i % len(docs)]
        if i >= len(docs):
            doc = mutator.mutate(doc, rng.choice((1, 1, 2, 3)))
        decided[_assert_same_decision(accepts, validator, doc, f"#{i}")] += 1
    assert decided[True] >= 150 and decided[False] >= 1000, decided


def test_options_and_bools_as_jsonschema_sees_them():
    accepts, validator = _checker(KEYWORDS_SCHEMA)
    base = dict(KEYWORD_DOCS[1])
    cases = {
        "opt": ["x", "y", 1], "num_opt": [1, 2, True, 1.0, 3], "n": [True, 1, 1.0, None, 100, 99.0],
        "mixed": [True, False, 0, 1, 1.0, "1", [1, 2], [1, 2.0], [True, 2], {"a": True}, {"a": 1.0}],
        "c0": [0, 0.0, -0.0, False], "cf": [False, 0, None], "cn": [None, False, 0],
        "m": [3.0, 3.5, 9, True, -3], "general_one": [5, 10, 10.5, 4.5, True], "nums": [[1, True], [1, 1.0], [0, False]],
        "choices": [[], ["a"], ["a", "a"], ["a", "b", "c"], ["a", "b", "c", "d"], ["e"], "a", [1], [None], ["A"]],
        "int_choices": [[1, 2], [1, 1.0], [1.0], [True], ["1"], [1, True], [4], [2.5], []],
        "ref_choices": [["x", "y"], ["x", "x"], ["x", "y", "x"], ["z"], ["X"]],
    }  # fmt: skip
    for key, values in cases.items():
        for value in values:
            doc = {**base, key: value}
            assert accepts(doc) is (_jsonschema_valid(validator, doc) is True), doc
    full = dict(KEYWORD_DOCS[0])
    bounds = {
        "n": [100, 99, 99.5, 100.0, 0, -0.0, -1, 99.99999999999999],
        "x": [-1.5, -1.49, -1.51, 1e6, 1e6 + 0.01, 1000000.0, 0.1 + 0.2, 0.3, 1.005],
        "h": [0, -0.0, -0.5, 0.5, 0.25, 2**60, 2**60 + 0.5],
        "s": ["ab", "abcde", "a", "abcdef", "ab\n", "AB"],
        "rows": [[{"name": str(i)} for i in range(k)] for k in range(5)] + [[{"name": "a"}, {"name": "a"}]],
    }
    for key, values in bounds.items():
        for value in values:
            doc = {**full, key: value}
            assert accepts(doc) is (_jsonschema_valid(validator, doc) is True), doc
    assert (
        not accepts({**full, "n": 100}) and not accepts({**full, "x": -1.5}) and accepts({**full, "x": -1.49})
    )
    assert accepts({**full, "rows": [{"name": "1"}, {"name": "2"}, {"name": "3"}]})
    assert not accepts({**full, "rows": [{"name": str(i)} for i in range(4)]})
    assert not accepts({**base, "opt": "x"})  # the same const twice: valid under two options
    assert not accepts({**base, "n": True})  # a bool is no integer, whatever Python thinks
    assert accepts({**base, "m": 3.0}) and not accepts({**base, "m": 3.5})  # 2020-12: 3.0 is an integer


def test_condition_that_jsonschema_could_raise_in_is_never_decided():
    schema_doc = {"type": "object", "properties": {"v": {"type": "number"}},
                  "allOf": [{"if": {"properties": {"v": {"multipleOf": 0.1}}}, "then": {"required": ["w"]}}]}  # fmt: skip
    accepts, validator = _checker(schema_doc)
    for doc in ({"v": 0.2, "w": 1}, {"v": 0.25}, {"v": float("inf")}, {"v": 1e300}, {}):
        assert accepts(doc) is False
        _jsonschema_valid(validator, doc)  # decides or raises: either way it is jsonschema's answer


@pytest.mark.parametrize(
    "schema_doc",
    [
        {"anyOf": [{"type": "string"}]},
        {"not": {"type": "string"}},
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "object", "unevaluatedProperties": False},
        {"$ref": "other.json#/$defs/a"},
        {"$defs": {"a/b": {}}, "$ref": "#/$defs/a~1b"},
        {"$defs": {"a": {"$id": "https://example.org/a", "type": "string"}}, "$ref": "#/$defs/a"},
        {"$ref": "#/$defs/missing"},
        {"type": "string", "format": "uri"},
        {"type": "strnig"},
        {"type": "string", "pattern": "("},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"},
        {"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}},
    ],
)
def test_what_the_fast_path_does_not_implement_is_refused(schema_doc: Any):
    with pytest.raises(CannotCompile):
        _checker(schema_doc)


@pytest.mark.parametrize("schema_doc", [True, False, {}])
def test_boolean_and_empty_schemas(schema_doc: Any):
    accepts, validator = _checker(schema_doc)
    for doc in (None, 1, "a", [1], {"a": 1}, 1.5, True):
        assert accepts(doc) is (_jsonschema_valid(validator, doc) is True)
