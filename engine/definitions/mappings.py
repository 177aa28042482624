"""Across versions: prefill a new version from last period's approved data, and say which old figures
a new field can be compared with. Both follow the declared x-mappings; anything undeclared under the same
key is the same indicator (the checker refuses same-key type/unit changes without a mapping).

Each version's x-mappings come from the version published before it. Last period may be several versions
back (a version published but never collected): ``*_across`` follow the chain of versions between, one
declared step at a time (``engine.publishing.indicator_set_chain`` reads it)."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from engine.definitions.model import FieldMapping, FieldSpec, IndicatorSet
from engine.definitions.proposals import CONFIRMED_NEW
from engine.errors import BadInput

# Mapping kinds whose values can be carried into the new field (with the mapping's factor).
CARRIED_KINDS = frozenset({"rename", "unit", "same"})


@dataclass(frozen=True)
class Correspondence:
    """How a new field relates to the previous version's figures.

    ``new value ≈ sum(old values of old_keys) * factor`` when ``comparable``. A split part is not comparable
    on its own, but the sum of ``split_parts`` (all new keys of the split) equals the old field times factor.
    """

    old_keys: tuple[str, ...]
    factor: float
    comparable: bool
    note: str | None
    split_parts: tuple[str, ...] = ()


def _declared(old: IndicatorSet, new: IndicatorSet) -> tuple[FieldMapping, ...]:
    if new.mappings is None or new.version == old.version:  # the same version: every key is itself
        return ()
    if new.mappings.from_version != old.version:
        raise BadInput(
            f"{new.code} v{new.version} 的映射来自 v{new.mappings.from_version}，不能直接与 v{old.version} 对应"
        )
    return new.mappings.fields


def _carry_plan(old: IndicatorSet, new: IndicatorSet) -> dict[str, tuple[str, float]]:
    """new key -> (old key, factor) for every field whose value can be carried over."""
    mappings = _declared(old, new)
    mentioned = {k for m in mappings for k in (*m.from_keys, *m.to_keys)}
    plan = {
        key: (key, 1.0)
        for key, spec in new.fields.items()
        if key in old.fields and key not in mentioned and spec.kind == old.fields[key].kind
    }
    plan.update({m.to_keys[0]: (m.from_keys[0], m.factor) for m in mappings if m.kind in CARRIED_KINDS})
    return {k: v for k, v in plan.items() if _carries_value(new.fields[k])}


def _carries_value(spec: FieldSpec) -> bool:
    """Data fields and repeats (carried row by row); sections are just paths, calculations are recomputed."""
    return spec.kind == "array" or not (spec.is_container or spec.calculate)


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


# A factor written as a fraction (1/15: 亩 -> 公顷) is a float with binary noise past this place.
_NOISE_PLACES = 10


def _convert(value: Any, factor: float, kind: str) -> Any:
    """``value × factor`` as exact decimals (457.96 万元 -> 4579600 元, not 4579599.999999999 or 4579600.0):
    a whole result is written as an integer, and an integer field stays one (rounded half up: the draft
    is the clerk's to check, and a fraction in an integer field would only be refused)."""
    if factor == 1.0 or not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return copy.deepcopy(value)
    with localcontext() as ctx:
        ctx.prec = 60  # the exact product of two JSON numbers (≤ 17 significant digits each)
        exact = Decimal(value if isinstance(value, int) else repr(value)) * Decimal(repr(factor))
        if -exact.as_tuple().exponent > _NOISE_PLACES:  # type: ignore[operator]
            ctx.prec = max(ctx.prec, exact.adjusted() + _NOISE_PLACES + 2)
            exact = exact.quantize(Decimal(1).scaleb(-_NOISE_PLACES), ROUND_HALF_UP)
        whole = exact.to_integral_value(ROUND_HALF_UP)
    return int(whole) if kind == "integer" or exact == whole else float(exact)


def carry_forward(prev: IndicatorSet, prev_data: Mapping[str, Any], new: IndicatorSet) -> dict[str, Any]:
    """A draft document of ``new`` prefilled from ``prev_data`` (a document of ``prev``).

    Same key (or ``same``) = copy; rename = move; unit = multiply by the factor (``_convert``); split, merge,
    not_comparable and removed are not carried (their meaning changed), nor is anything into a field
    declared ``added``. Calculated fields are left to be recomputed.
    Repeat rows are carried row by row with the same rules applied to their fields.
    """
    plan = _carry_plan(prev, new)
    out: dict[str, Any] = {}
    for new_key, (old_key, factor) in plan.items():
        spec = new.fields[new_key]
        if spec.array_key is not None:
            continue  # carried with its rows below
        value = _get(prev_data, prev.fields[old_key].path)
        if value is None:
            continue
        if spec.kind == "array":
            value = _carry_rows(value, old_key, new_key, plan, new) if isinstance(value, list) else None
            if value is None:
                continue
        else:
            value = _convert(value, factor, spec.kind)
        _put(out, spec.path, value)
    return out


def carry_forward_across(chain: Sequence[IndicatorSet], data: Mapping[str, Any]) -> dict[str, Any]:
    """``carry_forward`` from ``chain[0]`` to ``chain[-1]`` through the versions between, one step each."""
    out = dict(data)
    for older, newer in zip(chain, chain[1:], strict=False):
        out = carry_forward(older, out, newer)
    return out


def _carry_rows(
    rows: list[Any], old_array: str, new_array: str, plan: dict[str, tuple[str, float]], new: IndicatorSet
) -> list[dict[str, Any]]:
    row_plan = [
        (
            new.fields[k].path[len(new.fields[new_array].path) :],
            old_k[len(old_array) + 1 :].split("."),
            f,
            new.fields[k].kind,
        )
        for k, (old_k, f) in plan.items()
        if new.fields[k].array_key == new_array and old_k.startswith(old_array + ".")
    ]
    carried = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        new_row: dict[str, Any] = {}
        for new_path, old_path, factor, kind in row_plan:
            value = _get(row, tuple(old_path))
            if value is not None:
                _put(new_row, new_path, _convert(value, factor, kind))
        carried.append(new_row)
    return carried


NEW_HERE = "本版本新增指标"  # a field new in the version compared directly with the one before it


def correspondence(old: IndicatorSet, new: IndicatorSet) -> dict[str, Correspondence]:
    """For every data field of ``new``: which fields of ``old`` it corresponds to, for comparing figures.

    Fields new in this version get an empty ``old_keys`` and ``comparable=False``.
    """
    mappings = _declared(old, new)
    mentioned = {k for m in mappings for k in (*m.from_keys, *m.to_keys)}
    result: dict[str, Correspondence] = {}
    for spec in new.leaves():
        if spec.key in old.fields and spec.key not in mentioned:
            result[spec.key] = Correspondence((spec.key,), 1.0, True, None)
        elif spec.key not in mentioned:
            result[spec.key] = Correspondence((), 1.0, False, NEW_HERE)
    for m in mappings:
        result.update(_CORRESPONDENCE_BY_KIND[m.kind](m))
    return result


def correspondence_across(chain: Sequence[IndicatorSet]) -> dict[str, Correspondence]:
    """``correspondence`` of ``chain[-1]`` to ``chain[0]`` through the versions between: each step's
    declared mappings read back through the step before it."""
    table = correspondence(chain[0], chain[1])
    for i, (mid, newer) in enumerate(zip(chain[1:], chain[2:], strict=False)):
        step = correspondence(mid, newer)
        # mid's key -> newer's, where newer keeps mid's field as it was (same key or renamed)
        kept = {c.old_keys[0]: key for key, c in step.items() if c.comparable and len(c.old_keys) == 1}
        table = {key: _through(c, table, kept, step, mid, newer, named=i > 0) for key, c in step.items()}
    return table


def _through(c: Correspondence, earlier: Mapping[str, Correspondence], kept: Mapping[str, str],
             step: Mapping[str, Correspondence], mid: IndicatorSet, newer: IndicatorSet, *,
             named: bool) -> Correspondence:
    """``c`` (``newer``'s field -> ``mid``'s fields) as ``newer``'s field -> the oldest version's fields.
    ``named``: ``earlier``'s notes already name their versions (it was read through a step itself), so
    they are not named again ("v3：v2：改名")."""
    if not c.old_keys:  # new in ``newer``: its own note says so
        return c
    via = [earlier.get(k) for k in c.old_keys]
    old_keys = tuple(dict.fromkeys(k for b in via if b is not None for k in b.old_keys))
    notes = "；".join(n for n in (*(b.note if named else f"v{mid.version}：{b.note}" for b in via if b and b.note),
                                  f"v{newer.version}：{c.note}" if c.note else None) if n) or None
    if any(b is None or not b.old_keys for b in via):
        # new in mid, or in a version before it: read through an earlier step, its note names that version
        before = next((b.note for b in via if b is not None and not b.old_keys and b.note != NEW_HERE), None)
        return Correspondence(old_keys, 1.0, False,
                              before or f"v{mid.version} 新增指标，更早的版本中没有可对比的数据")
    if c.split_parts:  # a part of a split in ``newer``: its parts together stand for what mid's field was
        [b] = via
        whole = b.comparable and not b.split_parts
        return Correspondence(old_keys, c.factor * b.factor if whole else 1.0, False, notes,
                              split_parts=c.split_parts if whole else ())
    if c.comparable and len(via) == 1 and via[0] is not None and via[0].split_parts:
        # a part of mid's split, kept as it was: still a part, if newer keeps every part alike
        b = via[0]
        now = tuple(kept.get(p, "") for p in b.split_parts)
        alike = all(now) and all(step[p].factor == c.factor for p in now)
        return Correspondence(old_keys, b.factor * c.factor if alike else 1.0, False, notes,
                              split_parts=now if alike else ())
    if not c.comparable:
        return Correspondence(old_keys, 1.0, False, notes)
    # a split in mid that ``newer`` merges back whole stands for the field it split
    parts = {k for b in via if b.split_parts and set(b.split_parts) <= set(c.old_keys) for k in b.split_parts}
    if any(not b.comparable and k not in parts for k, b in zip(c.old_keys, via, strict=True)):
        return Correspondence(old_keys, 1.0, False, notes or "跨版本拆分后不可比")
    factors = {b.factor for b in via}
    if len(factors) != 1:
        return Correspondence(old_keys, 1.0, False, "各来源指标的换算系数不同，无法跨版本对比")
    return Correspondence(old_keys, c.factor * factors.pop(), True, notes)


def _rename(m: FieldMapping) -> dict[str, Correspondence]:
    return {m.to_keys[0]: Correspondence(m.from_keys, 1.0, True, m.note)}


def _unit(m: FieldMapping) -> dict[str, Correspondence]:
    return {m.to_keys[0]: Correspondence(m.from_keys, m.factor, True, m.note or f"单位换算 ×{m.factor:g}")}


def _merge(m: FieldMapping) -> dict[str, Correspondence]:
    return {
        m.to_keys[0]: Correspondence(m.from_keys, 1.0, True, m.note or f"由 {' + '.join(m.from_keys)} 合并")
    }


def _split(m: FieldMapping) -> dict[str, Correspondence]:
    note = m.note or f"由 {m.from_keys[0]} 拆分；各部分单独不可比，{' + '.join(m.to_keys)} 之和等于原指标"
    return {key: Correspondence(m.from_keys, 1.0, False, note, split_parts=m.to_keys) for key in m.to_keys}


def _not_comparable(m: FieldMapping) -> dict[str, Correspondence]:
    return {m.to_keys[0]: Correspondence(m.from_keys, 1.0, False, m.note)}


def _same(m: FieldMapping) -> dict[str, Correspondence]:
    return {m.to_keys[0]: Correspondence(m.from_keys, 1.0, True, m.note)}


def _added(m: FieldMapping) -> dict[str, Correspondence]:
    """Declared new when the version was published (a proposed correspondence dismissed): the
    comparison says so instead of guessing."""
    return {m.to_keys[0]: Correspondence((), 1.0, False, m.note or CONFIRMED_NEW)}


_CORRESPONDENCE_BY_KIND = {
    "rename": _rename,
    "unit": _unit,
    "merge": _merge,
    "split": _split,
    "not_comparable": _not_comparable,
    "removed": lambda m: {},
    "same": _same,
    "added": _added,
}
