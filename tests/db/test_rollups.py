"""Live roll-ups against PostgreSQL, checked against an independent computation from the raw submissions.

Approvals go through the real flow (submit -> township -> county) in the sample province; a generated
province of 300 villages drives the same listener through approval events. Every check also rebuilds
the roll-ups from scratch and requires the stored rows to be identical to the incremental ones.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine import submissions, tasks
from engine.auth import create_user
from engine.collections import start_collection
from engine.db.models import Collection, OrgUnit, Submission
from engine.errors import NotFound
from engine.events import ApprovalChanged, approval_changed, deferred
from engine.orgs import ancestor_at, generate_province, import_units, level_of, overlaps
from engine.publishing import indicator_set_model, publish_indicator_set
from engine.roles import Level
from engine.rollups import STAGES, compare_units, rebuild_rollups, rollup_report, stored_rows
from engine.tasks import InboxFilter, inbox_query
from tests.conftest import PASSWORD, ROOT, login, principal_of, valid_report

COUNTY = "390121000000"
YUNXI = "390121101000"
BAISHI = "390121201000"
XIKOU, SHANGJIE, BAISHI_V = "390121101201", "390121101202", "390121201201"


# --- helpers (also used by the completeness and API tests) -------------------------------------------


def variant(k: int, org: str, base: dict | None = None) -> dict:
    """A valid report with every count scaled by ``k`` (sums, orderings and ratios stay valid)."""

    def scale(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {name: scale(v, name) for name, v in value.items()}
        if isinstance(value, bool) or key in {"report_year", "avg_household_size"}:
            return value
        return value * k if isinstance(value, int | float) else value

    doc = scale(copy.deepcopy(base or valid_report()))
    doc["basic"]["division_code"] = org
    return doc


def clerk(db, org: str) -> str:
    username = f"clerk_{org}"
    if principal_of_or_none(db, username) is None:
        create_user(db, username, PASSWORD, roles=[("village_clerk", org)])
        db.commit()
    return username


def principal_of_or_none(db, username: str):
    from engine.db.models import User

    return principal_of(db, username) if db.scalar(select(User.id).where(User.username == username)) else None


def sub_of(db, collection: Collection, org: str) -> Submission:
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == org))


def submit(db, collection: Collection, org: str, data: dict) -> Submission:
    sub = sub_of(db, collection, org)
    out = submissions.submit(db, principal_of(db, clerk(db, org)), sub.id, data, revision=sub.revision)
    assert out.submitted, [p.message for p in out.validation.errors]
    db.commit()
    return out.submission


def review(db, username: str, sub_id: int, decision: str = "approve", *, commit: bool = True) -> None:
    principal = principal_of(db, username)
    task = next(row[0] for row in db.execute(inbox_query(principal, InboxFilter())) if row[0].submission_id == sub_id)
    comment = "" if decision == "approve" else "请复核"
    tasks.complete_review(db, principal, task.id, {"decision": decision, "comment": comment})
    if commit:
        db.commit()


def reviewer_of(db, role: str, org: str) -> str:
    username = f"{role}_{org}"
    if principal_of_or_none(db, username) is None:
        create_user(db, username, PASSWORD, roles=[(role, org)])
        db.commit()
    return username


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def independent_totals(db, collection: Collection, stage: str) -> dict[str, dict[str, Any]]:
    """Straight from the raw submissions: per unit above the villages, the sum of every summed field
    over the reports the stage includes, and how many reports that is."""
    ind = indicator_set_model(db, collection.indicator_set_version_id)
    summed = [f for f in ind.leaves() if f.aggregate == "sum" and f.array_key is None]
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"@units": 0})
    for org, status, level, data in db.execute(
        select(Submission.org_code, Submission.status, Submission.approved_level, Submission.data)
        .where(Submission.collection_id == collection.id)
    ):
        final = status == "final"
        if not (final if stage == "final" else (level is not None or final)):
            continue
        for lv in range(Level.PROVINCE, level_of(org)):
            unit = totals[ancestor_at(org, Level(lv))]
            unit["@units"] += 1
            for f in summed:
                value = _get(data, f.path)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    unit[f.key] = unit.get(f.key, Decimal(0)) + Decimal(str(value))
    return totals


def assert_matches_independent(db, collection: Collection) -> int:
    """Every unit above the reporting level, both stages; returns how many figures were compared."""
    ind = indicator_set_model(db, collection.indicator_set_version_id)
    keys = [f.key for f in ind.leaves() if f.aggregate == "sum" and f.array_key is None]
    prefix = collection.scope_org_code[:2]
    units = db.scalars(select(OrgUnit.code).where(OrgUnit.level < Level.VILLAGE, OrgUnit.code.like(prefix + "%")))
    compared = 0
    for stage in STAGES:
        expected = independent_totals(db, collection, stage)
        for code in units.all() if stage == "approved" else [u for u in expected] + [prefix.ljust(12, "0")]:
            if not overlaps(code, collection.scope_org_code):  # beside the scope: not in the collection
                with pytest.raises(NotFound, match="不在本采集任务的范围内"):
                    rollup_report(db, collection, code, stage=stage, with_breakdown=False)
                continue
            report = rollup_report(db, collection, code, stage=stage, with_breakdown=False)
            want = expected.get(code, {"@units": 0})
            assert report.unit.units_included == want["@units"], (stage, code)
            for key in keys:
                assert report.unit.values[key] == want.get(key), (stage, code, key)
                compared += 1
    return compared


def assert_rebuild_equals_incremental(db, collection: Collection) -> None:
    incremental = stored_rows(db, collection.id)
    rebuild_rollups(db, collection.id)
    rebuilt = stored_rows(db, collection.id)
    assert rebuilt == incremental
    db.rollback()  # the rebuild was only for comparing


def _approve_mix(db, collection: Collection) -> None:
    """Ten villages of 云溪县: final, township-approved, returned by the county, submitted, untouched."""
    plan = {
        XIKOU: (3, "final"), SHANGJIE: (2, "township"), "390121101203": (5, "final"),
        "390121101204": (7, "county_return"), "390121101001": (4, "submitted"),
        BAISHI_V: (6, "final"), "390121201202": (1, "township"), "390121201203": (9, "final"),
        "390121201204": (8, "returned"),
    }  # 390121201205 never starts
    for org, (k, outcome) in plan.items():
        sub = submit(db, collection, org, variant(k, org))
        township = reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP))
        if outcome == "returned":
            review(db, township, sub.id, "return")
        elif outcome != "submitted":
            review(db, township, sub.id)
        if outcome in {"final", "county_return"}:
            review(db, "rev_county", sub.id, "approve" if outcome == "final" else "return")


# --- tests ----------------------------------------------------------------------------------------------


def test_approval_and_withdrawal_change_totals_in_the_same_transaction(collection, db, session_factory):
    sub = submit(db, collection, XIKOU, variant(1, XIKOU))

    def pop(session, unit, stage="approved"):
        report = rollup_report(session, session.get(Collection, collection.id), unit, stage=stage,
                               with_breakdown=False)
        return report.unit.values["population.pop_total"], report.unit.units_included

    assert pop(db, YUNXI) == (None, 0)
    review(db, "rev_yunxi", sub.id, commit=False)
    for unit in (YUNXI, COUNTY, "390100000000", "390000000000"):  # every level, inside the approving transaction
        assert pop(db, unit) == (1350, 1)
    assert pop(db, YUNXI, "final") == (None, 0)
    with session_factory() as other:  # nobody else sees figures of an uncommitted approval
        assert pop(other, YUNXI) == (None, 0)
    db.commit()
    with session_factory() as other:
        assert pop(other, COUNTY) == (1350, 1)

    review(db, "rev_county", sub.id, "return", commit=False)  # the county withdraws the approval
    assert pop(db, COUNTY) == (None, 0) and pop(db, "390000000000") == (None, 0)
    db.rollback()  # ... and a rolled-back withdrawal leaves the figures as they were
    assert pop(db, COUNTY) == (1350, 1)

    review(db, "rev_county", sub.id)
    assert pop(db, COUNTY, "final") == (1350, 1) and pop(db, COUNTY) == (1350, 1)
    assert pop(db, BAISHI) == (None, 0)  # a sibling township is untouched
    assert_rebuild_equals_incremental(db, collection)


def test_sample_province_matches_independent_computation_and_rebuild(collection, db):
    _approve_mix(db, collection)
    compared = assert_matches_independent(db, collection)
    assert compared > 500
    county = rollup_report(db, collection, COUNTY, stage="final", with_breakdown=False).unit
    assert county.units_included == 4
    assert county.values["population.pop_total"] == 1350 * (3 + 5 + 6 + 9)
    assert county.values["land.land_cultivated"] == Decimal("1200.5") * (3 + 5 + 6 + 9)
    approved = rollup_report(db, collection, COUNTY, stage="approved", with_breakdown=False).unit
    assert approved.units_included == 6  # + two township approvals; the county return left again
    assert_rebuild_equals_incremental(db, collection)


def test_breakdown_drills_down_to_the_villages(collection, db):
    _approve_mix(db, collection)
    by_township = rollup_report(db, collection, COUNTY, stage="approved")
    assert by_township.breakdown_level == Level.TOWNSHIP
    rows = {u.code: u for u in by_township.breakdown}
    assert set(rows) == {YUNXI, BAISHI}
    total = sum(u.values["population.pop_total"] for u in rows.values())
    assert total == by_township.unit.values["population.pop_total"]
    villages = rollup_report(db, collection, YUNXI, stage="approved")
    assert villages.breakdown_level == Level.VILLAGE
    xikou = next(u for u in villages.breakdown if u.code == XIKOU)
    assert xikou.submission_id == sub_of(db, collection, XIKOU).id
    assert xikou.values["population.pop_total"] == 1350 * 3
    unapproved = next(u for u in villages.breakdown if u.code == "390121101001")
    assert unapproved.units_included == 0 and unapproved.values["population.pop_total"] is None
    assert sum(u.values["population.pop_total"] or 0 for u in villages.breakdown) == \
        villages.unit.values["population.pop_total"]
    # from the province: cities, then only the cities overlapping the collection's scope
    province = rollup_report(db, collection, "390000000000", stage="final")
    assert [u.code for u in province.breakdown] == ["390100000000"]
    with pytest.raises(Exception, match="逐级"):
        rollup_report(db, collection, "390000000000", level=Level.VILLAGE)


PROBE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "汇总方式测试表",
    "type": "object",
    "x-period": "year",
    "properties": {
        "stats": {
            "type": "object",
            "title": "统计",
            "properties": {
                "beds": {"type": "integer", "title": "床位数", "x-unit": "张", "minimum": 0},
                "coverage": {"type": "number", "title": "覆盖率", "x-unit": "%", "x-aggregate": "avg"},
                "lowest": {"type": "number", "title": "最低价", "x-unit": "元", "x-aggregate": "min"},
                "highest": {"type": "number", "title": "最高价", "x-unit": "元", "x-aggregate": "max"},
                "contact": {"type": "string", "title": "联系人", "x-aggregate": "count"},
                "income": {"type": "number", "title": "经营收入", "x-unit": "万元", "x-sensitive": "financial"},
            },
        },
        "people": {
            "type": "array",
            "title": "人员",
            "items": {
                "type": "object",
                "title": "人员",
                "properties": {
                    "name": {"type": "string", "title": "姓名", "x-sensitive": "personal"},
                    "age": {"type": "integer", "title": "年龄", "x-unit": "岁", "x-aggregate": "avg"},
                    "allowance": {"type": "number", "title": "补贴", "x-unit": "元"},
                },
            },
        },
    },
}


def _probe_collection(db, published) -> Collection:
    version = publish_indicator_set(db, PROBE, code="rollup_probe", version=1).id
    started = start_collection(
        db, title="汇总方式测试", period="2025", scope_org_code=COUNTY, indicator_set_version_id=version,
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    )
    db.commit()
    return started.collection


def _probe_doc(beds, coverage, lowest, highest, contact, people):
    return {"stats": {"beds": beds, "coverage": coverage, "lowest": lowest, "highest": highest,
                      "income": 1.5, **({"contact": contact} if contact else {})},
            "people": [{"name": n, "age": a, "allowance": w} for n, a, w in people]}


def test_every_aggregate_kind_repeats_and_min_max_after_withdrawal(published, db):
    probe = _probe_collection(db, published)
    docs = {
        XIKOU: _probe_doc(10, 50.0, 5, 90, "张三", [("甲", 80, 100), ("乙", 90, 200.5)]),
        SHANGJIE: _probe_doc(20, 70.0, 7, 120, None, [("丙", 85, 300)]),
        BAISHI_V: _probe_doc(30, 60.0, 9, 100, "李四", []),
    }
    subs = {org: submit(db, probe, org, doc) for org, doc in docs.items()}
    for org, sub in subs.items():
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)

    def values(unit, principal=None):
        return rollup_report(db, probe, unit, principal=principal, with_breakdown=False).unit.values

    county = values(COUNTY)
    assert county["stats.beds"] == 60
    assert county["stats.coverage"] == 60  # (50 + 70 + 60) / 3
    assert (county["stats.lowest"], county["stats.highest"]) == (5, 120)
    assert county["stats.contact"] == 2  # reported by two villages
    assert county["people"] == 3  # rows
    assert county["people.age"] == 85  # (80 + 90 + 85) / 3 over all rows
    assert county["people.allowance"] == Decimal("600.5")
    assert "people.name" not in county  # aggregate none
    assert "stats.income" in county
    assert "stats.income" not in values(COUNTY, principal_of(db, "viewer"))  # sensitive: not for departments

    review(db, "rev_county", subs[XIKOU].id, "return")  # XIKOU held both the min and a row-age extreme
    county, yunxi = values(COUNTY), values(YUNXI)
    assert (county["stats.lowest"], county["stats.highest"]) == (7, 120)
    assert (yunxi["stats.lowest"], yunxi["stats.highest"]) == (7, 120)
    assert county["people"] == 1 and county["people.age"] == 85 and county["stats.contact"] == 1
    review(db, "rev_county", subs[SHANGJIE].id, "return")
    county = values(COUNTY)
    assert (county["stats.lowest"], county["stats.highest"]) == (9, 100)
    assert county["people"] == 0 and county["people.age"] is None and county["stats.beds"] == 30
    assert values(YUNXI)["stats.beds"] is None
    assert_rebuild_equals_incremental(db, probe)


def test_generated_province_through_approval_events(published, db):
    rows = list(generate_province(province="38", cities=2, counties=4, townships=12, villages=300, seed=7))
    import_units(db, rows)
    db.commit()
    started = start_collection(
        db, title="生成省年报", period="2025", scope_org_code="380000000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    )
    db.commit()
    collection = started.collection
    rng = random.Random(11)
    subs = db.scalars(select(Submission).where(Submission.collection_id == collection.id)).all()
    assert len(subs) == 300

    def move(sub: Submission, level: int | None, final: bool) -> None:
        old = sub.approved_level
        sub.approved_level, sub.status = level, "final" if final else "approved" if level else "submitted"
        approval_changed(db, ApprovalChanged(sub.id, collection.id, sub.org_code, old, level, final))

    def play(batch: list[Submission]) -> None:
        for sub in batch:
            outcome = rng.choice(["none", "township", "final", "final", "withdrawn"])
            if outcome == "none":
                continue
            sub.data, sub.revision = variant(rng.randint(1, 9), sub.org_code), sub.revision + 1
            move(sub, Level.TOWNSHIP, False)
            if outcome == "final":
                move(sub, Level.COUNTY, True)
            elif outcome == "withdrawn":
                move(sub, None, False)

    play(subs[:150])  # one event at a time
    db.commit()
    before = stored_rows(db, collection.id)
    with deferred(db):  # one batch (as bulk approval does): merged into one upsert per stage
        play(subs[150:])
        assert stored_rows(db, collection.id) == before  # dispatched when the block ends
    db.commit()
    assert assert_matches_independent(db, collection) > 1000
    assert_rebuild_equals_incremental(db, collection)
    with deferred(db):  # withdraw everything in one batch: nothing is left, min/max included
        for sub in subs:
            if sub.approved_level is not None or sub.status == "final":
                move(sub, None, False)
    assert stored_rows(db, collection.id) == {}


def test_batched_min_max_approvals_and_withdrawals_equal_rebuild(published, db):
    """Bulk batches over many townships with min/max and repeat fields: the listener sums each township's
    reports first and expands to the ancestors once; withdrawals that hit a unit's min/max repair it."""
    units = generate_province(province="37", cities=2, counties=3, townships=9, villages=90, seed=5)
    import_units(db, list(units))
    version = publish_indicator_set(db, PROBE, code="rollup_probe_batch", version=1).id
    collection = start_collection(
        db, title="汇总批量测试", period="2025", scope_org_code="370000000000", indicator_set_version_id=version,
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    ).collection
    db.commit()
    rng = random.Random(5)
    subs = db.scalars(select(Submission).where(Submission.collection_id == collection.id)
                      .order_by(Submission.id)).all()
    lowest = subs[17]  # the only report with 0.5: the province's min until it is withdrawn
    for sub in subs:
        people = [(f"人{i}", rng.randint(18, 95), rng.choice([100, 200.5, 0, 37.25]))
                  for i in range(rng.randint(0, 3))]
        sub.data = _probe_doc(rng.randint(0, 50), rng.choice([50.0, 62.5, 70]),
                              0.5 if sub is lowest else rng.choice([1, 2.5, 3, 9]),
                              rng.choice([90, 99.5, 130]), rng.choice(["张三", None]), people)

    def move(sub: Submission, level: int | None, final: bool) -> None:
        old = sub.approved_level
        sub.approved_level, sub.status = level, "final" if final else "approved" if level else "submitted"
        approval_changed(db, ApprovalChanged(sub.id, collection.id, sub.org_code, old, level, final))

    with deferred(db):  # township approval of everything, then the county's of two thirds, in one batch
        for sub in subs:
            move(sub, Level.TOWNSHIP, False)
            if rng.random() < 0.67:
                move(sub, Level.COUNTY, True)
    db.commit()
    assert stored_rows(db, collection.id)["approved", "370000000000", "@units"][1] == 90
    assert_rebuild_equals_incremental(db, collection)

    assert stored_rows(db, collection.id)["approved", "370000000000", "stats.lowest"][2] == Decimal("0.5")
    with deferred(db):  # withdraw a third (the min's holder included), and approve one of them again
        withdrawn = [s for s in subs if s is lowest or rng.random() < 0.33]
        for sub in withdrawn:
            move(sub, None, False)
        move(next(s for s in reversed(withdrawn) if s is not lowest), Level.TOWNSHIP, False)
    db.commit()
    assert stored_rows(db, collection.id)["approved", "370000000000", "stats.lowest"][2] == 1  # repaired
    assert stored_rows(db, collection.id)["approved", "370000000000", "@units"][1] == 90 - len(withdrawn) + 1
    assert_rebuild_equals_incremental(db, collection)

    # Reports not in the session (an API call, a later request): read from the database instead.
    cid = collection.id
    db.expunge_all()
    with deferred(db):
        for sid, org in db.execute(select(Submission.id, Submission.org_code)
                                   .where(Submission.collection_id == cid)):
            approval_changed(db, ApprovalChanged(sid, cid, org, None, None, False))
    assert stored_rows(db, cid) == {}
    db.rollback()


