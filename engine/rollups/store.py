"""Keeping ``rollup_values`` current: add or subtract one report's figures to every unit above it.

The rows of a unit are the figures of its whole subtree, one row per (stage, key). An approval adds the
report's stats to its ancestors (province, city, county, township) with one ordered
``INSERT … ON CONFLICT DO UPDATE``; a withdrawal adds the negated stats. Ancestor codes sort before their
descendants (zero-filled codes), and every statement locks rows in (org_code, key) order, so
concurrent approvals queue on the province rows instead of deadlocking.

min/max cannot be subtracted: when a withdrawn value was a unit's min or max, that unit's min/max is
recomputed from the reports still included (rare: only fields with x-aggregate min/max, only on a
withdrawal that hits the boundary).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import delete, inspect, select, text
from sqlalchemy.orm import Session

from engine.db.batch_writes import any_of
from engine.db.models import Collection, RollupMember, RollupValue, Submission
from engine.definitions import IndicatorSet
from engine.errors import NotFound
from engine.events import ApprovalChanged, on_approval_changed
from engine.orgs import ancestor_at, level_of, parent_of, prefix_of
from engine.publishing import indicator_set_model
from engine.roles import Level
from engine.rollups.measures import (
    EXTREMES,
    Measure,
    Plan,
    Stat,
    combine,
    document_stats,
    measures_of,
    merge,
    plan_of,
    report_values,
)
from engine.rollups.stages import STAGES, stages_of

Contribution = dict[tuple[str, str], Stat]  # (org_code, key) -> stat

_UPSERT = (
    "INSERT INTO rollup_values AS r (collection_id, stage, org_code, key, sum, count, min, max)"
    " SELECT :cid, :stage, u.org, u.key, u.sum, u.count, u.min, u.max"
    " FROM unnest(CAST(:orgs AS varchar[]), CAST(:keys AS varchar[]), CAST(:sums AS numeric[]),"
    "             CAST(:counts AS bigint[]), CAST(:mins AS numeric[]), CAST(:maxs AS numeric[]))"
    "      AS u(org, key, sum, count, min, max)"
    " ORDER BY u.org, u.key"
    " ON CONFLICT (collection_id, stage, org_code, key) DO UPDATE SET"
    " sum = r.sum + EXCLUDED.sum, count = r.count + EXCLUDED.count,"
    " min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)"
)
_ADD = text(_UPSERT)
_SUBTRACT = text(_UPSERT + " RETURNING r.org_code, r.key, r.count, r.min, r.max")  # to delete and repair


@lru_cache(maxsize=64)
def measures_for(ind: IndicatorSet) -> tuple[Measure, ...]:
    return measures_of(ind)


def ancestors(org_code: str) -> list[str]:
    """The units whose figures include a report of ``org_code``: every level above it."""
    return [ancestor_at(org_code, lv) for lv in Level if lv < level_of(org_code)]


@lru_cache(maxsize=64)
def plan_for(ind: IndicatorSet) -> Plan:
    return plan_of(measures_for(ind))


def _numbers(values: Iterable[Decimal | int | None]) -> str:
    """A numeric array literal: psycopg dumps a list element by element in Python (2.5x slower here)."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _upsert(session: Session, collection_id: int, stage: str, rows: Contribution, sign: int) -> list[tuple]:
    items = sorted(rows.items())
    result = session.execute(_ADD if sign > 0 else _SUBTRACT, {
        "cid": collection_id, "stage": stage,
        "orgs": [org for (org, _), _ in items], "keys": [key for (_, key), _ in items],
        "sums": _numbers(s.sum * sign for _, s in items), "counts": _numbers(s.count * sign for _, s in items),
        # a withdrawal leaves min/max as they are here; _repair_extremes fixes the ones it touched
        "mins": _numbers(s.min if sign > 0 else None for _, s in items),
        "maxs": _numbers(s.max if sign > 0 else None for _, s in items),
    })
    return [] if sign > 0 else list(result.all())


def add(session: Session, collection_id: int, stage: str, rows: Contribution) -> None:
    _upsert(session, collection_id, stage, rows, 1)


