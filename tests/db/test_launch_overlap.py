"""A launch beside a running collection of the same indicator set and period (QA, the provincial centre's
yearly change: 2026 launched again for 云溪县 on version 1, for 城东区 on version 2 and through the API for
云溪镇, each answered "已发起", and clerks had two or three 2026 tasks for one report). Refused, naming the
running collections, unless confirmed — one engine decision behind the form, the API and the CLI — and a
closed collection is marked wherever collections are listed."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from engine.collections import close_collection, start_collection
from engine.db.models import AuditEntry, Collection
from engine.launch_overlap import OverlapRefused
from tests.conftest import login
from tests.db.test_api_tasks import Api

PROVINCE, CITY_DISTRICT, COUNTY = "390000000000", "390102000000", "390121000000"
YUNXI, OTHER_COUNTY = "390121101000", "390281000000"
OPENS, DEADLINE = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


def _launch(db, published, *, version: int, scope: str, period: str = "2026", confirm: bool = False,
            title: str | None = None, actor_id: int | None = None):
    return start_collection(
        db, title=title or f"{period}年村级基本情况年报（{scope}）", period=period, scope_org_code=scope,
        indicator_set_version_id=published[("indicator_set", "village_basic", version)],
        process_version_id=published[("process", "village_report", 1)], opens_on=OPENS, deadline=DEADLINE,
        confirm_overlap=confirm, actor_id=actor_id,
    )


@pytest.fixture
def province_2026(published, db) -> Collection:
    """QA's collection 2: the newest version, 2026, the whole province."""
    started = _launch(db, published, version=3, scope=PROVINCE, title="2026年村级基本情况年报")
    db.commit()
    return started.collection


def _collections(db) -> int:
    return db.scalar(select(func.count()).select_from(Collection))


# --- the engine ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "scope"), [(1, COUNTY), (3, CITY_DISTRICT), (3, YUNXI), (1, PROVINCE)])
def test_a_launch_over_the_same_units_and_period_is_refused_naming_the_running_one(
        published, db, province_2026, version, scope):
    with pytest.raises(OverlapRefused) as refused:
        _launch(db, published, version=version, scope=scope)
    db.rollback()
    err = refused.value
    assert err.data_path == "confirm_overlap" and err.code == "overlapping_collection"
    assert err.message.startswith("“村级基本情况年报”2026 期已有未关闭的采集任务覆盖这一范围或其上下级：")
    assert f"“2026年村级基本情况年报”（编号 {province_2026.id}，第 3 版，范围 示范省 390000000000）" in err.message
    assert "请先关闭原采集任务，或改选期别、范围；确需另行发起时，请确认重复发起后再提交" in err.message
    assert err.details["overlapping"] == [{"id": province_2026.id, "title": "2026年村级基本情况年报",
                                           "indicator_set_version": 3, "scope_org_code": PROVINCE,
                                           "scope_name": "示范省"}]
    assert _collections(db) == 1  # nothing written


def test_a_collection_below_is_found_from_above_and_every_one_is_named(published, db):
    county = _launch(db, published, version=1, scope=COUNTY).collection
    district = _launch(db, published, version=3, scope=CITY_DISTRICT).collection
    db.commit()
    with pytest.raises(OverlapRefused) as refused:
        _launch(db, published, version=3, scope=PROVINCE)
    db.rollback()
    assert [o["id"] for o in refused.value.details["overlapping"]] == [county.id, district.id]
    assert "第 1 版，范围 云溪县 390121000000" in refused.value.message
    assert "第 3 版，范围 城东区 390102000000" in refused.value.message


def test_what_does_not_overlap_is_launched_as_before(published, db, province_2026):
    assert _launch(db, published, version=3, scope=COUNTY, period="2025").created  # another period
    db.commit()
    beside = _launch(db, published, version=3, scope=OTHER_COUNTY, period="2025")  # a unit beside 云溪县
    assert beside.created and beside.overlapping == [] and beside.warnings == []
    db.commit()
    # an exact repeat is the same collection: found, not refused
    again = _launch(db, published, version=3, scope=PROVINCE, title="2026年村级基本情况年报")
    assert again.created is False and again.collection.id == province_2026.id
    # a closed collection hands out no more work: a new one beside it duplicates nothing
    close_collection(db, province_2026.id)
    db.commit()
    assert _launch(db, published, version=3, scope=COUNTY).created