def test_cross_version_comparison_through_mappings(collection, published, db):
    for org, k in ((XIKOU, 2), (BAISHI_V, 3)):
        sub = submit(db, collection, org, variant(k, org))
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
        review(db, "rev_county", sub.id)
    v2 = start_collection(
        db, title="2025年村级基本情况年报", period="2025", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "village_basic", 2)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    ).collection
    db.commit()
    base_v2 = __import__("json").loads(
        (ROOT / "definitions/indicators/village_basic/examples/v2/valid-lingxia-2025.json").read_text("utf-8"))
    for org, k in ((XIKOU, 3), (BAISHI_V, 1)):
        sub = submit(db, v2, org, variant(k, org, base_v2))
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
        review(db, "rev_county", sub.id)

    result = compare_units(db, v2.id, collection.id, COUNTY, stage="final")
    rows = {r.key: r for r in result.rows}
    same = rows["population.pop_total"]
    assert (same.current, same.previous, same.comparable) == (1350 * 4, 1350 * 5, True)
    assert same.change == -1350
    renamed = rows["labour.working_age_labour"]  # was labour.labour_resource
    assert renamed.comparable and renamed.old_keys == ("labour.labour_resource",)
    assert (renamed.current, renamed.previous) == (800 * 4, 800 * 5)
    for part in ("population.pop_age_18_34", "population.pop_age_35_59"):
        assert not rows[part].comparable and rows[part].previous is None and rows[part].change is None
    split = rows["population.pop_age_18_34+population.pop_age_35_59"]
    assert split.comparable and (split.current, split.previous) == ((400 + 360) * 4, 760 * 5)
    assert split.note == "拆分后各部分之和与原指标“18–59岁”对比"  # the old field's label, not its key
    new = rows["households.broadband_households"]
    assert not new.comparable and new.note == "本版本新增指标" and new.current == 380 * 4
    assert (result.units, result.previous_units, result.units_note) == (2, 2, None)
    with pytest.raises(Exception, match="较新版本"):
        compare_units(db, collection.id, v2.id, COUNTY)
    with pytest.raises(Exception, match="不能与本期自身对比"):
        compare_units(db, v2.id, v2.id, COUNTY)


