"""The fast accept path: a schema of the definitions' keyword subset compiled into plain Python checks.

Most reports are valid, and for a valid report all ``jsonschema`` has to say is "no errors" — which it
finds out by interpreting the schema, building a validator object per sub-schema. ``compile_accepts``
turns the schema, once per definition version, into nested closures dispatching on ``type(value)``;
``accepts(doc)`` answers True only when the jsonschema validator would report nothing. On False the
caller runs jsonschema, which produces the actual problems (and their Chinese messages).

Exact where it answers, conservative everywhere else:

* every check mirrors jsonschema's keyword function (same comparisons, same ``equal``/``uniq``/format
  functions, the same decimal ``multipleOf``), so a condition (``if``, a ``oneOf`` branch) is decided
  exactly as jsonschema decides it;
* a keyword jsonschema implements and this module does not, a non-local or unusual ``$ref``, a nested
  ``$id``/``$schema`` or an unknown format -> ``CannotCompile``: that schema has no fast path at all;
* a value of a type JSON never produces (Decimal, tuple, date, a dict subclass …) has no entry in the
  dispatch tables; that KeyError, like any exception, makes ``accepts`` answer False;
* a condition that could raise inside jsonschema (``multipleOf``'s decimal arithmetic on inf or a huge
  number) is never decided here: jsonschema stops a condition at its first error, so whether it raises
  would depend on evaluation order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

from jsonschema._utils import equal, uniq

Check = Callable[[Any], Any]  # truthy = valid; only ever called with a value of the table's type
Table = dict[type, Check]  # one check per JSON type; a missing type means "cannot decide"

NoneType = type(None)
JSON_TYPES: tuple[type, ...] = (dict, list, str, int, float, bool, NoneType)
NUMBER_TYPES = (int, float)

# Keywords whose checks this module implements; then/else are read by "if". Any other keyword the
# validator class implements makes the schema CannotCompile.
HANDLED = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "dependentRequired", "items", "minItems",
        "maxItems", "uniqueItems", "enum", "const", "oneOf", "allOf", "if", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
        "$ref",
    }
)  # fmt: skip
FORMATS = frozenset({"date", "email"})  # the formats the vocabulary allows
DIALECT = "https://json-schema.org/draft/2020-12/schema"
_LOCAL_REF = re.compile(r"#(?:/[A-Za-z0-9_$-]+)+")  # plain JSON pointers only: no ~ or % escapes to decode


class CannotCompile(Exception):
    """The schema uses something the fast path does not implement; jsonschema must always run."""


class Undecided(Exception):
    """Raised while checking: this value must be left to jsonschema."""


def not_multiple(instance: Any, step: Any) -> bool:
    """``multipleOf`` on the written digits (jsonschema divides floats, so 0.3 fails multipleOf 0.1), at
    the precision the quotient needs (the default 28 digits raise on 1e30 % 0.01)."""
    value, unit = Decimal(str(instance)), Decimal(str(step))
    with localcontext() as context:
        context.prec = max(context.prec, value.adjusted() - unit.adjusted() + 30)
        return value % unit != 0


def compile_accepts(schema: Any, *, implemented: Any, format_checker: Any) -> Callable[[Any], bool]:
    """``accepts(doc)``: True only when a validator of ``schema`` would yield no error for ``doc``.

    ``implemented`` is the validator class's keyword table (``VALIDATORS``), ``format_checker`` the
    validator's (None: formats are not checked). Raises CannotCompile."""
    root = _Compiler(schema, frozenset(implemented), format_checker).table(schema, is_root=True)

    def accepts(doc: Any) -> bool:
        try:
            return bool(root[type(doc)](doc))
        except Exception:  # an unknown type, Undecided, arithmetic: jsonschema decides (and raises, if so)
            return False

    return accepts


def _accept(value: Any) -> bool:
    return True


def _reject(value: Any) -> bool:
    return False


def _undecided(value: Any) -> bool:
    raise Undecided


def _every(checks: list[Check]) -> Check:
    """All of ``checks``, in order, stopping at the first failure."""
    if _reject in checks:
        return _reject
    checks = [c for c in checks if c is not _accept]
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    frozen = tuple(checks)

    def every(value: Any) -> bool:
        for check in frozen:
            if not check(value):
                return False
        return True

    return every


