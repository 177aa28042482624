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
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from engine.db.models import Collection, RollupMember, RollupValue, Submission
from engine.definitions import IndicatorSet
from engine.errors import NotFound
from engine.events import ApprovalChanged, on_approval_changed
from engine.orgs import ancestor_at, level_of, prefix_of
from engine.publishing import indicator_set_model
from engine.roles import Level
from engine.rollups.measures import EXTREMES, Measure, Stat, document_stats, measures_of, merge
from engine.rollups.stages import STAGES, stages_of

Contribution = dict[tuple[str, str], Stat]  # (org_code, key) -> stat

_UPSERT = text(
    "INSERT INTO rollup_values AS r (collection_id, stage, org_code, key, sum, count, min, max)"
    " SELECT :cid, :stage, u.org, u.key, u.sum, u.count, u.min, u.max"
    " FROM unnest(CAST(:orgs AS varchar[]), CAST(:keys AS varchar[]), CAST(:sums AS numeric[]),"
    "             CAST(:counts AS bigint[]), CAST(:mins AS numeric[]), CAST(:maxs AS numeric[]))"
    "      AS u(org, key, sum, count, min, max)"
    " ORDER BY u.org, u.key"
    " ON CONFLICT (collection_id, stage, org_code, key) DO UPDATE SET"
    " sum = r.sum + EXCLUDED.sum, count = r.count + EXCLUDED.count,"
    " min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)"
    " RETURNING r.org_code, r.key, r.count, r.min, r.max"
)


@lru_cache(maxsize=64)
def measures_for(ind: IndicatorSet) -> tuple[Measure, ...]:
    return measures_of(ind)


def ancestors(org_code: str) -> list[str]:
    """The units whose figures include a report of ``org_code``: every level above it."""
    return [ancestor_at(org_code, lv) for lv in Level if lv < level_of(org_code)]


def contribution(ind: IndicatorSet, org_code: str, data: Mapping[str, object]) -> Contribution:
    stats = document_stats(measures_for(ind), data)
    return {(unit, key): stat for unit in ancestors(org_code) for key, stat in stats.items()}


def _upsert(session: Session, collection_id: int, stage: str, rows: Contribution, sign: int) -> list[tuple]:
    items = sorted(rows.items())
    return session.execute(_UPSERT, {
        "cid": collection_id, "stage": stage,
        "orgs": [org for (org, _), _ in items], "keys": [key for (_, key), _ in items],
        "sums": [s.sum * sign for _, s in items], "counts": [s.count * sign for _, s in items],
        # a withdrawal leaves min/max as they are here; _repair_extremes fixes the ones it touched
        "mins": [s.min if sign > 0 else None for _, s in items],
        "maxs": [s.max if sign > 0 else None for _, s in items],
    }).all()


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


def _merge_into(target: Contribution, rows: Contribution) -> None:
    for k, stat in rows.items():
        target[k] = merge(target.get(k), stat)


def sync_submissions(session: Session, wanted: Mapping[int, frozenset[str]]) -> None:
    """Make the stages that include each report match ``wanted`` (submission id -> stages); idempotent.

    The reports of one batch are merged first: many approvals under one township cost one upsert of the
    township's (and its ancestors') rows per stage, not one per report.
    """
    if not wanted:
        return
    subs = session.scalars(select(Submission).where(Submission.id.in_(list(wanted)))).all()
    members: dict[int, dict[str, RollupMember]] = defaultdict(dict)
    for m in session.scalars(select(RollupMember).where(RollupMember.submission_id.in_(list(wanted)))):
        members[m.submission_id][m.stage] = m
    adds: dict[tuple[int, str], Contribution] = defaultdict(dict)
    removals: dict[tuple[int, str], Contribution] = defaultdict(dict)
    stale: set[int] = set()  # collections whose figures changed under an included report: rebuilt instead
    # One model per version, before the loop: a query inside it would re-read the version row and
    # autoflush the member rows added for the previous report (a round trip per report).
    models = {v: indicator_set_model(session, v) for v in {sub.indicator_set_version_id for sub in subs}}
    for sub in subs:
        have, want = members[sub.id], wanted[sub.id]
        if set(have) == want:
            continue
        rows = contribution(models[sub.indicator_set_version_id], sub.org_code, sub.data)
        for stage, member in have.items():
            if stage not in want:
                if member.revision != sub.revision:
                    stale.add(sub.collection_id)
                _merge_into(removals[sub.collection_id, stage], rows)
                session.delete(member)
        for stage in want - set(have):
            _merge_into(adds[sub.collection_id, stage], rows)
            session.add(RollupMember(submission_id=sub.id, stage=stage, collection_id=sub.collection_id,
                                     org_code=sub.org_code, revision=sub.revision))
    session.flush()  # min/max repair must see the membership without the withdrawn reports
    for (cid, stage), rows in sorted(removals.items()):
        if cid not in stale:
            collection = session.get(Collection, cid)
            assert collection is not None
            subtract(session, collection, stage, rows)
    for (cid, stage), rows in sorted(adds.items()):
        if cid not in stale:
            add(session, cid, stage, rows)
    for cid in sorted(stale):
        rebuild_rollups(session, cid)


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
