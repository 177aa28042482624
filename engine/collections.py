"""Collections (campaigns): launch over an org subtree, close.

Starting creates one submission and one process instance per reporting unit, set-based on the
server (35,065 villages is a handful of INSERT … SELECT statements), and is idempotent: a collection
is identified by (indicator-set version, period, scope) and starting it again creates nothing twice.
A launch beside a running collection of the same set and period over an overlapping scope is refused
unless confirmed (``engine.launch_overlap``).
New submissions are prefilled from the same unit's last approved report of the same set, carried
across versions through the declared mappings; then the fields the definition fills from the report's
context (``x-fill``: unit code, unit name, period) are set, over whatever was carried.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.audit import record
from engine.completeness import china_today
from engine.db.models import Collection, IndicatorSetVersion, OrgUnit, ProcessVersion
from engine.definitions import IndicatorSet, carry_forward_across
from engine.definitions.fill import FILL_SOURCES, FillSource
from engine.errors import BadInput, Conflict, NotFound
from engine.flow_fields import check_report_fields
from engine.flow_shape import check_fit
from engine.instances import create_instances
from engine.launch_overlap import (
    Overlap,
    lock_launches,
    newest_published,
    older_version_warning,
    refusal,
    running_beside,
)
from engine.orgs import prefix_of
from engine.publishing import indicator_set_chain, indicator_set_from_row, indicator_set_model, process_model
from engine.roles import Level
from engine.workflows import start as start_workflow

# Period type of an indicator set -> the accepted period syntax.
PERIOD_FORMATS: dict[str | None, tuple[re.Pattern[str], str]] = {
    "year": (re.compile(r"^\d{4}$"), "年度，如 2025"),
    "quarter": (re.compile(r"^\d{4}Q[1-4]$"), "季度，如 2025Q3"),
    "month": (re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"), "月份，如 2025-10"),
    None: (re.compile(r"^[0-9A-Za-z-]{4,16}$"), "期别，如 2025"),
}


# status -> how the pages and the CLI name it (engine.launch_overlap.ENDED_STATUSES: those that hand out no work)
STATUS_LABELS: dict[str, str] = {"open": "进行中", "closed": "已关闭"}


@dataclass
class Started:
    collection: Collection
    created: bool
    submissions: int
    prefilled: int
    warnings: list[str] = field(default_factory=list)  # Chinese, for the answer: an older version
    overlapping: list[Overlap] = field(default_factory=list)  # the running collections beside it, confirmed


TITLE_MAX = 200  # collections.title is varchar(200)
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def start_collection(
    session: Session,
    *,
    title: str,
    indicator_set_version_id: int,
    process_version_id: int,
    period: str,
    scope_org_code: str,
    opens_on: dt.date,
    deadline: dt.date,
    reporting_level: int = Level.VILLAGE,
    actor_id: int | None = None,
    confirm_overlap: bool = False,
) -> Started:
    ind_row = session.get(IndicatorSetVersion, indicator_set_version_id)
    proc_row = session.get(ProcessVersion, process_version_id)
    if ind_row is None or ind_row.status != "published":
        raise BadInput("请选择一个已发布的指标集版本", data_path="indicator_set_version_id")
    if proc_row is None or proc_row.status != "published":
        raise BadInput("请选择一个已发布的审批流程版本", data_path="process_version_id")
    scope = session.get(OrgUnit, scope_org_code)
    if scope is None:
        raise NotFound(f"区划代码 {scope_org_code} 不存在", data_path="scope_org_code")
    if reporting_level < scope.level:
        raise BadInput("填报层级不能高于采集范围所在层级", data_path="reporting_level")
    ind = indicator_set_from_row(session, ind_row)
    pattern, example = PERIOD_FORMATS.get(ind.period, PERIOD_FORMATS[None])
    if not pattern.match(period):
        raise BadInput(f"期别格式不正确：应为{example}", data_path="period")
    if deadline < opens_on:
        raise BadInput("截止日期不能早于开始日期", data_path="deadline")
    if not title.strip():
        raise BadInput("请填写采集任务名称", data_path="title")
    if len(title) > TITLE_MAX:
        raise BadInput(f"采集任务名称不超过 {TITLE_MAX} 个字", data_path="title")
    for name, day in (("opens_on", opens_on), ("deadline", deadline)):
        if not FIRST_DAY <= day <= LAST_DAY:  # a typo like 9999: every "due after the deadline" would overflow
            raise BadInput(f"日期应在 {FIRST_DAY.year} 年到 {LAST_DAY.year} 年之间", data_path=name)
    if opens_on > china_today():
        # the flow's own deadlines (填报 14 天, 审核 7 天) run from the launch: launched early, every village
        # would be overdue before it could begin
        raise BadInput(f"开始日期 {opens_on.isoformat()} 还没到：流程中的期限从发起时开始计算，"
                       "请在开始当天发起采集任务", data_path="opens_on")
    definition = process_model(session, proc_row.id)
    # before anything is written, and before an earlier launch is returned: tasks nobody can act on
    # would sit in no one's inbox
    check_fit(session, definition, scope_code=scope_org_code, scope_level=Level(scope.level),
              reporting=Level(reporting_level), day=opens_on)
    check_report_fields(definition, ind)  # the report fields its gateway conditions read (none: nothing)

    lock_launches(session, ind_row.code, period)  # held to the commit: the checks below stay true
    warning = older_version_warning(ind.title, ind_row.version, newest_published(session, ind_row.code))
    warnings = [warning] if warning else []
    existing = session.scalar(
        select(Collection).where(
            Collection.indicator_set_version_id == ind_row.id,
            Collection.period == period,
            Collection.scope_org_code == scope_org_code,
        )
    )
    if existing is not None:
        if existing.process_version_id != proc_row.id:
            raise Conflict("同一指标集版本、期别和范围的采集已存在，且使用了不同的流程版本")
        return Started(existing, created=False, submissions=_count(session, existing.id), prefilled=0,
                       warnings=warnings)
    beside = running_beside(session, set_code=ind_row.code, period=period, scope_org_code=scope_org_code)
    if beside and not confirm_overlap:
        raise refusal(ind.title, period, beside)

    collection = Collection(
        title=title.strip(), indicator_set_version_id=ind_row.id, process_version_id=proc_row.id, period=period,
        scope_org_code=scope_org_code, reporting_level=reporting_level, opens_on=opens_on, deadline=deadline,
        status="open", created_by=actor_id,
    )
    session.add(collection)
    session.flush()
    created = session.execute(
        text(
            "INSERT INTO submissions (collection_id, org_code, indicator_set_version_id, status, data,"
            " explanations, revision, updated_at)"
            " SELECT :cid, o.code, :isv, 'not_started', '{}'::jsonb, '{}'::jsonb, 0, now()"
            " FROM org_units o"
            " WHERE o.level = :level AND o.code LIKE :prefix"
            " AND (o.valid_from IS NULL OR o.valid_from <= :day) AND (o.valid_to IS NULL OR o.valid_to > :day)"
        ),
        {"cid": collection.id, "isv": ind_row.id, "level": reporting_level,
         "prefix": prefix_of(scope_org_code) + "%", "day": opens_on},
    ).rowcount
    prefilled = _prefill(session, collection, ind_row)
    _fill(session, collection, ind)  # after the prefill: last period's code, name and year do not stay
    create_instances(session, collection, definition, start_workflow(definition, {}))
    details: dict[str, Any] = {"title": collection.title, "period": period, "scope": scope_org_code,
                               "submissions": created}
    if beside:  # the centre was told and went ahead: said on the audit page (its note column)
        details["overlap_confirmed"] = [o.id for o in beside]
        details["note"] = "已确认重复发起，范围与进行中的采集任务重叠：" + "；".join(o.describe() for o in beside)
    record(session, actor_id, "start", "collection", str(collection.id), details)
    return Started(collection, created=True, submissions=created, prefilled=prefilled, warnings=warnings,
                   overlapping=beside)


def _count(session: Session, collection_id: int) -> int:
    return session.scalar(text("SELECT count(*) FROM submissions WHERE collection_id = :c"), {"c": collection_id})


def _prefill(session: Session, collection: Collection, ind_row: IndicatorSetVersion) -> int:
    """Carry each unit's last approved report of this set (any older or equal version, an earlier period)
    into its new submission: a collection launched late for a past year is not prefilled with a later
    year's figures, which a clerk pressing submit would file as that past year's."""
    new = indicator_set_from_row(session, ind_row)
    previous = session.execute(
        text(
            "SELECT DISTINCT ON (s.org_code) s.org_code, s.indicator_set_version_id, s.data"
            " FROM submissions s JOIN collections c ON c.id = s.collection_id"
            " JOIN indicator_set_versions v ON v.id = s.indicator_set_version_id"
            " WHERE v.code = :code AND s.status = 'final' AND c.id <> :cid AND c.period < :period"
            " AND s.org_code IN (SELECT org_code FROM submissions WHERE collection_id = :cid)"
            " ORDER BY s.org_code, c.period DESC, c.id DESC"
        ),
        {"code": ind_row.code, "cid": collection.id, "period": collection.period},
    ).all()
    rows: list[dict[str, Any]] = []
    for org_code, version_id, data in previous:
        old = indicator_set_model(session, version_id)
        if old.version > new.version:  # mappings only run forward: an older version is not prefilled from a newer
            continue
        data = carry_forward_across(indicator_set_chain(session, old, new), data)
        rows.append({"org": org_code, "data": json.dumps(data, ensure_ascii=False)})
    if rows:
        session.execute(
            text("UPDATE submissions SET data = CAST(:data AS jsonb) WHERE collection_id = :cid AND org_code = :org"),
            [{**r, "cid": collection.id} for r in rows],
        )
    return len(rows)


def _fill(session: Session, collection: Collection, ind: IndicatorSet) -> None:
    """Set the filled fields (``x-fill``) of every submission of the collection from its unit and the
    period: one UPDATE … FROM org_units, nothing when the set fills no field. Each section on a filled
    path is merged (``||``) with an object of its filled fields, so other values stay; names are bind
    parameters, the values' SQL comes from ``FILL_SOURCES``."""
    if not ind.filled:
        return
    tree: dict[str, Any] = {}  # name -> subtree, or the FillSource of a filled field
    for spec in ind.filled:
        node = tree
        for name in spec.path[:-1]:
            node = node.setdefault(name, {})
        node[spec.path[-1]] = FILL_SOURCES[spec.fill or ""]
    params: dict[str, Any] = {"cid": collection.id, "period": collection.period}
    merged = _merged("s.data", tree, params)
    session.execute(
        text(f"UPDATE submissions s SET data = {merged} FROM org_units o"  # names are parameters
             " WHERE s.collection_id = :cid AND o.code = s.org_code"),
        params,
    )