def test_a_confirmed_launch_goes_ahead_and_the_audit_log_says_it_was_confirmed(published, db, province_2026,
                                                                               role_users):
    started = _launch(db, published, version=3, scope=COUNTY, confirm=True, actor_id=role_users["admin"])
    db.commit()
    assert started.created and started.submissions == 10
    assert [o.id for o in started.overlapping] == [province_2026.id]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "start",
                                               AuditEntry.object_id == str(started.collection.id)))
    assert entry.actor_id == role_users["admin"]
    assert entry.details["overlap_confirmed"] == [province_2026.id]
    assert entry.details["note"] == ("已确认重复发起，范围与进行中的采集任务重叠：“2026年村级基本情况年报”"
                                     f"（编号 {province_2026.id}，第 3 版，范围 示范省 390000000000）")
    plain = db.scalar(select(AuditEntry).where(AuditEntry.action == "start",
                                               AuditEntry.object_id == str(province_2026.id)))
    assert "overlap_confirmed" not in plain.details


def test_an_older_version_than_the_newest_published_is_said(published, db):
    older = _launch(db, published, version=1, scope=COUNTY)
    assert older.created and older.warnings == [
        "所选指标集“村级基本情况年报”是第 1 版，不是最新发布的第 3 版。如非有意，请关闭本采集任务，按最新版本重新发起。"]
    db.commit()
    assert _launch(db, published, version=1, scope=COUNTY).warnings == older.warnings  # the repeat too


def test_two_overlapping_launches_at_once_do_not_both_go_ahead(published, db, session_factory):
    """Each would find no other collection: the second waits for the first to commit, then is refused."""
    first = session_factory()
    _launch(first, published, version=3, scope=COUNTY)  # not committed yet
    outcome: dict[str, object] = {}

    def second() -> None:
        with session_factory() as s:
            try:
                outcome["started"] = _launch(s, published, version=1, scope=YUNXI)
                s.commit()
            except OverlapRefused as err:
                outcome["refused"] = err

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    waiting = 0
    try:
        for _ in range(200):  # until the second launch waits for the first one's lock
            waiting = db.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
            db.rollback()
            if waiting:
                break
            thread.join(0.05)
    finally:  # whatever happened, the first launch ends: nothing is left waiting on it
        first.commit()
        first.close()
        thread.join(30)
    assert waiting == 1
    assert "started" not in outcome and isinstance(outcome["refused"], OverlapRefused)
    assert _collections(db) == 1


# --- the API, read by its OpenAPI document ------------------------------------------------------------


def _body(**changes) -> dict:
    return {"title": "2026年云溪镇年报", "indicator_set": "village_basic", "indicator_set_version": 3,
            "process": "village_report", "process_version": 1, "period": "2026", "scope_org_code": YUNXI,
            "opens_on": "2026-01-01", "deadline": "2026-03-31", **changes}


def test_the_api_refuses_with_409_and_launches_with_an_explicit_confirmation(app, db, province_2026):
    api = Api(app, "admin")
    launch = api.doc["paths"]["/api/v1/collections"]["post"]
    confirm = launch["requestBody"]["content"]["application/json"]["schema"]["properties"]["confirm_overlap"]
    assert confirm["type"] == "boolean" and "409" in confirm["description"] and "409" in launch["responses"]
    refused = api.post("/api/v1/collections", _body(), status=409)["error"]
    assert refused["code"] == "overlapping_collection" and "2026年村级基本情况年报" in refused["message"]
    assert refused["details"]["overlapping"][0]["id"] == province_2026.id
    assert refused["details"]["confirm_with"] == "confirm_overlap"
    assert api.post("/api/v1/collections", _body(confirm_overlap=False), status=409)
    shape = api.post("/api/v1/collections", _body(confirm_overlap="yes"), status=400)["error"]  # only a boolean
    assert "confirm_overlap" in shape["details"]["problems"][0]["message"]
    assert _collections(db) == 1
    started = api.post("/api/v1/collections", _body(confirm_overlap=True), status=201)
    assert started["created"] and started["submissions"] == 5 and started["warnings"] == []
    assert [o["id"] for o in started["overlapping"]] == [province_2026.id]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "start",
                                               AuditEntry.object_id == str(started["collection"]["id"])))
    assert entry.details["overlap_confirmed"] == [province_2026.id]


def test_the_api_answer_says_when_the_version_is_not_the_newest(app, db, published):
    api = Api(app, "admin")
    started = api.post("/api/v1/collections", _body(indicator_set_version=1), status=201)
    assert started["warnings"] == [
        "所选指标集“村级基本情况年报”是第 1 版，不是最新发布的第 3 版。如非有意，请关闭本采集任务，按最新版本重新发起。"]