def subtract(session: Session, collection: Collection, stage: str, rows: Contribution) -> None:
    result = _upsert(session, collection.id, stage, rows, -1)
    emptied = [(org, key) for org, key, count, _, _ in result if count <= 0]
    if emptied:
        session.execute(
            text("DELETE FROM rollup_values WHERE collection_id = :cid AND stage = :stage"
                 " AND (org_code, key) IN (SELECT * FROM unnest(CAST(:orgs AS varchar[]), CAST(:keys AS varchar[])))"),
            {"cid": collection.id, "stage": stage, "orgs": [o for o, _ in emptied], "keys": [k for _, k in emptied]},
        )
    stale = [
        (org, key) for org, key, count, lo, hi in result
        if count > 0 and ((lo is not None and lo == rows[org, key].min) or (hi is not None and hi == rows[org, key].max))
    ]
    if stale:
        _repair_extremes(session, collection, stage, stale)


def _repair_extremes(session: Session, collection: Collection, stage: str, pairs: list[tuple[str, str]]) -> None:
    """Recompute min/max of (unit, key) pairs from the reports the stage still includes."""
    ind = indicator_set_model(session, collection.indicator_set_version_id)
    keys = {key for _, key in pairs}
    measures = [m for m in measures_for(ind) if m.key in keys and m.aggregate in EXTREMES]
    top = min((org for org, _ in pairs), key=level_of)
    docs = session.execute(
        select(Submission.org_code, Submission.data)
        .join(RollupMember, RollupMember.submission_id == Submission.id)
        .where(RollupMember.collection_id == collection.id, RollupMember.stage == stage,
               RollupMember.org_code.like(prefix_of(top) + "%"))
    ).all()
    wanted = set(pairs)
    combined: dict[tuple[str, str], Stat] = {}
    for org_code, data in docs:
        for key, stat in document_stats(measures, data).items():
            for unit in ancestors(org_code):
                if (unit, key) in wanted:
                    combined[unit, key] = merge(combined.get((unit, key)), stat)
    for (unit, key), stat in combined.items():
        session.execute(
            text("UPDATE rollup_values SET min = :lo, max = :hi WHERE collection_id = :cid AND stage = :stage"
                 " AND org_code = :org AND key = :key"),
            {"lo": stat.min, "hi": stat.max, "cid": collection.id, "stage": stage, "org": unit, "key": key},
        )


_NEEDED = frozenset({"id", "collection_id", "org_code", "indicator_set_version_id", "revision", "data"})


def _submissions(session: Session, ids: list[int]) -> list[Submission]:
    """The batch's submissions, taken from the identity map where they are loaded (bulk approval's
    ``_run_many`` holds them all, locked): selecting them again would re-read and decode every report's
    JSONB just for the ORM to keep the objects it already has. Call after a query has autoflushed."""
    found, missing = [], []
    for sid in ids:
        sub = session.identity_map.get(Session.identity_key(Submission, sid))
        if sub is None or not _NEEDED.isdisjoint(inspect(sub).unloaded):
            missing.append(sid)  # not loaded, or expired (e.g. after a commit): read it as before
        else:
            found.append(sub)
    if missing:
        found += session.scalars(select(Submission).where(any_of(Submission.id, missing))).all()
    return found


# (collection, stage) -> (indicator-set version, parent of the reporting unit) -> report_values of each report
Pending = dict[tuple[int, str], dict[tuple[int, str], list[tuple]]]


def _expand(plans: Mapping[int, Plan], groups: Mapping[tuple[int, str], list[tuple]]) -> Contribution:
    """Every ancestor's rows from reports grouped by their parent: each group is combined once, then each
    unit is merged once into its parent, deepest level first (not every report into every ancestor)."""
    units: dict[str, dict[str, Stat]] = defaultdict(dict)
    for (version, parent), reports in groups.items():
        target = units[parent]
        for key, stat in combine(plans[version], reports).items():
            target[key] = merge(target.get(key), stat)
    for level in sorted(Level, reverse=True):
        for code in [c for c in units if level_of(c) == level]:
            parent = parent_of(code)
            if parent is not None:
                target = units[parent]
                for key, stat in units[code].items():
                    target[key] = merge(target.get(key), stat)
    return {(unit, key): stat for unit, stats in units.items() for key, stat in stats.items()}


