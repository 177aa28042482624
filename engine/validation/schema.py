"""JSON Schema (Draft 2020-12) validation with Chinese messages and field addresses.

A number field without bounds of its own is held to the expression language's (``_bounded``).
The validator is compiled once per definition version, cached by (code, version, content_hash), together
with the fast accept path (``engine.validation.fast``): jsonschema runs only when that says "not sure",
and then produces exactly the problems it always did. Fields
that carry ``x-relevant`` are taken out of their ``required`` lists in that compiled schema: whether they
are required depends on the submission, so ``conditional_required`` checks them after relevance has
been decided (a hidden field is never required). Calculated fields are never reported as missing: the
user cannot type them, and a missing input is reported on the input itself.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from engine.definitions import pointers
from engine.errors import DefinitionRef, Problem
from engine.expressions.values import MAX_MAGNITUDE
from engine.validation.fast import CannotCompile, compile_accepts, not_multiple
from engine.validation.messages import message_for, required_message
from engine.validation.paths import get_in, is_hidden, join, key_of, local_parts

log = logging.getLogger(__name__)


def _decimal_multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    # jsonschema divides floats, so 0.3 fails multipleOf 0.1; decimal arithmetic on the written digits does not
    if not validator.is_type(instance, "number"):
        return
    if not_multiple(instance, step):
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


Validator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of})


@dataclass(frozen=True)
class CompiledSchema:
    validator: Any
    conditional: tuple[Any, ...]  # required fields taken out of the compiled schema's required lists
    accepts: Callable[[Any], bool] | None  # the fast accept path; None: the schema is beyond it


_cache: dict[tuple[str, int, str], CompiledSchema] = {}
_lock = threading.Lock()


def parent_pointer(spec: Any) -> str:
    """The pointer of the object schema whose ``properties`` hold ``spec``."""
    suffix = pointers.join("", "properties", spec.name)
    return spec.pointer[: -len(suffix)] if spec.pointer.endswith(suffix) else spec.pointer


def compiled_schema(ind: Any) -> CompiledSchema:
    key = (ind.code, ind.version, ind.content_hash)
    found = _cache.get(key)  # entries are never replaced or removed: no lock needed to read one
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = _compile(ind)
        return found


def _compile(ind: Any) -> CompiledSchema:
    schema = copy.deepcopy(ind.schema)
    conditional = tuple(f for f in ind.fields.values() if f.required and (f.relevant or f.calculate))
    for spec in conditional:
        holder = pointers.lookup(schema, parent_pointer(spec))
        if isinstance(holder, dict) and isinstance(holder.get("required"), list):
            holder["required"] = [name for name in holder["required"] if name != spec.name]
    conditional = tuple(f for f in conditional if not f.calculate)
    for spec in ind.fields.values():
        if spec.kind in NUMBER_KINDS:
            _bounded(pointers.lookup(schema, spec.pointer))
        elif spec.multiple:
            _choices(pointers.lookup(schema, spec.pointer), spec.required)
    validator = Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        accepts = compile_accepts(
            schema, implemented=Validator.VALIDATORS, format_checker=validator.format_checker
        )
    except CannotCompile:
        accepts = None
    except Exception:  # an optimisation must never stop a definition from loading
        log.exception("fast accept path not compiled for %s v%s", ind.code, ind.version)
        accepts = None
    return CompiledSchema(validator, conditional, accepts)


NUMBER_KINDS = frozenset({"integer", "number"})
BOUND = int(MAX_MAGNITUDE)


def _bounded(node: Any) -> None:
    """A number field without bounds of its own gets the expression language's: rules and calculations
    refuse magnitudes past ``MAX_MAGNITUDE``, and a roll-up of 10^30 would be wrong in its last digits
    (floats) and in the XLSX (1E+30). A bound the definition sets is its own choice and stays."""
    if isinstance(node, dict):
        node.setdefault("maximum", BOUND)
        node.setdefault("minimum", -BOUND)


def _choices(node: Any, required: bool) -> None:
    """A multiple choice never holds an option twice (``uniqueItems`` is implied when left out), and a
    required one needs a box ticked: ``[]`` is no answer, as a blank text is none."""
    if isinstance(node, dict):
        node.setdefault("uniqueItems", True)
        if required and node.get("minItems", 0) < 1:
            node["minItems"] = 1


def schema_problems(ind: Any, data: dict[str, Any], hidden: frozenset[str]) -> list[Problem]:
    compiled = compiled_schema(ind)
    seen: set[tuple[str | None, str]] = set()
    found: list[Problem] = []
    for problem in _all(ind, compiled, data, hidden):
        if (problem.data_path, problem.code) not in seen:
            seen.add((problem.data_path, problem.code))
            found.append(problem)
    if not found:
        return found
    order = {key: i for i, key in enumerate(ind.fields)}
    return sorted(found, key=lambda p: (order.get(key_of(p.data_path or ""), -1), _indices(p.data_path)))


def _indices(data_path: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in (data_path or "").split(".") if p.isdigit())


def _all(ind: Any, compiled: CompiledSchema, data: dict[str, Any], hidden: frozenset[str]) -> Iterator[Problem]:
    if compiled.accepts is None or not compiled.accepts(data):
        for error in compiled.validator.iter_errors(data):
            yield from _from_error(ind, error)
    yield from conditional_required(ind, compiled.conditional, data, hidden)


def _missing(error: ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        return [name for name in error.validator_value if name not in instance]
    return [dep for name, deps in error.validator_value.items() if name in instance for dep in deps if dep not in instance]


def _from_error(ind: Any, error: ValidationError) -> Iterator[Problem]:
    where = [str(p) for p in error.absolute_path]
    if error.validator in ("required", "dependentRequired"):
        for name in _missing(error):
            yield _problem(ind, error, join(*where, name), error.validator)
    else:
        yield _problem(ind, error, join(*where), error.validator)


def _problem(ind: Any, error: ValidationError, data_path: str, keyword: str) -> Problem:
    spec = ind.fields.get(key_of(data_path)) if data_path else None
    if spec is None:
        pointer = pointers.from_path(error.absolute_schema_path)
    elif keyword in ("required", "dependentRequired"):
        pointer = pointers.join(parent_pointer(spec), keyword)
    elif spec.multiple and data_path.rpartition(".")[2].isdigit():
        # one of a multiple choice's values (facilities.2): shown on the field, where the boxes are
        data_path = data_path.rpartition(".")[0]
        pointer = pointers.join(spec.pointer, "items", keyword)
    else:
        pointer = pointers.join(spec.pointer, keyword)
    return Problem(
        message_for(error, spec),
        data_path=data_path or None,
        definition=DefinitionRef(ind.source, pointer),
        code=keyword,
    )


def conditional_required(ind: Any, specs: tuple[Any, ...], data: dict[str, Any], hidden: frozenset[str]) -> Iterator[Problem]:
    """Required fields with ``x-relevant``: missing while shown is an error; hidden, they are never required."""
    for spec in specs:
        parts = local_parts(spec)
        for prefix, holder in _holders(ind, spec, data, parts):
            path = join(prefix, *parts)
            if isinstance(holder, dict) and parts[-1] not in holder and not is_hidden(path, hidden):
                yield Problem(
                    required_message(spec),
                    data_path=path,
                    definition=DefinitionRef(ind.source, pointers.join(parent_pointer(spec), "required")),
                    code="required",
                )


def _holders(ind: Any, spec: Any, data: dict[str, Any], parts: list[str]) -> Iterator[tuple[str, Any]]:
    """(data path prefix, object that should hold the field) for each place the field appears."""
    if spec.array_key is None:
        yield "", get_in(data, parts[:-1])
        return
    array = ind.fields[spec.array_key]
    rows = get_in(data, array.key.split("."))
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        yield join(array.key, i), get_in(row, parts[:-1])