# --- the launch form ----------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_the_form_keeps_the_input_on_refusal_and_launches_once_confirmed(client, db, published, province_2026):
    login(client, "admin")
    page = client.get("/collections/new").get_data(as_text=True)
    # which version is the newest is said before the launch
    v1, v3 = published[("indicator_set", "village_basic", 1)], published[("indicator_set", "village_basic", 3)]
    assert f'<option value="{v3}">村级基本情况年报（village_basic 第 3 版，最新）</option>' in page
    assert f'<option value="{v1}">村级基本情况年报（village_basic 第 1 版）</option>' in page
    assert 'name="confirm_overlap"' not in page  # only after a refusal
    form = {"csrf_token": _csrf(page), "title": "2026年云溪县年报（补）", "indicator_set_version": str(v1),
            "process_version": str(published[("process", "village_report", 1)]), "period": "2026",
            "scope": COUNTY, "reporting_level": "village", "opens_on": "2026-01-01", "deadline": "2026-03-31"}
    resp = client.post("/collections/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'<p class="error" id="confirm_overlap-error">“村级基本情况年报”2026 期已有未关闭的采集任务'
                     r'[^<]*“2026年村级基本情况年报”（编号 \d+，第 3 版，范围 示范省 390000000000）', html)
    assert re.search(r'<input aria-describedby="confirm_overlap-error" id="confirm_overlap" name="confirm_overlap"'
                     r' type="checkbox" value="y">', html)
    # everything typed stays
    assert 'value="2026年云溪县年报（补）"' in html and f'value="{COUNTY}"' in html
    assert f'<option selected value="{v1}">' in html and 'value="2026"' in html
    assert _collections(db) == 1
    resp = client.post("/collections/new", data={**form, "confirm_overlap": "y"})
    assert resp.status_code == 302
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已发起采集任务“2026年云溪县年报（补）”，共 10 个填报单位" in shown
    assert "已确认重复发起，范围与进行中的采集任务重叠：“2026年村级基本情况年报”" in shown
    assert "所选指标集“村级基本情况年报”是第 1 版，不是最新发布的第 3 版" in shown
    audit = client.get("/audit?type=collection").get_data(as_text=True)
    assert "已确认重复发起，范围与进行中的采集任务重叠" in audit


# --- the CLI ------------------------------------------------------------------------------------------


def test_the_cli_refuses_and_says_how_to_confirm(database_url, tmp_path, monkeypatch, db, province_2026):
    from cli.main import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))
    args = ["collections", "start", "--set", "village_basic", "--set-version", "1", "--process", "village_report",
            "--process-version", "1", "--period", "2026", "--scope", COUNTY, "--opens", "2026-01-01",
            "--deadline", "2026-03-31", "--title", "2026年云溪县年报"]
    refused = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert refused.exit_code == 1
    assert "错误：“村级基本情况年报”2026 期已有未关闭的采集任务" in refused.output
    assert refused.output.rstrip().endswith("请确认重复发起后再提交。（确认时加 --confirm-overlap）")
    db.expire_all()
    assert _collections(db) == 1
    started = CliRunner().invoke(cli, [*args, "--confirm-overlap"], catch_exceptions=False)
    assert started.exit_code == 0, started.output
    assert "提醒：所选指标集“村级基本情况年报”是第 1 版，不是最新发布的第 3 版" in started.output
    assert "已确认重复发起，范围与以下进行中的采集任务重叠：“2026年村级基本情况年报”" in started.output
    assert "个填报单位" in started.output


# --- closed collections are marked wherever collections are listed ------------------------------------


def test_a_closed_collection_is_marked_in_every_listing(client, db, published, province_2026):
    county = _launch(db, published, version=1, scope=COUNTY, confirm=True, title="2026年云溪县年报（多发）")
    close_collection(db, county.collection.id)
    db.commit()

    def row(html: str, cid: int) -> str:
        return re.search(rf'<tr data-collection="{cid}">.*?</tr>', html, re.S).group(0)

    login(client, "viewer")  # the line department's 报表与导出
    reports = client.get("/reports").get_data(as_text=True)
    assert "<th>状态</th>" in reports
    assert '<span class="badge" data-collection-status="closed">已关闭</span>' in row(reports, county.collection.id)
    assert ('<span class="badge final" data-collection-status="open">进行中</span>'
            in row(reports, province_2026.id))
    report = client.get(f"/collections/{county.collection.id}/report").get_data(as_text=True)
    assert "2026年云溪县年报（多发）（已关闭） · 期别 2026" in report

    login(client, "admin")
    listed = client.get("/collections").get_data(as_text=True)
    assert listed.count('data-collection-status="closed">已关闭') == 1
    assert listed.count('data-collection-status="open">进行中') == 1
    versions = client.get("/definitions").get_data(as_text=True)  # the collections using each version
    assert "2026年云溪县年报（多发）（2026）（已关闭）" in versions
    assert "2026年村级基本情况年报（2026）<" in versions  # a running one carries no mark

    # a closed collection's ready tasks stay in the inbox: the filter and the rows say it is closed
    login(client, "clerk_xikou")
    inbox = client.get("/tasks").get_data(as_text=True)
    assert f'<option value="{county.collection.id}">2026年云溪县年报（多发）（已关闭）</option>' in inbox
    assert f'<option value="{province_2026.id}">2026年村级基本情况年报</option>' in inbox
    assert '<td data-label="采集任务">2026年云溪县年报（多发）（已关闭）</td>' in inbox
