"""Comparing a unit's figures across collections by indicator identity, not by label.

The newer collection's fields are matched to the older one's through ``engine.definitions.correspondence``:
a renamed field is the same indicator, a unit change applies its factor, merged fields are summed, the
parts of a split are each "not comparable" but their sum is compared with the old field, and a field
declared not comparable (or new), or summed another way than before (``x-aggregate``), is shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.completeness import visible_collections_clause
from engine.db.models import Collection, IndicatorSetVersion
from engine.definitions import Correspondence, IndicatorSet, correspondence_across
from engine.errors import BadInput, NotFound
from engine.orgs import is_within
from engine.publishing import indicator_set_chain, indicator_set_model
from engine.rollups.measures import AGGREGATE_LABELS, OPTION_MARK, ROWS
from engine.rollups.read import FigureSpec, Value, rollup_report
from engine.rollups.stages import Stage, collection_stages, get_stage


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
        # over the size of the base, so a rise from a negative figure (-2 to -1) reads +50 %, not -50 %
        return Decimal(change) * 100 / abs(Decimal(self.previous))


@dataclass
class Comparison:
    current: Collection
    previous: Collection
    stage: Stage
    org_code: str
    rows: list[ComparisonRow]
    units: int  # units whose reports are in the current figures
    previous_units: int  # ... and in the previous ones

    @property
    def units_differ(self) -> bool:
        """The two periods sum different numbers of units: a change then also counts units gained or
        lost, not only how each unit's figures moved."""
        return self.units != self.previous_units

    @property
    def units_note(self) -> str | None:
        if not self.units_differ:
            return None
        return (f"两期纳入汇总的单位数不同（本期 {self.units} 个，对比期 {self.previous_units} 个），"
                "增减中含单位数变化的影响")


def earlier_collections(session: Session, principal: Principal, collection: Collection,
                        org_code: str) -> list[Collection]:
    """What ``collection``'s figures at ``org_code`` can be compared with, latest first: the same indicator
    set on the same or an older version (mappings run forward), an earlier period, covering the unit,
    visible to the caller."""
    current = collection.indicator_set_version
    candidates = session.scalars(
        select(Collection)
        .join(IndicatorSetVersion, IndicatorSetVersion.id == Collection.indicator_set_version_id)
        .where(IndicatorSetVersion.code == current.code, IndicatorSetVersion.version <= current.version,
               Collection.period < collection.period, visible_collections_clause(principal))
        .order_by(Collection.period.desc(), Collection.id.desc())
    )
    return [c for c in candidates if is_within(org_code, c.scope_org_code)]


def previous_collection(session: Session, principal: Principal, collection: Collection, org_code: str,
                        chosen: int | None) -> Collection | None:
    """The collection to compare with: the one asked for, else the latest of ``earlier_collections``."""
    usable = earlier_collections(session, principal, collection, org_code)
    if chosen is None:
        return usable[0] if usable else None
    match = next((c for c in usable if c.id == chosen), None)
    if match is None:
        raise BadInput("只能与同一指标集、期别更早、覆盖该单位且您有权查看的采集任务对比", data_path="with")
    return match


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


def _option_correspondence(c: Correspondence | None, spec: FigureSpec) -> Correspondence | None:
    """A per-option count follows its field: the same (or renamed) field's count of the same option value
    is the same indicator; a field merged from several is not (a unit ticking the option in two of
    them would be counted twice)."""
    if c is None:
        return None
    key = spec.key[len(spec.field):]  # "=clinic"
    if c.comparable and len(c.old_keys) == 1 and c.factor == 1.0:
        return Correspondence((c.old_keys[0] + key,), 1.0, True, c.note)
    return Correspondence(tuple(k + key for k in c.old_keys), 1.0, False, c.note or "口径不同，不能按选项对比")


# how a field was summed, for a note saying it changed ("none": not summed at all)
_SUMMED_AS = {**AGGREGATE_LABELS, "none": "不汇总"}


def _same_aggregate(c: Correspondence, spec: FigureSpec, old: IndicatorSet) -> Correspondence:
    """``c`` when the older version summed its fields the way this one sums ``spec``; otherwise not
    comparable, saying why: a field not summed then (``x-aggregate: none``) has no figure to compare
    with, and one summed another way (a sum, now an average) has a figure of another kind."""
    fields = (k.partition(OPTION_MARK)[0] for k in c.old_keys)
    before = sorted({old.fields[k].aggregate for k in fields if k in old.fields})
    if not before or before == [spec.aggregate]:
        return c
    now = _SUMMED_AS[spec.aggregate]
    if before == ["none"]:
        why = f"对比期未汇总此项（汇总方式已改变，本期为{now}），不可比"
    else:
        why = f"汇总方式已改变（对比期为{'、'.join(_SUMMED_AS[a] for a in before)}，本期为{now}），不可比"
    return Correspondence(c.old_keys, 1.0, False, f"{why}；{c.note}" if c.note else why)


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
                 c: Correspondence, previous: dict[str, Value], old: IndicatorSet) -> ComparisonRow:
    values = [current.get(k) for k in parts]
    total = None if any(v is None for v in values) else sum(values)
    first = specs[parts[0]]
    label = " + ".join(specs[k].label for k in parts) + "（合计）"
    whole = Correspondence(c.old_keys, c.factor, True, None)
    old_labels = "、".join(old.fields[k].title if k in old.fields else k for k in c.old_keys)
    return ComparisonRow("+".join(parts), first.section, label, first.unit, total, _old_value(whole, previous),
                         True, f"拆分后各部分之和与原指标“{old_labels}”对比", c.old_keys)


def compare_units(
    session: Session,
    current_id: int,
    previous_id: int,
    org_code: str,
    *,
    stage: str | None = None,
    principal: Principal | None = None,
) -> Comparison:
    if current_id == previous_id:
        raise BadInput("不能与本期自身对比，请选择更早的一期", data_path="with")
    current_c, previous_c = _collection(session, current_id), _collection(session, previous_id)
    st = get_stage(stage, collection_stages(session, current_c))  # worded after this period's flow
    new = indicator_set_model(session, current_c.indicator_set_version_id)
    old = indicator_set_model(session, previous_c.indicator_set_version_id)
    table = _correspondence(session, old, new)
    now = rollup_report(session, current_c, org_code, stage=st.code, principal=principal, with_breakdown=False)
    before = rollup_report(session, previous_c, org_code, stage=st.code, principal=principal, with_breakdown=False)
    previous = before.unit.values
    specs = {s.key: s for s in now.figures}
    rows: list[ComparisonRow] = []
    for spec in now.figures:
        c = table.get(spec.key) if spec.option is None else _option_correspondence(table.get(spec.field), spec)
        if c is None and spec.aggregate != ROWS:
            continue
        if c is not None:
            c = _same_aggregate(c, spec, old)
        rows.append(_row(spec, now.unit.values.get(spec.key), c, previous))
        if c is not None and c.split_parts and spec.key == c.split_parts[-1]:
            rows.append(_split_total(c.split_parts, specs, now.unit.values, c, previous, old))
    return Comparison(current_c, previous_c, st, org_code, rows, now.unit.units_included,
                      before.unit.units_included)
