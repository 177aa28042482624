"""Reading roll-ups: a unit's figures and a breakdown by the units of a lower level.

Units above the collection's reporting level are read from ``rollup_values`` by primary key (the unit's
rows, or ``org_code = ANY(children)``) — never by scanning documents. A reporting unit's own figures are
its approved document (one row), so the table holds no per-village rows (35,065 × ~180 × 2 would dwarf it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.completeness import china_today
from engine.db.models import Collection, OrgUnit, RollupMember, RollupValue, Submission
from engine.definitions import IndicatorSet
from engine.errors import BadInput, NotFound
from engine.orgs import ancestor_at, in_subtree, level_of, require_in_scope, unit_label, unit_label_sql
from engine.publishing import indicator_set_model
from engine.roles import LEVEL_BY_NAME, LEVEL_LABELS, Level
from engine.rollups.measures import (
    AGGREGATE_LABELS,
    COUNT_EACH,
    EMPTY_VALUE,
    ROWS,
    UNITS_KEY,
    VALUE_OF,
    Measure,
    Stat,
    document_stats,
)
from engine.rollups.stages import Stage, collection_stages, get_stage
from engine.rollups.store import measures_for

Value = Decimal | int | None
_FOUR_PLACES = Decimal("0.0001")
_ONE_PLACE = Decimal("0.1")


@dataclass(frozen=True)
class FigureSpec:
    """How a measure is shown: section, label, unit and aggregate (from the definition)."""

    key: str
    section: str
    label: str
    unit: str | None
    aggregate: str
    sensitive: bool
    field: str = ""  # the field's key: ``key`` itself, except for a per-option count (count_each)
    option: Any = None  # count_each: the option counted

    @property
    def aggregate_label(self) -> str:
        return AGGREGATE_LABELS[self.aggregate]


@dataclass
class UnitFigures:
    code: str
    name: str
    level: int
    units_included: int
    values: dict[str, Value]
    submission_id: int | None = None  # reporting units: the report behind the figures, when it is in them
    status: str | None = None


@dataclass
class RollupReport:
    collection: Collection
    stage: Stage
    figures: list[FigureSpec]
    unit: UnitFigures
    breakdown_level: Level | None = None
    breakdown: list[UnitFigures] = field(default_factory=list)


def figure_specs(ind: IndicatorSet, measures: Iterable[Measure]) -> list[FigureSpec]:
    out = []
    for m in measures:
        spec = ind.fields[m.field]
        parts = m.field.split(".")
        titles = [ind.fields[".".join(parts[: i + 1])].title for i in range(len(parts))]
        label = " · ".join(titles[1:]) if len(titles) > 1 else titles[0]
        if m.aggregate == ROWS:
            label = f"{spec.title}（行数）"
        elif m.aggregate == COUNT_EACH:  # 公共设施：卫生室 — how many units (rows) chose it
            label = f"{label}：{m.option_label}"
        out.append(FigureSpec(m.key, titles[0], label, spec.unit, m.aggregate, spec.sensitive is not None,
                              m.field, m.option))
    return out


def values_of(measures: Iterable[Measure], stats: dict[str, Stat]) -> dict[str, Value]:
    return {
        m.key: VALUE_OF[m.aggregate](stats[m.key]) if m.key in stats else EMPTY_VALUE[m.aggregate]
        for m in measures
    }


def _unit(session: Session, code: str) -> OrgUnit:
    unit = session.get(OrgUnit, code)
    if unit is None:
        raise NotFound(f"区划代码 {code} 不存在")
    return unit


def _table_stats(session: Session, collection_id: int, stage: str, codes: list[str]) -> dict[str, dict[str, Stat]]:
    out: dict[str, dict[str, Stat]] = defaultdict(dict)
    if not codes:
        return out
    rows = session.execute(
        select(RollupValue.org_code, RollupValue.key, RollupValue.sum, RollupValue.count, RollupValue.min,
               RollupValue.max)
        .where(RollupValue.collection_id == collection_id, RollupValue.stage == stage,
               RollupValue.org_code.in_(codes))
    )
    for org, key, s, c, lo, hi in rows:
        out[org][key] = Stat(s, c, lo, hi)
    return out


def _reports(session: Session, collection: Collection, stage: str, where: Any) -> list[tuple]:
    """(code, name, submission id, status, data if the stage includes it) of reporting units."""
    member = RollupMember.submission_id.is_not(None)
    return list(session.execute(
        select(Submission.org_code, unit_label_sql(china_today()), Submission.id, Submission.status, member,
               Submission.data)
        .join(OrgUnit, OrgUnit.code == Submission.org_code)
        .outerjoin(RollupMember, (RollupMember.submission_id == Submission.id) & (RollupMember.stage == stage))
        .where(Submission.collection_id == collection.id, where)
        .order_by(Submission.org_code)
    ).all())


def _report_figures(measures: tuple[Measure, ...], row: tuple) -> UnitFigures:
    code, name, sub_id, status, included, data = row
    stats = document_stats(measures, data) if included else {}
    # the report is linked where its figures are the ones shown: a reader of approved data only may open
    # it (engine.submissions.readable_clause), and nobody is sent from a roll-up to a draft
    return UnitFigures(code, name, int(level_of(code)), 1 if included else 0, values_of(measures, stats),
                       submission_id=sub_id if included else None, status=status)


def _units_at(session: Session, collection: Collection, unit: OrgUnit, level: Level) -> list[OrgUnit]:
    """Units of ``level`` below ``unit`` that overlap the collection's scope."""
    scope = collection.scope_org_code
    overlap = (in_subtree(OrgUnit.code, scope) if level >= level_of(scope)
               else OrgUnit.code == ancestor_at(scope, level))
    return list(session.scalars(
        select(OrgUnit).where(OrgUnit.level == int(level), in_subtree(OrgUnit.code, unit.code), overlap)
        .order_by(OrgUnit.code)
    ))