def sync_submissions(session: Session, wanted: Mapping[int, frozenset[str]]) -> None:
    """Make the stages that include each report match ``wanted`` (submission id -> stages); idempotent.

    The reports of one batch are merged first: many approvals under one township cost one upsert of the
    township's (and its ancestors') rows per stage, not one per report. Within the batch, reports are
    summed per parent unit and the parents' sums carried up once (``_expand``), not each report into
    each of its 4 ancestors.
    """
    if not wanted:
        return
    ids = list(wanted)
    members: dict[int, dict[str, int]] = defaultdict(dict)  # submission -> stage -> revision added
    for sid, stage, revision in session.execute(_MEMBERS, {"ids": ids}):
        members[sid][stage] = revision
    changed = [sub for sub in _submissions(session, ids) if set(members[sub.id]) != wanted[sub.id]]
    if not changed:
        return
    # One model and plan per version, before the loop (a query inside it would autoflush per report).
    versions = {sub.indicator_set_version_id for sub in changed}
    plans = {v: plan_for(indicator_set_model(session, v)) for v in versions}
    adds: Pending = defaultdict(lambda: defaultdict(list))
    removals: Pending = defaultdict(lambda: defaultdict(list))
    gone: list[tuple[int, str]] = []
    joined: list[tuple[int, str, int, str, int]] = []  # in _MEMBER_COLUMNS order
    stale: set[int] = set()  # collections whose figures changed under an included report: rebuilt instead
    for sub in changed:
        have, want = members[sub.id], wanted[sub.id]
        values = report_values(plans[sub.indicator_set_version_id], sub.data)
        parent = parent_of(sub.org_code)  # None: a province reports, no unit above it has rows
        for stage, revision in have.items():
            if stage not in want:
                if revision != sub.revision:
                    stale.add(sub.collection_id)
                if parent:
                    removals[sub.collection_id, stage][sub.indicator_set_version_id, parent].append(values)
                gone.append((sub.id, stage))
        for stage in want - set(have):
            if parent:
                adds[sub.collection_id, stage][sub.indicator_set_version_id, parent].append(values)
            joined.append((sub.id, stage, sub.collection_id, sub.org_code, sub.revision))
    # One statement each, not ORM objects (unit-of-work bookkeeping and one INSERT per member). Deleted
    # before the subtraction: min/max repair must see the membership without the withdrawn reports.
    if gone:
        session.execute(_DELETE_MEMBERS, {"ids": [i for i, _ in gone], "stages": [st for _, st in gone]})
    if joined:
        columns = {name: [row[i] for row in joined] for i, name in enumerate(_MEMBER_COLUMNS)}
        session.execute(_INSERT_MEMBERS, columns)
    for (cid, stage), groups in sorted(removals.items()):
        if cid not in stale:
            collection = session.get(Collection, cid)
            assert collection is not None
            subtract(session, collection, stage, _expand(plans, groups))
    for (cid, stage), groups in sorted(adds.items()):
        if cid not in stale:
            add(session, cid, stage, _expand(plans, groups))
    for cid in sorted(stale):
        rebuild_rollups(session, cid)


# Arrays, not IN (…): one bound parameter however large the batch.
_MEMBERS = text(
    "SELECT submission_id, stage, revision FROM rollup_members"
    " WHERE submission_id = ANY(CAST(:ids AS bigint[]))"
)
_MEMBER_COLUMNS = ("submission_id", "stage", "collection_id", "org_code", "revision")
_INSERT_MEMBERS = text(
    "INSERT INTO rollup_members (submission_id, stage, collection_id, org_code, revision)"
    " SELECT * FROM unnest(CAST(:submission_id AS bigint[]), CAST(:stage AS varchar[]),"
    " CAST(:collection_id AS integer[]), CAST(:org_code AS varchar[]), CAST(:revision AS integer[]))"
)
_DELETE_MEMBERS = text(
    "DELETE FROM rollup_members WHERE (submission_id, stage) IN"
    " (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:stages AS varchar[])))"
)