def test_a_comparison_says_when_the_periods_sum_different_units(collection, published, db, client):
    for org, k in ((XIKOU, 2), (SHANGJIE, 2), (BAISHI_V, 2)):
        sub = submit(db, collection, org, variant(k, org))
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
        review(db, "rev_county", sub.id)

    def launch(title: str, period: str, version: int) -> Collection:
        started = start_collection(
            db, title=title, period=period, scope_org_code=COUNTY,
            indicator_set_version_id=published[("indicator_set", "village_basic", version)],
            process_version_id=published[("process", "village_report", 1)],
            opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31))
        db.commit()
        return started.collection

    this_year = launch("2025年村级基本情况年报", "2025", 2)
    base_v2 = __import__("json").loads(
        (ROOT / "definitions/indicators/village_basic/examples/v2/valid-lingxia-2025.json").read_text("utf-8"))
    sub = submit(db, this_year, XIKOU, variant(2, XIKOU, base_v2))  # one village so far, three last year
    review(db, "rev_yunxi", sub.id)
    review(db, "rev_county", sub.id)
    result = compare_units(db, this_year.id, collection.id, COUNTY, stage="final")
    assert (result.units, result.previous_units) == (1, 3)
    assert result.units_note == "两期纳入汇总的单位数不同（本期 1 个，对比期 3 个），增减中含单位数变化的影响"

    login(client, "admin")
    report = client.get(f"/collections/{this_year.id}/report", query_string={"org_unit": COUNTY})
    page = report.get_data(as_text=True)
    assert "包含 3 个单位的数据" in page and result.units_note in page
    # a split's parts are "not comparable"; their sum is, in its own row after the last part
    assert 'data-key="population.pop_age_18_34+population.pop_age_35_59"' in page and "（拆分合计）" in page
    compare = client.get(f"/collections/{this_year.id}/compare", query_string={"org": COUNTY})
    assert compare.status_code == 200 and result.units_note in compare.get_data(as_text=True)

    # pairs that are no comparison: itself, a later or same period, not an id; pages and API alike
    same_period = launch("2025年村级基本情况年报（补充）", "2025", 2)
    for other in (this_year.id, same_period.id):
        resp = client.get(f"/collections/{this_year.id}/compare", query_string={"org": COUNTY, "with": other})
        assert resp.status_code == 400 and "期别更早" in resp.get_data(as_text=True)
        resp = client.get(f"/collections/{this_year.id}/report", query_string={"org_unit": COUNTY, "with": other})
        assert resp.status_code == 400 and "期别更早" in resp.get_data(as_text=True)
    resp = client.get(f"/collections/{this_year.id}/compare", query_string={"org": COUNTY, "with": "abc"})
    assert resp.status_code == 400 and "对比期应为正整数" in resp.get_data(as_text=True)