def _merged(target: str, tree: dict[str, Any], params: dict[str, Any]) -> str:
    """SQL: the jsonb object ``target`` (an empty one when it is not an object) with ``tree``'s fields set."""
    pairs = []
    for name, child in tree.items():
        key = f"k{len(params)}"
        params[key] = name
        value = child.sql if isinstance(child, FillSource) else _merged(f"({target} -> :{key})", child, params)
        pairs.append(f"CAST(:{key} AS text), {value}")
    current = f"CASE WHEN jsonb_typeof({target}) = 'object' THEN {target} ELSE '{{}}'::jsonb END"
    return f"(({current}) || jsonb_build_object({', '.join(pairs)}))"


def close_collection(session: Session, collection_id: int, *, actor_id: int | None = None) -> bool:
    """Close a collection; False when it was closed already (nothing changes, no second audit entry)."""
    collection = session.get(Collection, collection_id, with_for_update=True)
    if collection is None:
        raise NotFound("采集任务不存在")
    if collection.status == "closed":
        return False
    collection.status = "closed"
    record(session, actor_id, "close", "collection", str(collection.id), {})
    return True


def load_open_definitions(session: Session) -> int:
    """Build now the models and form classes of every open collection's versions (a server starting:
    its first clerks do not wait for them, and they are built before the worker freezes what it
    keeps). Returns how many versions were loaded."""
    from engine.forms import form_class_for, page_form_class, pages

    rows = session.execute(select(Collection.indicator_set_version_id, Collection.process_version_id)
                           .where(Collection.status == "open")).all()
    indicator_sets = {row.indicator_set_version_id for row in rows}
    processes = {row.process_version_id for row in rows}
    for indicator_set_id in indicator_sets:
        ind = indicator_set_model(session, indicator_set_id)
        form_class_for(ind)
        for page in pages(ind):
            page_form_class(ind, page)
    for process_id in processes:
        process_model(session, process_id)
    return len(indicator_sets) + len(processes)