def sync_submission(session: Session, submission_id: int, approved_level: int | None, final: bool) -> None:
    sync_submissions(session, {submission_id: stages_of(approved_level, final)})


@on_approval_changed
def _on_approval_changed(session: Session, events: list[ApprovalChanged]) -> None:
    latest = {e.submission_id: e for e in events}  # a report's last event in the batch is its state
    sync_submissions(session, {sid: stages_of(e.new_level, e.final) for sid, e in latest.items()})


# --- rebuild ----------------------------------------------------------------------------------------


def _roll_up(per_unit: dict[str, dict[str, Stat]]) -> dict[str, dict[str, Stat]]:
    """Combine reporting units' stats level by level up to the province (each stat merged once per level)."""
    out: dict[str, dict[str, Stat]] = {}
    current = per_unit
    while current:
        parents: dict[str, dict[str, Stat]] = defaultdict(dict)
        for code, stats in current.items():
            if level_of(code) == Level.PROVINCE:
                continue
            parent = ancestor_at(code, Level(level_of(code) - 1))
            target = parents[parent]
            for key, stat in stats.items():
                target[key] = merge(target.get(key), stat)
        out.update(parents)
        current = parents
    return out


def _insert_rows(session: Session, collection_id: int, stage: str, totals: dict[str, dict[str, Stat]]) -> None:
    rows: Contribution = {(org, key): stat for org, stats in totals.items() for key, stat in stats.items()}
    items = sorted(rows.items())
    for start in range(0, len(items), 20000):
        add(session, collection_id, stage, dict(items[start:start + 20000]))


def rebuild_rollups(session: Session, collection_id: int) -> int:
    """Recompute a collection's roll-ups from its approved submissions (repair; tests compare). Returns
    the number of reports included in the widest stage."""
    collection = session.get(Collection, collection_id)
    if collection is None:
        raise NotFound("采集任务不存在")
    session.execute(delete(RollupValue).where(RollupValue.collection_id == collection_id))
    session.execute(delete(RollupMember).where(RollupMember.collection_id == collection_id))
    ind = indicator_set_model(session, collection.indicator_set_version_id)
    measures = measures_for(ind)
    per_stage: dict[str, dict[str, dict[str, Stat]]] = {stage: {} for stage in STAGES}
    members: list[dict[str, object]] = []
    included = _approved(session, collection_id)
    for sub_id, org_code, level, status, revision, data in included:
        stages = stages_of(level, status == "final")
        stats = document_stats(measures, data)
        for stage in stages:
            per_stage[stage][org_code] = stats
            members.append({"submission_id": sub_id, "stage": stage, "collection_id": collection_id,
                            "org_code": org_code, "revision": revision})
    if members:
        session.execute(RollupMember.__table__.insert(), members)
    for stage, per_unit in per_stage.items():
        _insert_rows(session, collection_id, stage, _roll_up(per_unit))
    session.flush()
    return len(included)


def _approved(session: Session, collection_id: int) -> list[tuple]:
    return list(session.execute(
        select(Submission.id, Submission.org_code, Submission.approved_level, Submission.status,
               Submission.revision, Submission.data)
        .where(Submission.collection_id == collection_id,
               (Submission.approved_level.is_not(None)) | (Submission.status == "final"))
    ).all())


def stored_rows(session: Session, collection_id: int) -> dict[tuple[str, str, str], tuple[Decimal, int, Decimal | None, Decimal | None]]:
    """Every stored row as {(stage, org_code, key): (sum, count, min, max)} — for checks and tests."""
    result = session.execute(
        select(RollupValue.stage, RollupValue.org_code, RollupValue.key, RollupValue.sum, RollupValue.count,
               RollupValue.min, RollupValue.max).where(RollupValue.collection_id == collection_id)
    )
    return {(st, org, key): (s, c, lo, hi) for st, org, key, s, c, lo, hi in result}
