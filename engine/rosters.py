"""Roster queries: count (and, for roles that may see personal data, list) the rows of a repeat that
meet a condition, per unit of a chosen level — e.g. 重阳节 "elderly aged ≥ 90 on the day" from the
高龄津贴 roster, counted per township.

The condition is written in the engine's one expression language and checked against the repeat's row
fields (then the document's, as in row rules). It is evaluated in Python row by row over the approved
submissions of the subtree, read in batches (``engine.exports.source``), so memory stays flat.
A count is statistical and may go to anyone in scope; the rows themselves only to those who may read
personal fields of the unit (``Principal.sees_sensitive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.db.models import OrgUnit, Submission
from engine.definitions import FieldSpec, IndicatorSet
from engine.definitions.names import NameIndex, NameProblem
from engine.errors import BadInput, ExpressionError
from engine.exports.source import (
    DEFAULT_APPROVED_AT,
    DEFAULT_BATCH,
    Selection,
    approved_clause,
    parse_level,
    select_for,
)
from engine.expressions import EvaluationError, Expression, compile_expression
from engine.orgs import PREFIX_LENGTH, level_of
from engine.publishing import indicator_set_model
from engine.roles import LEVEL_LABELS, Level

ROW_LIMIT = 2000  # a listing is for reading on screen; larger lists belong in an export


@dataclass
class GroupCount:
    code: str
    name: str
    count: int = 0  # rows meeting the condition
    rows: int = 0  # rows read
    units: int = 0  # reporting units of the group in the caller's scope
    approved_units: int = 0  # of which approved (their rows are read)


@dataclass(frozen=True)
class RosterRow:
    submission_id: int
    org_code: str
    unit_name: str
    index: int  # 1-based row number within its submission
    values: dict[str, Any]  # row field name -> stored value


@dataclass
class RosterResult:
    array_key: str
    array_title: str
    condition: str
    group_level: int
    root_code: str
    root_name: str
    groups: list[GroupCount]
    columns: list[tuple[str, str]]  # (row field name, Chinese header) for a listing
    rows_allowed: bool  # the caller may read the rows of at least one unit
    rows: list[RosterRow] | None = None  # None: not asked for, or not allowed
    truncated: bool = False

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def rows_read(self) -> int:
        return sum(g.rows for g in self.groups)


def compile_row_condition(ind: IndicatorSet, array_key: str, source: str) -> tuple[Expression, list[FieldSpec]]:
    """Compile ``source`` and check every name against the repeat's row fields (then the document's);
    returns the condition and the fields it reads."""
    text = (source or "").strip()
    if not text:
        raise BadInput("请填写条件，例如 age >= 90")
    try:
        expr = compile_expression(text)
    except ExpressionError as exc:
        raise BadInput(f"条件「{text}」无效：{exc.message}", details={"condition": text}) from exc
    index = NameIndex(ind.fields)
    read: list[FieldSpec] = []
    for ref in expr.references:
        try:
            rows = index.resolve_array(ref.row_of, array_key) if ref.row_of else array_key
            read.append(ind.fields[index.resolve(ref.name, rows)])
        except NameProblem as exc:
            raise BadInput(f"条件「{text}」引用错误：{exc}", details={"condition": text, "name": ref.name}) from exc
    return expr, read


def _may_filter_on(selection: Selection, condition: str, read: list[FieldSpec]) -> None:
    """A condition reads only what its caller may read: a count that may be shared would otherwise
    answer yes/no questions about a masked value (``name == "…"``, ``id_number > "…"`` digit by digit),
    as a column privilege in SQL covers WHERE as well as SELECT."""
    personal = list(dict.fromkeys(f"「{f.title}」（{f.name}）" for f in read if f.sensitive))
    if personal and not selection.sensitive_everywhere():
        raise BadInput(f"条件引用了个人信息字段{'、'.join(personal)}，您的角色只能按非个人信息字段统计"
                       "（例如年龄 age、状态 status）", data_path="condition",
                       details={"condition": condition, "fields": [f.key for f in read if f.sensitive]})


def repeat_of(ind: IndicatorSet, array_key: str) -> FieldSpec:
    spec = ind.fields.get(array_key)
    if spec is None or spec.kind != "array" or spec.array_key is not None:
        repeats = [f"{f.key}（{f.title}）" for f in ind.fields.values() if f.kind == "array" and not f.array_key]
        available = "、".join(repeats) if repeats else "无"
        raise BadInput(f"「{array_key}」不是指标集《{ind.title}》的明细表（可选：{available}）")
    return spec


def _group_level(value: int | str, root_code: str) -> Level:
    level = parse_level(value, Level.TOWNSHIP, "分组层级")
    if level < level_of(root_code):
        raise BadInput(f"分组层级（{LEVEL_LABELS[level]}）不能高于所选单位的层级（{LEVEL_LABELS[level_of(root_code)]}）")
    return level


def _groups(session: Session, selection: Selection, level: Level) -> dict[str, GroupCount]:
    """Every group of the subtree the caller can see, with its unit counts (groups with no rows show 0)."""
    width = PREFIX_LENGTH[level]
    prefix = func.left(Submission.org_code, width)
    q = (
        select(prefix, func.count(), func.count().filter(approved_clause(selection.approved_at)))
        .where(*selection.where())
        .group_by(prefix)
    )
    counts = {p.ljust(12, "0"): (units, approved) for p, units, approved in session.execute(q)}
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(counts))).tuples().all())
    return {
        code: GroupCount(code, names.get(code, code), units=units, approved_units=approved)
        for code, (units, approved) in sorted(counts.items())
    }


def _matches(expr: Expression, scope: Any, unit: str, index: int) -> bool:
    try:
        result = expr.evaluate(scope)
    except EvaluationError as exc:
        raise BadInput(f"{unit} 第{index}行计算条件时出错：{exc.message}", details=exc.details) from exc
    if result is not None and not isinstance(result, bool):
        raise BadInput(f"条件「{expr.source}」的结果应为“是/否”，实际得到：{result!r}")
    return result is True  # None (a value is missing) does not count


def count_rows(
    session: Session,
    principal: Principal,
    collection_id: int,
    array_key: str,
    condition_expr: str,
    group_level: int | str = Level.TOWNSHIP,
    org_unit: str | None = None,
    *,
    list_rows: bool = False,
    approved_at: int = DEFAULT_APPROVED_AT,
    batch_size: int = DEFAULT_BATCH,
    row_limit: int = ROW_LIMIT,
) -> RosterResult:
    """Rows of ``array_key`` meeting ``condition_expr`` in the approved submissions of the subtree, per group."""
    selection = select_for(session, principal, collection_id, org_unit, approved_at=approved_at,
                           batch_size=batch_size)
    ind = indicator_set_model(session, selection.indicator_set_version_id)
    repeat = repeat_of(ind, array_key)
    expr, read = compile_row_condition(ind, array_key, condition_expr)
    _may_filter_on(selection, expr.source, read)
    level = _group_level(group_level, selection.root_code)
    groups = _groups(session, selection, level)
    row_fields = [f for f in ind.leaves() if f.array_key == repeat.key]
    result = RosterResult(
        array_key=repeat.key, array_title=repeat.title, condition=expr.source, group_level=int(level),
        root_code=selection.root_code, root_name=selection.root_name, groups=list(groups.values()),
        columns=[(f.name, f.title) for f in row_fields], rows_allowed=selection.sensitive_anywhere(),
    )
    listing: list[RosterRow] | None = [] if list_rows and result.rows_allowed else None
    width = PREFIX_LENGTH[level]
    for batch in selection.batches(session):
        for rec in batch:
            group = groups[rec.org_code[:width].ljust(12, "0")]
            scope = ind.scope(rec.data)
            rows = scope.lookup(repeat.key)
            show = listing is not None and principal.sees_sensitive(rec.org_code)
            for index, row in enumerate(rows if isinstance(rows, list) else [], start=1):
                if not isinstance(row, dict):
                    continue
                group.rows += 1
                if not _matches(expr, scope.row(row), rec.unit_name, index):
                    continue
                group.count += 1
                if show and listing is not None:
                    if len(listing) >= row_limit:
                        result.truncated = True
                    else:
                        values = {f.name: row.get(f.name) for f in row_fields}
                        listing.append(RosterRow(rec.submission_id, rec.org_code, rec.unit_name, index, values))
    result.rows = listing
    return result
