"""Which submissions an export (or a roster query) reads, and reading them in batches.

"Approved data" means status ``final``, or ``approved`` with ``approved_level`` ≤ the chosen level
(levels count down from the village = 5 to the province = 1, so "≤ 乡镇" means a township or a
higher unit has approved it). The default is 乡镇 (4): everything that passed its first review.

Rows are read with a server-side cursor (``yield_per``): memory holds one batch, whatever the scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.completeness import china_today, get_collection
from engine.db.models import OrgUnit, Submission
from engine.errors import BadInput, NotFound
from engine.exports.tables import Record
from engine.orgs import (
    ancestor_at,
    in_subtree,
    is_within,
    level_of,
    parent_of,
    require_in_scope,
    unit_label_sql,
)
from engine.roles import LEVEL_LABELS, ROLES, Level
from engine.submissions import STATUS_LABELS

DEFAULT_BATCH = 500
DEFAULT_APPROVED_AT = Level.TOWNSHIP


# A level may be written as 4, "township" or "乡镇" (API query strings, CLI options, form fields).
LEVELS_BY_TEXT: dict[str, Level] = {
    **{str(int(lv)): lv for lv in Level},
    **{lv.name.lower(): lv for lv in Level},
    **{label: lv for lv, label in LEVEL_LABELS.items()},
    **{label.split("(")[0]: lv for lv, label in LEVEL_LABELS.items()},  # "村(社区)" -> also "村"
}


def parse_level(value: int | str | None, default: Level, what: str = "层级") -> Level:
    if value is None or str(value).strip() == "":
        return default
    level = LEVELS_BY_TEXT.get(str(value).strip().lower())
    if level is None:
        raise BadInput(f"{what}「{value}」无效，应为省、市、县、乡镇或村（province/city/county/township/village）")
    return level


def approved_clause(approved_at: int) -> ColumnElement[bool]:
    return or_(
        Submission.status == "final",
        and_(Submission.status == "approved", Submission.approved_level <= approved_at),
    )


@dataclass(frozen=True)
class Selection:
    """A collection, a subtree and the caller: the rows they may read, approved or (optionally) all."""

    principal: Principal
    collection_id: int  # plain values, not the ORM row: a streamed body may run in another session
    collection_title: str
    indicator_set_version_id: int
    root_code: str
    root_name: str
    approved_at: int = DEFAULT_APPROVED_AT
    all_units: bool = False  # every unit with its status; values only for approved ones
    batch_size: int = DEFAULT_BATCH

    def where(self) -> list[ColumnElement[bool]]:
        return [
            Submission.collection_id == self.collection_id,
            in_subtree(Submission.org_code, self.root_code),
            self.principal.scope_clause(Submission.org_code),
        ]

    def count(self, session: Session) -> int:
        q = select(func.count()).select_from(Submission).where(*self.where())
        if not self.all_units:
            q = q.where(approved_clause(self.approved_at))
        return session.scalar(q) or 0

    def batches(self, session: Session) -> Iterator[list[Record]]:
        """Records ordered by division code, ``batch_size`` at a time, from a server-side cursor."""
        approved = approved_clause(self.approved_at)
        data = case((approved, Submission.data), else_=literal(None)) if self.all_units else Submission.data
        q = (
            select(Submission.id, Submission.org_code, unit_label_sql(china_today()), Submission.status,
                   Submission.approved_level, data)
            .join(OrgUnit, OrgUnit.code == Submission.org_code)
            .where(*self.where())
            .order_by(Submission.org_code)
            .execution_options(yield_per=self.batch_size)
        )
        if not self.all_units:
            q = q.where(approved)
        result = session.execute(q)
        try:
            for part in result.partitions():
                yield [Record(*row) for row in part]
        finally:
            result.close()

    def sensitive_everywhere(self) -> bool:
        """May the caller read personal fields of every unit of the subtree it can read at all?"""
        p = self.principal
        if any(is_within(self.root_code, a.org_code) for a in p.assignments):  # the whole subtree is readable
            return p.sees_sensitive(self.root_code)
        return all(p.sees_sensitive(a.org_code) for a in p.assignments if is_within(a.org_code, self.root_code))

    def sensitive_anywhere(self) -> bool:
        """May the caller read personal fields of at least one unit of the subtree?"""
        return self.principal.sees_sensitive(self.root_code) or any(
            ROLES[a.role].sees_sensitive and is_within(a.org_code, self.root_code)
            for a in self.principal.assignments
        )


def select_for(
    session: Session,
    principal: Principal,
    collection_id: int,
    org_unit: str | None = None,
    *,
    approved_at: int = DEFAULT_APPROVED_AT,
    all_units: bool = False,
    batch_size: int = DEFAULT_BATCH,
) -> Selection:
    """Check the request (collection, unit, caller's reach) and describe what will be read."""
    collection = get_collection(session, principal, collection_id)
    code = org_unit or collection.scope_org_code
    # a unit above the caller's gives the caller's part of it, named after that part (the file, the
    # audit row) when it is one unit; one beside it reads as unknown, as on the roll-up and completeness
    # pages (no hint that the unit exists or what it is called)
    if not principal.can_see(code):
        parts = {a.org_code for a in principal.assignments if is_within(a.org_code, code)}
        if not parts:
            raise NotFound("单位不存在或无权查看")
        if len(parts) == 1:
            (code,) = parts
    unit = session.get(OrgUnit, code)
    if unit is None:
        raise NotFound("单位不存在或无权查看")
    require_in_scope(unit, collection.scope_org_code)
    if approved_at not in set(Level) or approved_at == Level.VILLAGE:
        raise BadInput("审核层级应为省、市、县或乡镇（村级不审核）")
    if batch_size < 1:
        raise BadInput("批大小必须为正整数")
    return Selection(principal, collection.id, collection.title, collection.indicator_set_version_id, code,
                     unit.name, int(approved_at), all_units, batch_size)


def approval_label(status: str, approved_level: int | None) -> str:
    if status == "approved" and approved_level is not None:
        return f"{LEVEL_LABELS[Level(approved_level)]}审核通过"
    return STATUS_LABELS.get(status, status)


class AncestorNames:
    """Names of the county and township above each unit, loaded once for the subtree (≈1,600 rows)."""

    def __init__(self, session: Session, root_code: str) -> None:
        above = _ancestors(root_code)
        q = select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.level.in_((Level.COUNTY, Level.TOWNSHIP)),
            or_(in_subtree(OrgUnit.code, root_code), OrgUnit.code.in_(above)),
        )
        self._names = dict(session.execute(q).tuples().all())

    def at(self, code: str, level: Level) -> str:
        if level_of(code) < level:
            return ""
        return self._names.get(ancestor_at(code, level), "")


def _ancestors(code: str) -> list[str]:
    out: list[str] = [code]
    parent = parent_of(code)
    while parent is not None:
        out.append(parent)
        parent = parent_of(parent)
    return out