def _decides_nothing(table: Table) -> bool:
    return all(table[t] is _accept for t in JSON_TYPES)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Compiler:
    def __init__(self, root: Any, implemented: frozenset[str], format_checker: Any) -> None:
        self.root = root
        self.implemented = implemented
        self.format_checker = format_checker
        self.refs: dict[str, Table] = {}
        self.building: set[str] = set()

    # -- schemas -------------------------------------------------------------------------------------

    def table(self, schema: Any, *, is_root: bool = False) -> Table:
        if schema is True:
            return dict.fromkeys(JSON_TYPES, _accept)
        if schema is False:
            return dict.fromkeys(JSON_TYPES, _reject)
        if type(schema) is not dict:
            raise CannotCompile(f"schema {schema!r}")
        if is_root and schema.get("$schema", DIALECT) != DIALECT:
            raise CannotCompile("another dialect")
        if not is_root and ("$id" in schema or "$schema" in schema):
            raise CannotCompile("a nested $id/$schema changes how $ref resolves")
        unknown = {k for k in schema if k in self.implemented} - HANDLED
        if unknown:
            raise CannotCompile(f"keywords {sorted(unknown)}")
        checks: dict[type, list[Check]] = {t: [] for t in JSON_TYPES}
        if "type" in schema:
            self._type(schema["type"], checks)
        self._numbers(schema, checks)
        self._strings(schema, checks)
        if {"properties", "required", "additionalProperties", "dependentRequired"} & schema.keys():
            checks[dict].append(self._object(schema))
        if {"items", "minItems", "maxItems", "uniqueItems"} & schema.keys():
            checks[list].append(self._array(schema))
        for keyword, build in (
            ("enum", self._enum), ("const", self._const), ("oneOf", self._one_of), ("allOf", self._all_of),
            ("if", self._if), ("$ref", self._ref),
        ):  # fmt: skip
            if keyword in schema:
                per_type = build(schema[keyword], schema)
                for t in JSON_TYPES:
                    checks[t].append(per_type[t])
        return {t: _every(checks[t]) for t in JSON_TYPES}

    def _type(self, names: Any, checks: dict[type, list[Check]]) -> None:
        names = [names] if isinstance(names, str) else names
        known = {"object", "array", "string", "boolean", "null", "number", "integer"}
        if not isinstance(names, list) or not names or any(n not in known for n in names):
            raise CannotCompile(f"type {names!r}")
        allowed = {
            dict: "object" in names,
            list: "array" in names,
            str: "string" in names,
            bool: "boolean" in names,
            NoneType: "null" in names,
            int: "number" in names or "integer" in names,
            float: "number" in names,
        }
        for t, ok in allowed.items():
            if not ok:
                # 2020-12: a float with an integral value (3.0) is an integer
                checks[t].append(float.is_integer if t is float and "integer" in names else _reject)

    def _numbers(self, schema: dict[str, Any], checks: dict[type, list[Check]]) -> None:
        bounds: list[Check] = []
        for keyword, fails in (
            ("minimum", lambda limit: lambda v: not v < limit),
            ("maximum", lambda limit: lambda v: not v > limit),
            ("exclusiveMinimum", lambda limit: lambda v: not v <= limit),
            ("exclusiveMaximum", lambda limit: lambda v: not v >= limit),
        ):
            if keyword in schema:
                limit = schema[keyword]
                if not _number(limit):
                    raise CannotCompile(f"{keyword} {limit!r}")
                bounds.append(fails(limit))
        if "multipleOf" in schema:
            step = schema["multipleOf"]
            if not _number(step):
                raise CannotCompile(f"multipleOf {step!r}")
            bounds.append(lambda v: not not_multiple(v, step))
        for t in NUMBER_TYPES:
            checks[t].extend(bounds)

    def _strings(self, schema: dict[str, Any], checks: dict[type, list[Check]]) -> None:
        found = checks[str]
        if "minLength" in schema:
            least = self._count(schema, "minLength")
            found.append(lambda v: not len(v) < least)
        if "maxLength" in schema:
            most = self._count(schema, "maxLength")
            found.append(lambda v: not len(v) > most)
        if "pattern" in schema:
            try:  # what re.search(pattern, v) compiles and caches
                search = re.compile(schema["pattern"]).search
            except (re.error, TypeError) as exc:
                raise CannotCompile(f"pattern {schema['pattern']!r}") from exc
            found.append(lambda v: search(v) is not None)
        if "format" in schema:
            conforms = self._format(schema["format"])
            for t in JSON_TYPES:  # jsonschema hands every type to the format function
                checks[t].append(conforms)

    def _format(self, name: Any) -> Check:
        if name not in FORMATS:
            raise CannotCompile(f"format {name!r}")
        if self.format_checker is None or name not in self.format_checker.checkers:
            return _accept  # jsonschema checks no format it has no checker for
        # The checker's own function, called as FormatChecker.check calls it.
        func, raises = self.format_checker.checkers[name]

        def conforms(value: Any) -> bool:
            try:
                return bool(func(value))
            except raises:
                return False

        return conforms

    @staticmethod
    def _count(schema: dict[str, Any], keyword: str) -> Any:
        value = schema[keyword]
        if not _number(value):
            raise CannotCompile(f"{keyword} {value!r}")
        return value

    def _object(self, schema: dict[str, Any]) -> Check:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        dependent = schema.get("dependentRequired", {})
        extra = schema.get("additionalProperties", True)
        if not (
            isinstance(properties, dict)
            and _names(required)
            and isinstance(dependent, dict)
            and all(_names(deps) for deps in dependent.values())
            and (isinstance(extra, bool | dict))
        ):
            raise CannotCompile("object keywords")
        tables = {name: self.table(sub) for name, sub in properties.items()}
        checked = tuple((name, t) for name, t in tables.items() if not _decides_nothing(t))
        names = frozenset(properties)
        must = frozenset(required)
        depends = tuple((name, frozenset(deps)) for name, deps in dependent.items())
        extra_table = self.table(extra) if isinstance(extra, dict) else None
        if extra_table is not None and _decides_nothing(extra_table):
            extra_table = None
        closed = extra is False
        missing = object()

        def check_object(value: dict[str, Any]) -> bool:
            if must and not value.keys() >= must:
                return False
            for name, table in checked:
                item = value.get(name, missing)
                if item is not missing and not table[type(item)](item):
                    return False
            if closed and not value.keys() <= names:
                return False
            if extra_table is not None:
                for name, item in value.items():
                    if name not in names and not extra_table[type(item)](item):
                        return False
            for name, deps in depends:
                if name in value and not value.keys() >= deps:
                    return False
            return True

        return check_object

    def _array(self, schema: dict[str, Any]) -> Check:
        items = self.table(schema["items"]) if "items" in schema else None
        least = self._count(schema, "minItems") if "minItems" in schema else None
        most = self._count(schema, "maxItems") if "maxItems" in schema else None
        unique = schema.get("uniqueItems", False)

        def check_array(value: list[Any]) -> bool:
            if least is not None and len(value) < least:
                return False
            if most is not None and len(value) > most:
                return False
            if items is not None:
                for item in value:
                    if not items[type(item)](item):
                        return False
            return not (unique and not uniq(value))

        return check_array

    # -- keywords that apply to every type --------------------------------------------------------------

    def _enum(self, options: Any, schema: dict[str, Any]) -> Table:
        if not isinstance(options, list):
            raise CannotCompile("enum")
        texts = frozenset(o for o in options if type(o) is str)
        others = [o for o in options if type(o) is not str]
        # equal() compares a string with == only, so a string is valid iff it is one of the string options
        table: Table = {str: texts.__contains__}
        for t in JSON_TYPES:
            if t is not str:
                table[t] = (lambda v: any(equal(o, v) for o in others)) if others else _reject
        return table

    def _const(self, constant: Any, schema: dict[str, Any]) -> Table:
        if type(constant) is str:
            return {t: (lambda v: v == constant) if t is str else _reject for t in JSON_TYPES}
        return dict.fromkeys(JSON_TYPES, lambda v: equal(v, constant))

    def _one_of(self, options: Any, schema: dict[str, Any]) -> Table:
        if not isinstance(options, list) or not options:
            raise CannotCompile("oneOf")
        if all(self._is_const_option(o) for o in options):
            constants = [o["const"] for o in options]
            texts = [c for c in constants if type(c) is str]
            # a value equal to two options is valid under both, so not "one of" them
            once = frozenset(c for c in texts if texts.count(c) == 1)
            table: Table = {str: once.__contains__}
            for t in JSON_TYPES:
                if t is not str:
                    table[t] = lambda v: sum(1 for c in constants if equal(v, c)) == 1
            return table
        if self._may_raise(options):
            return dict.fromkeys(JSON_TYPES, _undecided)
        tables = [self.table(o) for o in options]
        return {t: self._exactly_one(tuple(tb[t] for tb in tables)) for t in JSON_TYPES}

    @staticmethod
    def _exactly_one(checks: tuple[Check, ...]) -> Check:
        return lambda v: sum(1 for check in checks if check(v)) == 1

    def _is_const_option(self, option: Any) -> bool:
        return (
            isinstance(option, dict)
            and "const" in option
            and not (
                {k for k in option if k in self.implemented} - {"const"}
                or "$id" in option
                or "$schema" in option
            )
        )

    def _all_of(self, blocks: Any, schema: dict[str, Any]) -> Table:
        if not isinstance(blocks, list) or not blocks:
            raise CannotCompile("allOf")
        tables = [self.table(b) for b in blocks]
        return {t: _every([tb[t] for tb in tables]) for t in JSON_TYPES}

    def _if(self, condition: Any, schema: dict[str, Any]) -> Table:
        if self._may_raise(condition):
            return dict.fromkeys(JSON_TYPES, _undecided)
        test = self.table(condition)
        then = self.table(schema["then"]) if "then" in schema else None
        orelse = self.table(schema["else"]) if "else" in schema else None
        table: Table = {}
        for t in JSON_TYPES:
            yes = then[t] if then is not None else _accept
            no = orelse[t] if orelse is not None else _accept
            if yes is _accept and no is _accept:
                table[t] = _accept  # a condition that cannot raise and decides nothing
            else:
                table[t] = self._branch(test[t], yes, no)
        return table

    @staticmethod
    def _branch(test: Check, yes: Check, no: Check) -> Check:
        return lambda v: yes(v) if test(v) else no(v)

    def _ref(self, ref: Any, schema: dict[str, Any]) -> Table:
        target = self._resolve(ref)
        if ref in self.refs:
            return self.refs[ref]
        if ref in self.building:  # a recursive definition: look the table up when checking
            return {t: self._later(ref, t) for t in JSON_TYPES}
        self.building.add(ref)
        try:
            built = self.table(target)
        finally:
            self.building.discard(ref)
        self.refs[ref] = built
        return built

    def _later(self, ref: str, t: type) -> Check:
        return lambda v: self.refs[ref][t](v)

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not _LOCAL_REF.fullmatch(ref):
            raise CannotCompile(f"$ref {ref!r}")
        node = self.root
        for token in ref[2:].split("/"):
            if not isinstance(node, dict) or token not in node:
                raise CannotCompile(f"$ref {ref!r} does not resolve")
            node = node[token]
            if isinstance(node, dict) and ("$id" in node or "$schema" in node):
                raise CannotCompile(f"$ref {ref!r} passes a nested $id")
        return node

    def _may_raise(self, schema: Any, seen: set[str] | None = None) -> bool:
        """Whether jsonschema could raise while deciding ``schema`` (only multipleOf's arithmetic can);
        every nested dict is searched, references followed."""
        seen = set() if seen is None else seen
        if isinstance(schema, list):
            return any(self._may_raise(item, seen) for item in schema)
        if not isinstance(schema, dict):
            return False
        if "multipleOf" in schema:
            return True
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            if self._may_raise(self._resolve(ref), seen):
                return True
        return any(self._may_raise(value, seen) for value in schema.values())