def parse_level(value: str | int | None) -> Level | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or str(value).isdigit():
        try:
            return Level(int(value))
        except ValueError:
            pass
    elif str(value).lower() in LEVEL_BY_NAME:
        return LEVEL_BY_NAME[str(value).lower()]
    raise BadInput(f"未知的层级 {value}（可选：{'、'.join(LEVEL_BY_NAME)}）")


def rollup_report(
    session: Session,
    collection: Collection,
    org_code: str,
    *,
    stage: str | None = None,
    level: Level | None = None,
    keys: Iterable[str] | None = None,
    principal: Principal | None = None,
    with_breakdown: bool = True,
) -> RollupReport:
    """A unit's figures, plus (``level``) one row per unit of that level below it.

    Without ``level`` the breakdown is by the unit's children. Sensitive fields are left out for a
    principal who may not read them at the unit.
    """
    st = get_stage(stage, collection_stages(session, collection))
    unit = _unit(session, org_code)
    require_in_scope(unit, collection.scope_org_code)
    ind = indicator_set_model(session, collection.indicator_set_version_id)
    measures = measures_for(ind)
    if principal is not None and not principal.sees_sensitive(org_code):
        measures = tuple(m for m in measures if ind.fields[m.field].sensitive is None)
    if keys:
        wanted = set(keys)
        unknown = wanted - {m.key for m in measures}
        if unknown:
            raise BadInput(f"这些指标不能汇总或不存在：{_unknown_keys(ind, measures, unknown)}", data_path="key")
        measures = tuple(m for m in measures if m.key in wanted)
    reporting = Level(collection.reporting_level)
    own_level = level_of(org_code)
    report = RollupReport(collection, st, figure_specs(ind, measures), _figures_of(
        session, collection, st.code, measures, unit, reporting))
    if own_level >= reporting or not with_breakdown:
        return report
    target = level or Level(own_level + 1)
    if not own_level < target <= reporting:
        raise BadInput(f"{LEVEL_LABELS[own_level]}级单位只能按更低的层级（至{LEVEL_LABELS[reporting]}级）分组")
    if target == reporting and own_level + 1 != reporting:
        raise BadInput(f"{LEVEL_LABELS[reporting]}级明细请从上一级单位逐级查看")
    report.breakdown_level = target
    if target == reporting:
        rows = _reports(session, collection, st.code, in_subtree(Submission.org_code, org_code))
        report.breakdown = [_report_figures(measures, r) for r in rows]
        return report
    units = _units_at(session, collection, unit, target)
    stats = _table_stats(session, collection.id, st.code, [u.code for u in units])
    report.breakdown = [_as_figures(u, stats.get(u.code, {}), measures) for u in units]
    return report


def _unknown_keys(ind: IndicatorSet, measures: tuple[Measure, ...], unknown: set[str]) -> str:
    """Each key named, with its title; a field counted option by option names its options' keys."""
    names = []
    for k in sorted(unknown):
        each = [m.key for m in measures if m.field == k and m.aggregate == COUNT_EACH]
        if each:
            names.append(f"“{ind.fields[k].title}”按选项分别汇总，请写 {'、'.join(each)}")
        else:
            names.append(f"“{ind.fields[k].title}”（{k}）" if k in ind.fields else k)
    return "；".join(names) if any("按选项" in n for n in names) else "、".join(names)


def _as_figures(unit: OrgUnit, stats: dict[str, Stat], measures: tuple[Measure, ...]) -> UnitFigures:
    included = stats[UNITS_KEY].count if UNITS_KEY in stats else 0
    return UnitFigures(unit.code, _label(unit), unit.level, included, values_of(measures, stats))


def _label(unit: OrgUnit) -> str:
    return unit_label(unit.name, unit.valid_to, china_today())


def _figures_of(session: Session, collection: Collection, stage: str, measures: tuple[Measure, ...],
                unit: OrgUnit, reporting: Level) -> UnitFigures:
    if unit.level == reporting:
        rows = _reports(session, collection, stage, Submission.org_code == unit.code)
        if rows:
            return _report_figures(measures, rows[0])
        return UnitFigures(unit.code, _label(unit), unit.level, 0, values_of(measures, {}))
    if unit.level > reporting:
        return UnitFigures(unit.code, _label(unit), unit.level, 0, values_of(measures, {}))
    stats = _table_stats(session, collection.id, stage, [unit.code]).get(unit.code, {})
    return _as_figures(unit, stats, measures)


def unit_values(session: Session, collection: Collection, org_code: str, stage: str | None = None
                ) -> dict[str, Value]:
    """Just the figures of one unit, by key (all measures)."""
    return rollup_report(session, collection, org_code, stage=stage, with_breakdown=False).unit.values


def json_number(value: Value) -> int | Decimal | None:
    """A figure for a JSON answer: an integer, or the exact decimal (the API's JSON writer spells a
    Decimal as a number with every digit; a float would lose digits past ~16 significant ones)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else value


def format_number(value: Value) -> str:
    """Chinese tables: thousands separators, at most four decimals rounded half up (四舍五入, where
    Decimal's own formatting rounds half to even), '—' for no data."""
    if value is None:
        return "—"
    if isinstance(value, int) or value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(_FOUR_PLACES, ROUND_HALF_UP):,.4f}".rstrip("0").rstrip(".")


def format_percent(value: Decimal | None) -> str:
    """A change in per cent, signed, one decimal rounded half up; blank when there is none."""
    return "" if value is None else f"{value.quantize(_ONE_PLACE, ROUND_HALF_UP):+.1f}%"
