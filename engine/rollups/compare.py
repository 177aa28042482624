"""Comparing a unit's figures across collections by indicator identity, not by label.

The newer collection's fields are matched to the older one's through ``engine.definitions.correspondence``:
a renamed field is the same indicator, a unit change applies its factor, merged fields are summed, the
parts of a split are each "not comparable" but their sum is compared with the old field, and a field
declared not comparable (or new) is shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.db.models import Collection
from engine.definitions import Correspondence, IndicatorSet, correspondence_across
from engine.errors import BadInput, NotFound
from engine.publishing import indicator_set_chain, indicator_set_model
from engine.rollups.measures import ROWS
from engine.rollups.read import FigureSpec, Value, rollup_report
from engine.rollups.stages import Stage, get_stage


@dataclass(frozen=True)
class ComparisonRow:
    key: str  # the newer version's key ("a+b" for the sum of a split's parts)
    section: str
    label: str
    unit: str | None
    current: Value
    previous: Value
    comparable: bool
    note: str | None
    old_keys: tuple[str, ...]

    @property
    def change(self) -> Value:
        if not self.comparable or self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_pct(self) -> Decimal | None:
        change = self.change
        if change is None or not self.previous:
            return None
        return Decimal(change) * 100 / Decimal(self.previous)


@dataclass
class Comparison:
    current: Collection
    previous: Collection
    stage: Stage
    org_code: str
    rows: list[ComparisonRow]


def _collection(session: Session, collection_id: int) -> Collection:
    c = session.get(Collection, collection_id)
    if c is None:
        raise NotFound("采集任务不存在")
    return c


def _correspondence(session: Session, old: IndicatorSet, new: IndicatorSet) -> dict[str, Correspondence]:
    if old.code != new.code:
        raise BadInput(f"指标集不同（{new.title} / {old.title}），无法按指标对比")
    if new.version < old.version:
        raise BadInput("请把较新版本的采集作为本期，较早的作为对比期")
    if new.version == old.version:
        return {s.key: Correspondence((s.key,), 1.0, True, None) for s in new.leaves()}
    return correspondence_across(indicator_set_chain(session, old, new))


def _old_value(c: Correspondence, previous: dict[str, Value]) -> Value:
    values = [previous.get(k) for k in c.old_keys]
    if not values or any(v is None for v in values):
        return None
    total = sum(values)
    return total if c.factor == 1.0 else Decimal(total) * Decimal(repr(c.factor))


def _row(spec: FigureSpec, current: Value, c: Correspondence | None, previous: dict[str, Value]) -> ComparisonRow:
    if c is None:  # a repeat's row count: the same repeat key in both versions
        c = Correspondence((spec.key,), 1.0, spec.key in previous, None if spec.key in previous else "本版本新增")
    shown = _old_value(c, previous) if c.comparable else None
    return ComparisonRow(spec.key, spec.section, spec.label, spec.unit, current, shown, c.comparable, c.note,
                         c.old_keys)


def _split_total(parts: tuple[str, ...], specs: dict[str, FigureSpec], current: dict[str, Value],
                 c: Correspondence, previous: dict[str, Value]) -> ComparisonRow:
    values = [current.get(k) for k in parts]
    total = None if any(v is None for v in values) else sum(values)
    first = specs[parts[0]]
    label = " + ".join(specs[k].label for k in parts) + "（合计）"
    whole = Correspondence(c.old_keys, c.factor, True, None)
    return ComparisonRow("+".join(parts), first.section, label, first.unit, total, _old_value(whole, previous),
                         True, f"拆分后各部分之和与原指标 {'、'.join(c.old_keys)} 对比", c.old_keys)


def compare_units(
    session: Session,
    current_id: int,
    previous_id: int,
    org_code: str,
    *,
    stage: str | None = None,
    principal: Principal | None = None,
) -> Comparison:
    st = get_stage(stage)
    current_c, previous_c = _collection(session, current_id), _collection(session, previous_id)
    new = indicator_set_model(session, current_c.indicator_set_version_id)
    old = indicator_set_model(session, previous_c.indicator_set_version_id)
    table = _correspondence(session, old, new)
    now = rollup_report(session, current_c, org_code, stage=st.code, principal=principal, with_breakdown=False)
    before = rollup_report(session, previous_c, org_code, stage=st.code, principal=principal, with_breakdown=False)
    previous = before.unit.values
    specs = {s.key: s for s in now.figures}
    rows: list[ComparisonRow] = []
    for spec in now.figures:
        c = table.get(spec.key)
        if c is None and spec.aggregate != ROWS:
            continue
        rows.append(_row(spec, now.unit.values.get(spec.key), c, previous))
        if c is not None and c.split_parts and spec.key == c.split_parts[-1]:
            rows.append(_split_total(c.split_parts, specs, now.unit.values, c, previous))
    return Comparison(current_c, previous_c, st, org_code, rows)