def _v4_doc() -> dict:
    """village_basic v3 as a v4 that renames working_age_labour; its x-mappings come from v3."""
    import json

    doc = json.loads((ROOT / "definitions/indicators/village_basic/v3.json").read_text("utf-8"))
    doc.pop("x-mappings")
    doc = json.loads(json.dumps(doc, ensure_ascii=False).replace("working_age_labour", "labour_16_59"))
    doc["x-version"] = 4
    doc["x-mappings"] = {"from_version": 3, "fields": [
        {"kind": "rename", "from": "labour.working_age_labour", "to": "labour.labour_16_59"}]}  # fmt: skip
    return doc


def test_comparison_and_prefill_through_versions_never_collected(collection, published, db, client):
    """Last year ran on v1; v2 and v3 were published but never collected; this year runs on v4, whose
    mappings come from v3. The report, the comparison and the prefill go v1 -> v2 -> v3 -> v4 (no 400)."""
    import json

    for org, k in ((XIKOU, 2), (BAISHI_V, 3)):
        sub = submit(db, collection, org, variant(k, org))
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
        review(db, "rev_county", sub.id)
    v4_id = publish_indicator_set(db, _v4_doc(), code="village_basic", version=4).id

    def launch(title: str, period: str):
        return start_collection(
            db, title=title, period=period, scope_org_code=COUNTY, indicator_set_version_id=v4_id,
            process_version_id=published[("process", "village_report", 1)],
            opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31))

    started = launch("2026年村级基本情况年报", "2026")
    db.commit()
    assert started.prefilled == 2
    carried = sub_of(db, started.collection, XIKOU).data
    assert carried["labour"]["labour_16_59"] == 800 * 2  # v1's labour_resource, renamed twice
    assert "pop_age_18_59" not in carried.get("population", {})  # split in v2: not carried

    base_v4 = json.loads(json.dumps(json.loads(
        (ROOT / "definitions/indicators/village_basic/examples/v3/valid-lingxia-2025.json").read_text("utf-8"))
    ).replace("working_age_labour", "labour_16_59"))
    for org, k in ((XIKOU, 3), (BAISHI_V, 1)):
        sub = submit(db, started.collection, org, variant(k, org, base_v4))
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
        review(db, "rev_county", sub.id)

    rows = {r.key: r for r in compare_units(db, started.collection.id, collection.id, COUNTY, stage="final").rows}
    renamed = rows["labour.labour_16_59"]
    assert renamed.comparable and renamed.old_keys == ("labour.labour_resource",)
    assert (renamed.current, renamed.previous) == (800 * 4, 800 * 5)
    split = rows["population.pop_age_18_34+population.pop_age_35_59"]  # split in v2, kept since
    assert split.comparable and (split.current, split.previous) == ((400 + 360) * 4, 760 * 5)
    new_in_v2 = rows["households.broadband_households"]
    assert not new_in_v2.comparable and new_in_v2.previous is None and "v2 新增指标" in new_in_v2.note

    # the pages the centre reads them on (they answered 400 before the chain)
    login(client, "admin")
    this_year = started.collection.id
    report = client.get(f"/collections/{this_year}/report", query_string={"org_unit": COUNTY})
    assert report.status_code == 200 and "2024（2024年村级基本情况年报）" in report.get_data(as_text=True)
    compare = client.get(f"/collections/{this_year}/compare", query_string={"org": COUNTY})
    assert compare.status_code == 200 and "v2 新增指标" in compare.get_data(as_text=True)
    # last year's collection has no earlier one to compare with: no button to a dead end
    detail = client.get(f"/collections/{collection.id}", query_string={"org": COUNTY}).get_data(as_text=True)
    assert "与往期对比" not in detail
    assert "与往期对比" in client.get(f"/collections/{this_year}", query_string={"org": COUNTY}).get_data(as_text=True)

    # a second collection on the same version prefills from this one (its mappings do not apply)
    again = launch("2027年村级基本情况年报", "2027")
    db.commit()
    assert again.prefilled == 2
    assert sub_of(db, again.collection, XIKOU).data["labour"]["labour_16_59"] == 800 * 3

    # launched late for a past year: not prefilled with a later year's figures (a QA pass found 2025's
    # figures in every 2023 draft), only from the years before it
    late = launch("2023年村级基本情况年报（补报）", "2023")
    db.commit()
    assert late.prefilled == 0
    assert sub_of(db, late.collection, XIKOU).data.get("labour", {}).get("labour_16_59") is None
