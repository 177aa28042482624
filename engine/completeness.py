"""Completeness of a collection for any org unit and each of its children: one GROUP BY on submissions.

Counts (each submission in exactly one status column; ``overdue`` and ``on_time`` are flags on top):
- expected: submissions of the collection in the unit's subtree (one per reporting unit);
- not_started / draft / submitted / returned / approved / final: ``submissions.status``, where
  ``approved`` = approved by a review of the flow and still in it, ``final`` = the flow finished (its
  final review approved; the columns are named after the collection's flow, ``status_labels``);
- overdue: not final, and either the collection's deadline has passed (China time) or one of its
  ready tasks has been marked overdue by its deadline timer;
- on_time: final, and the flow finished by the end of the deadline day (China time, UTC+8). The moment
  of finishing is ``process_instances.updated_at`` of the completed instance — its last save, which is
  the final approval (``submissions.updated_at`` changes only when data is saved, not on approval).
- on-time rate = on_time / expected; completion rate = final / expected.
The subtree is a code prefix on ix_submissions_collection_org_prefix; children are grouped by the
prefix of the child level, so the whole table is one query at any level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from sqlalchemy import false, or_, select, text
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.db.models import Collection, OrgUnit
from engine.errors import NotFound
from engine.flow_shape import StepNames, step_names
from engine.orgs import (
    PREFIX_LENGTH,
    ancestor_at,
    in_subtree,
    is_within,
    level_of,
    prefix_of,
    require_in_scope,
    unit_label,
)
from engine.roles import Level

CHINA = dt.timezone(dt.timedelta(hours=8))  # no daylight saving: a fixed offset is exact

# status -> column header, the order of the table's columns; worded after the collection's flow
# (StepNames.words()): the shipped flow reads 乡镇已审核（待终审） / 县级终审通过, one with a city review after
# the county 乡镇及以上已审核（待终审） / 市级终审通过
STATUS_WORDING: dict[str, str] = {
    "not_started": "未开始",
    "draft": "草稿",
    "submitted": "已提交待审核",
    "returned": "已退回",
    "approved": "{pending}已审核（待终审）",
    "final": "{final}终审通过",
}


@lru_cache(maxsize=64)  # one entry per distinct wording
def status_labels(names: StepNames) -> Mapping[str, str]:
    words = names.words()
    return MappingProxyType({status: label.format(**words) for status, label in STATUS_WORDING.items()})


STATUS_COLUMNS = status_labels(StepNames())  # the columns; wording without a flow's names


@dataclass
class Counts:
    code: str
    name: str
    level: int
    expected: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_COLUMNS, 0))
    overdue: int = 0
    on_time: int = 0

    @property
    def final_rate(self) -> float | None:
        return self.by_status["final"] / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    def as_json(self) -> dict[str, object]:
        return {"org_code": self.code, "name": self.name, "level": self.level, "expected": self.expected,
                **self.by_status, "overdue": self.overdue, "on_time": self.on_time,
                "final_rate": self.final_rate, "on_time_rate": self.on_time_rate}


@dataclass
class CompletenessReport:
    collection: Collection
    unit: Counts
    child_level: Level | None
    children: list[Counts]
    today: dt.date
    deadline_passed: bool
    statuses: Mapping[str, str]  # column headers (STATUS_COLUMNS' keys), worded after the collection's flow


def _sql() -> str:
    columns = ",\n".join(f"count(*) FILTER (WHERE s.status = '{s}') AS {s}" for s in STATUS_COLUMNS)
    return (
        "SELECT substr(s.org_code, 1, :n) AS grp, count(*) AS expected,\n" + columns + ",\n"
        "count(*) FILTER (WHERE s.status <> 'final' AND (:late OR o.submission_id IS NOT NULL)) AS overdue,\n"
        "count(*) FILTER (WHERE s.status = 'final' AND p.updated_at < :cutoff) AS on_time\n"
        "FROM submissions s\n"
        "LEFT JOIN (SELECT submission_id, updated_at FROM process_instances"
        "           WHERE collection_id = :cid AND status = 'completed') p ON p.submission_id = s.id\n"
        # a step is late when its deadline timer fired or its shown deadline passed (engine.review.late)
        "LEFT JOIN (SELECT DISTINCT submission_id FROM workflow_tasks"
        "           WHERE collection_id = :cid AND state = 'ready' AND (overdue OR due_at < :now)) o"
        " ON o.submission_id = s.id\n"
        "WHERE s.collection_id = :cid AND s.org_code LIKE :prefix\n"
        "GROUP BY ROLLUP (1)"
    )


_QUERY = text(_sql())


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def on_time_cutoff(deadline: dt.date) -> dt.datetime:
    """The end of the deadline day in China (the last day there is, for a deadline on it)."""
    if deadline >= dt.date.max:
        return dt.datetime.combine(dt.date.max, dt.time.max, tzinfo=CHINA)
    return dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)


def completeness(
    session: Session,
    collection: Collection,
    org_code: str,
    *,
    today: dt.date | None = None,
    with_children: bool = True,
) -> CompletenessReport:
    unit = session.get(OrgUnit, org_code)
    if unit is None:
        raise NotFound(f"区划代码 {org_code} 不存在")
    require_in_scope(unit, collection.scope_org_code)
    today = today or china_today()
    own = level_of(org_code)
    child_level = Level(own + 1) if with_children and own < collection.reporting_level else None
    n = PREFIX_LENGTH[child_level] if child_level else PREFIX_LENGTH[own]
    rows = session.execute(_QUERY, {
        "n": n, "cid": collection.id, "prefix": prefix_of(org_code) + "%", "late": today > collection.deadline,
        "cutoff": on_time_cutoff(collection.deadline), "now": dt.datetime.now(dt.UTC),
    }).mappings().all()
    total = Counts(unit.code, unit.name, unit.level)
    groups: dict[str, Counts] = {}
    for row in rows:
        target = total if row["grp"] is None else groups.setdefault(row["grp"].ljust(12, "0"), Counts("", "", 0))
        target.expected, target.overdue, target.on_time = row["expected"], row["overdue"], row["on_time"]
        target.by_status = {s: row[s] for s in STATUS_COLUMNS}
    children: list[Counts] = []
    if child_level is not None and groups:
        names = {code: unit_label(name, valid_to, today) for code, name, valid_to in session.execute(
            select(OrgUnit.code, OrgUnit.name, OrgUnit.valid_to).where(OrgUnit.code.in_(list(groups))))}
        for code in sorted(groups):
            counts = groups[code]
            counts.code, counts.name, counts.level = code, names.get(code, code), int(child_level)
            children.append(counts)
    return CompletenessReport(collection, total, child_level, children, today, today > collection.deadline,
                              status_labels(step_names(session, collection.process_version_id)))


# --- which collections and units a caller may look at ---------------------------------------------


def visible_collections_clause(principal: Principal):  # noqa: ANN201 (SQLAlchemy expression)
    """SQL: collections whose scope overlaps a subtree where the caller holds a role."""
    clauses = [in_subtree(Collection.scope_org_code, a.org_code) for a in principal.assignments]
    clauses += [Collection.scope_org_code == ancestor_at(a.org_code, lv)
                for a in principal.assignments for lv in Level if lv < level_of(a.org_code)]
    return or_(*clauses) if clauses else false()


def get_collection(session: Session, principal: Principal, collection_id: int) -> Collection:
    collection = session.scalar(
        select(Collection).where(Collection.id == collection_id, visible_collections_clause(principal))
    )
    if collection is None:
        raise NotFound("采集任务不存在或无权查看")
    return collection


def default_unit(principal: Principal, collection: Collection) -> str:
    """The widest unit of the collection the caller may look at."""
    if principal.can_see(collection.scope_org_code):
        return collection.scope_org_code
    inside = sorted((a.org_code for a in principal.assignments if is_within(a.org_code, collection.scope_org_code)),
                    key=level_of)
    if not inside:
        raise NotFound("采集任务不存在或无权查看")
    return inside[0]


def require_unit(principal: Principal, org_code: str) -> None:
    """Out of the caller's scope reads as not found (no hint that the unit exists)."""
    if not principal.can_see(org_code):
        raise NotFound("单位不存在或无权查看")
