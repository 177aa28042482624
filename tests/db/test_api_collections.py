"""Collections through HTTP and the CLI: list, launch, completeness, roll-ups, scope, pages."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.auth import create_api_token
from engine.db.models import Collection, OrgUnit, Submission, User, WorkflowTask
from engine.orgs import ancestor_at
from engine.roles import Level
from tests.conftest import login
from tests.db.test_api_tasks import Api
from tests.db.test_rollups import (
    BAISHI,
    BAISHI_V,
    COUNTY,
    SHANGJIE,
    XIKOU,
    YUNXI,
    _probe_collection,
    _probe_doc,
    review,
    reviewer_of,
    sub_of,
    submit,
    variant,
)


def bearer(db, username: str) -> dict[str, str]:
    token = create_api_token(db, db.scalar(select(User).where(User.username == username)), "test")
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _approve(db, collection, org: str, k: int, final: bool = True) -> Submission:
    sub = submit(db, collection, org, variant(k, org))
    review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)
    if final:
        review(db, "rev_county", sub.id)
    return sub


def test_list_and_launch(client, collection, db):
    admin = bearer(db, "admin")
    listed = client.get("/api/v1/collections", headers=admin).get_json()["collections"]
    assert [c["id"] for c in listed] == [collection.id]
    assert listed[0]["completeness"]["expected"] == 10 and listed[0]["indicator_set"]["version"] == 1
    assert client.get("/api/v1/collections", headers=bearer(db, "rev_other_county")).get_json() == {"collections": []}
    body = {"title": "2025年白石乡年报", "indicator_set": "village_basic", "indicator_set_version": 2,
            "process": "village_report", "process_version": 1, "period": "2025", "scope_org_code": BAISHI,
            "opens_on": "2026-01-01", "deadline": "2026-03-31"}
    resp = client.post("/api/v1/collections", json=body, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["submissions"] == 5 and resp.get_json()["created"] is True
    again = client.post("/api/v1/collections", json=body, headers=admin)
    assert again.status_code == 200 and again.get_json()["created"] is False
    bad = client.post("/api/v1/collections", json={**body, "deadline": "2026/03/31"}, headers=admin)
    assert bad.status_code == 400 and "截止日期" in bad.get_json()["error"]["message"]
    bad = client.post("/api/v1/collections", json={**body, "period": "2025年"}, headers=admin)
    assert bad.status_code == 400 and "期别" in bad.get_json()["error"]["message"]
    refused = client.post("/api/v1/collections", json=body, headers=bearer(db, "rev_county"))
    assert refused.status_code == 403


def test_completeness_and_rollups_respect_scope(client, collection, db):
    _approve(db, collection, XIKOU, 2)
    _approve(db, collection, SHANGJIE, 3, final=False)
    _approve(db, collection, BAISHI_V, 4)
    base = f"/api/v1/collections/{collection.id}"

    county = client.get(f"{base}/completeness", headers=bearer(db, "rev_county")).get_json()
    assert county["unit"]["org_code"] == COUNTY and county["unit"]["final"] == 2 and county["unit"]["approved"] == 1
    assert [c["org_code"] for c in county["children"]] == [YUNXI, BAISHI]

    township = bearer(db, "rev_baishi")
    own = client.get(f"{base}/completeness", headers=township).get_json()
    assert own["unit"]["org_code"] == BAISHI and len(own["children"]) == 5
    assert client.get(f"{base}/completeness?org_unit={YUNXI}", headers=township).status_code == 404
    assert client.get(f"{base}/rollups?org_unit={YUNXI}", headers=township).status_code == 404
    assert client.get(f"{base}/rollups?org_unit={XIKOU}", headers=township).status_code == 404
    mine = client.get(f"{base}/rollups?org_unit={BAISHI}&level=village", headers=township).get_json()
    assert mine["unit"]["values"]["population.pop_total"] == 1350 * 4
    assert [b["org_code"] for b in mine["breakdown"]][0] == BAISHI_V

    viewer = bearer(db, "viewer")
    approved = client.get(f"{base}/rollups?org_unit={COUNTY}&stage=approved", headers=viewer).get_json()
    final = client.get(f"{base}/rollups?org_unit={COUNTY}&stage=final", headers=viewer).get_json()
    assert approved["unit"]["values"]["population.pop_total"] == 1350 * 9
    assert final["unit"]["values"]["population.pop_total"] == 1350 * 6
    assert "县级终审" in final["stage_description"] and approved["unit"]["units_included"] == 3
    assert [b["org_code"] for b in approved["breakdown"]] == [YUNXI, BAISHI]
    by_key = client.get(f"{base}/rollups?org_unit=390000000000&level=county&key=land.land_cultivated",
                        headers=viewer).get_json()
    assert list(by_key["unit"]["values"]) == ["land.land_cultivated"]
    assert by_key["breakdown"][0]["values"]["land.land_cultivated"] == 1200.5 * 9
    wrong = client.get(f"{base}/rollups?org_unit=390000000000&level=village", headers=viewer)
    assert wrong.status_code == 400 and "逐级" in wrong.get_json()["error"]["message"]
    nope = client.get(f"{base}/rollups?stage=nope", headers=viewer)
    assert nope.status_code == 400 and nope.get_json()["error"]["message"] == (
        "未知的汇总口径“nope”，可选：含乡镇审核通过（approved）、仅县级终审通过（final）")
    assert client.get(f"{base}/rollups?org_unit=abc", headers=viewer).get_json()["error"]["message"] == (
        "单位代码应为 12 位数字")
    doc = client.get("/api/v1/openapi.json").get_json()
    key = next(p for p in doc["paths"]["/api/v1/collections/{collection_id}/rollups"]["get"]["parameters"]
               if p["name"] == "key")
    assert (key["schema"]["type"], key["style"], key["explode"]) == ("array", "form", True)  # key=a&key=b
    name = client.get(f"{base}/rollups?key=basic.village_name", headers=viewer).get_json()["error"]
    assert name["message"] == "这些指标不能汇总或不存在：“村（社区）名称”（basic.village_name）"
    assert client.get("/api/v1/collections/999/rollups", headers=viewer).status_code == 404
    assert client.get(f"{base}/rollups", headers=bearer(db, "rev_other_county")).status_code == 404
    # a unit beside the collection's scope has no figures: said so, not an empty table that reads as
    # "reported nothing" (the province, above the scope, reads the scope's figures)
    beside = "390281000000"
    for path in ("rollups", "completeness", "export"):
        answer = client.get(f"{base}/{path}?org_unit={beside}", headers=viewer)
        assert answer.status_code == 404, path
        assert "不在本采集任务的范围内" in answer.get_json()["error"]["message"], path
    login(client, "viewer")
    for page in (f"/collections/{collection.id}/rollups?org={beside}",
                 f"/collections/{collection.id}/report?org_unit={beside}"):
        shown = client.get(page)
        assert shown.status_code == 404 and "不在本采集任务的范围内" in shown.get_data(as_text=True), page


def test_department_viewer_gets_no_sensitive_figures(client, published, db):
    probe = _probe_collection(db, published)
    sub = submit(db, probe, XIKOU, _probe_doc(10, 50.0, 5, 90, "张三", [("甲", 80, 100)]))
    review(db, "rev_yunxi", sub.id)
    url = f"/api/v1/collections/{probe.id}/rollups?org_unit={COUNTY}"
    seen = client.get(url, headers=bearer(db, "viewer")).get_json()
    assert "stats.income" not in seen["unit"]["values"] and seen["unit"]["values"]["stats.beds"] == 10
    assert "stats.income" not in {f["key"] for f in seen["figures"]}
    county = client.get(url, headers=bearer(db, "rev_county")).get_json()
    assert county["unit"]["values"]["stats.income"] == 1.5


def test_comparison_api(app, client, collection, published, db):
    _approve(db, collection, XIKOU, 2)
    admin = bearer(db, "admin")
    body = {"title": "2025年年报", "indicator_set": "village_basic", "indicator_set_version": 2,
            "process": "village_report", "process_version": 1, "period": "2025", "scope_org_code": COUNTY,
            "opens_on": "2026-01-01", "deadline": "2026-03-31"}
    new_id = client.post("/api/v1/collections", json=body, headers=admin).get_json()["collection"]["id"]
    resp = client.get(f"/api/v1/collections/{new_id}/comparison?with={collection.id}&stage=final", headers=admin)
    rows = {r["key"]: r for r in resp.get_json()["rows"]}
    assert rows["labour.working_age_labour"]["previous"] == 1600 and rows["labour.working_age_labour"]["comparable"]
    assert rows["population.pop_age_18_34"]["comparable"] is False
    assert client.get(f"/api/v1/collections/{new_id}/comparison", headers=admin).status_code == 400
    # the answer as the OpenAPI document declares it, with both periods' unit counts
    api = Api(app, "admin")
    body = api.get(f"/api/v1/collections/{new_id}/comparison?with={collection.id}&stage=final")
    assert (body["units_included"], body["previous_units_included"]) == (0, 1)
    assert body["units_note"] == "两期纳入汇总的单位数不同（本期 0 个，对比期 1 个），增减中含单位数变化的影响"
    for other in (new_id, "１"):  # itself; a full-width digit is not an id
        error = api.get(f"/api/v1/collections/{new_id}/comparison?with={other}", status=400)["error"]
        assert error["code"] == "bad_input" and error["details"]["data_path"] == "with"


def test_cli_start_list_and_close(published, db, database_url, tmp_path):
    from cli.main import cli

    env = {"DATABASE_URL": database_url, "GRASSROOTS_INSTANCE": str(tmp_path)}
    args = ["collections", "start", "--set", "village_basic", "--set-version", "1", "--process", "village_report",
            "--process-version", "1", "--period", "2025", "--scope", "390000000000", "--opens", "2026-01-01",
            "--deadline", "2026-03-31", "--title", "2025年全省村级基本情况年报"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert "已发起采集任务" in result.output
    db.expire_all()
    collection = db.scalar(select(Collection).where(Collection.period == "2025"))
    assert collection.title == "2025年全省村级基本情况年报"
    assert len(db.scalars(select(Submission).where(Submission.collection_id == collection.id)).all()) == 30
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0 and "已存在" in again.output
    listed = CliRunner().invoke(cli, ["collections", "list"], env=env)
    assert "应报 30" in listed.output
    bad = CliRunner().invoke(cli, [*args[:-4], "--deadline", "2025-12-31", "--title", "x"], env=env)
    assert bad.exit_code == 1 and "截止日期不能早于开始日期" in bad.output
    closed = CliRunner().invoke(cli, ["collections", "close", str(collection.id)], env=env)
    assert closed.exit_code == 0
    db.expire_all()
    assert db.get(Collection, collection.id).status == "closed"
    assert CliRunner().invoke(cli, ["collections", "close", "999"], env=env).exit_code == 1


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_launch_form_keeps_input_and_reports_errors_in_chinese(client, published, db):
    login(client, "admin")
    page = client.get("/collections/new").get_data(as_text=True)
    assert "发起采集任务" in page and "village_basic 第 2 版" in page
    listed = client.get("/collections").get_data(as_text=True)  # the collections read by title, not code
    assert "village_basic" not in listed
    # nothing chosen for the sets until the centre picks one; the scope box suggests units by name
    assert re.search(r'<select id="indicator_set_version"[^>]*><option value="">请选择…</option>', page)
    assert '<option value="390121000000">云溪县</option>' in page and 'list="scope-units"' in page
    ind = published[("indicator_set", "village_basic", 1)]
    proc = published[("process", "village_report", 1)]
    form = {"csrf_token": _csrf(page), "title": "2025年云溪县年报", "indicator_set_version": str(ind),
            "process_version": str(proc), "period": "2025", "scope": "39012100000", "reporting_level": "village",
            "opens_on": "2026-01-01", "deadline": "2025-12-01"}
    resp = client.post("/collections/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "区划代码必须是12位数字" in html and "截止日期不能早于开始日期" in html
    assert 'value="2025年云溪县年报"' in html  # nothing typed is lost
    resp = client.post("/collections/new", data={**form, "scope": COUNTY, "deadline": "2026-03-31",
                                                  "period": "2025年"})
    html = resp.get_data(as_text=True)
    # the engine's checks are shown on their fields, like the form's own
    assert resp.status_code == 400 and re.search(r'<p class="error" id="period-error">期别格式不正确', html)
    resp = client.post("/collections/new", data={**form, "scope": "390121999000", "deadline": "2026-03-31"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert '<p class="error" id="scope-error">区划代码 390121999000 不存在</p>' in html
    assert "请更正下列标出的 1 处错误后再提交" in html and 'value="390121999000"' in html
    resp = client.post("/collections/new", data={**form, "scope": COUNTY, "deadline": "2026年3月31日"})
    html = resp.get_data(as_text=True)  # in words a clerk at the centre reads, with an example
    assert '<p class="error" id="deadline-error">请按“年-月-日”填写日期，如 2026-03-31</p>' in html
    assert "YYYY" not in html
    resp = client.post("/collections/new", data={**form, "scope": COUNTY, "deadline": "2026-03-31",
                                                  "indicator_set_version": ""})
    assert resp.status_code == 400 and "请选择已发布的指标集版本" in resp.get_data(as_text=True)
    resp = client.post("/collections/new", data={**form, "scope": COUNTY, "deadline": "2026-03-31"})
    assert resp.status_code == 302
    assert client.get("/collections").status_code == 200
    assert "2025年云溪县年报" in client.get("/collections").get_data(as_text=True)


def test_pages_drill_down_from_province_to_a_village_submission(client, collection, db):
    _approve(db, collection, XIKOU, 2)
    _approve(db, collection, SHANGJIE, 3, final=False)
    login(client, "admin")
    page = client.get(f"/collections/{collection.id}?org=390000000000").get_data(as_text=True)
    assert "青山市" in page and "<svg" in page and "终审完成率" in page
    page = client.get(f"/collections/{collection.id}?org={COUNTY}").get_data(as_text=True)
    assert f"org={YUNXI}" in page
    page = client.get(f"/collections/{collection.id}?org={YUNXI}").get_data(as_text=True)
    assert f'href="/submissions/{sub_of(db, collection, XIKOU).id}"' in page
    rollups = client.get(f"/collections/{collection.id}/rollups?org={COUNTY}").get_data(as_text=True)
    assert "口径：包含乡镇及以上审核通过的全部单位" in rollups and "6,750" in rollups  # 1350 × (2 + 3)
    final = client.get(f"/collections/{collection.id}/rollups?org={COUNTY}&stage=final").get_data(as_text=True)
    assert "仅包含已由县级终审通过" in final and "2,700" in final
    figure = client.get(f"/collections/{collection.id}/rollups/population.pop_total?org={YUNXI}")
    html = figure.get_data(as_text=True)
    assert figure.status_code == 200 and "<svg" in html and "/submissions/" in html and "4,050" in html
    assert client.get(f"/collections/{collection.id}/rollups/no.such.key?org={YUNXI}").status_code == 400
    login(client, "rev_baishi")
    assert client.get(f"/collections/{collection.id}?org={YUNXI}").status_code == 404
    assert client.get(f"/collections/{collection.id}/rollups?org={YUNXI}").status_code == 404
    assert client.get(f"/collections/{collection.id}").status_code == 200  # their own township by default
    assert client.get("/collections/new").status_code == 403


def test_a_collection_is_not_launched_before_it_opens(client, published, db):
    """The flow's deadlines run from the launch: launched three weeks early, every village would be overdue
    before it could begin (a QA pass saw 408 timers fire before the opening day)."""
    import datetime as dt

    from engine.completeness import china_today

    tomorrow = china_today() + dt.timedelta(days=1)
    body = {"title": "明年的年报", "indicator_set": "village_basic", "indicator_set_version": 2,
            "process": "village_report", "process_version": 1, "period": "2027", "scope_org_code": BAISHI,
            "opens_on": tomorrow.isoformat(), "deadline": (tomorrow + dt.timedelta(days=90)).isoformat()}
    resp = client.post("/api/v1/collections", json=body, headers=bearer(db, "admin"))
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["details"]["data_path"] == "opens_on" and f"开始日期 {tomorrow.isoformat()} 还没到" in error["message"]
    assert db.scalar(select(Collection).where(Collection.period == "2027")) is None
    today = client.post("/api/v1/collections", json={**body, "opens_on": china_today().isoformat()},
                        headers=bearer(db, "admin"))
    assert today.status_code == 201  # on the opening day it starts
    login(client, "admin")  # the launch form proposes today
    page = client.get("/collections/new").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="opens_on"[^>]*value="' + china_today().isoformat() + '"', page)


def test_the_close_button_closes_once_and_says_so_the_second_time(client, collection, db):
    from engine.db.models import AuditEntry

    login(client, "admin")
    page = client.get(f"/collections/{collection.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    first = client.post(f"/collections/{collection.id}/close", data={"csrf_token": token}, follow_redirects=True)
    assert "采集任务已关闭，不能再填报或审核" in first.get_data(as_text=True)
    again = client.post(f"/collections/{collection.id}/close", data={"csrf_token": token}, follow_redirects=True)
    assert "采集任务早已关闭，无需再关" in again.get_data(as_text=True)
    closes = db.scalars(select(AuditEntry).where(AuditEntry.action == "close", AuditEntry.object_type == "collection"))
    assert len(list(closes)) == 1


# --- a flow that does not fit the collection is refused (QA: --level township assigned 村级填报 to townships) ---


def _launch_body(**changes) -> dict:
    return {"title": "2025年云溪县年报", "indicator_set": "village_basic", "indicator_set_version": 2,
            "process": "village_report", "process_version": 1, "period": "2025", "scope_org_code": COUNTY,
            "opens_on": "2026-01-01", "deadline": "2026-03-31", **changes}


def test_a_flow_whose_entry_lane_is_not_at_the_reporting_level_is_refused(client, published, db):
    admin = bearer(db, "admin")
    resp = client.post("/api/v1/collections", json=_launch_body(reporting_level="township"), headers=admin)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["details"]["data_path"] == "reporting_level"
    assert "填报步骤「村级填报」在泳道「村级填报员」，只能由村(社区)级单位办理，而填报层级是乡镇级" in error["message"]
    assert "请把填报层级改为村(社区)" in error["message"]
    # at county level the township review would sit below the reporting units too: both lanes are named
    county = client.post("/api/v1/collections", json=_launch_body(reporting_level="county"), headers=admin)
    message = county.get_json()["error"]["message"]
    assert county.status_code == 400 and "而填报层级是县级" in message
    assert "审核步骤「乡镇审核」在泳道「乡镇审核员」，由乡镇级单位办理，低于填报层级（县级）" in message
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Collection)) == 0  # nothing half-made
    assert db.scalar(select(func.count()).select_from(WorkflowTask)) == 0
    assert client.post("/api/v1/collections", json=_launch_body(), headers=admin).status_code == 201


def test_a_lane_no_unit_of_the_scope_can_hold_is_refused(client, published, db):
    """A township directly under a city (its county segment is 00) has no county: 县级审核 would go to a unit
    that is the city itself, where no county reviewer can be."""
    db.add_all([OrgUnit(code="390100001000", name="直管镇", level=Level.TOWNSHIP, parent_code="390100000000"),
                OrgUnit(code="390100001201", name="直管村", level=Level.VILLAGE, parent_code="390100001000")])
    db.commit()
    resp = client.post("/api/v1/collections", json=_launch_body(scope_org_code="390100001000"),
                       headers=bearer(db, "admin"))
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["details"]["data_path"] == "process_version_id"
    assert ("步骤「县级审核」在泳道「县级审核员」，要由县级单位办理，但采集范围内的村(社区)级填报单位都没有县级上级单位"
            in error["message"])


def test_the_launch_form_shows_a_misfit_on_the_reporting_level(client, published, db):
    login(client, "admin")
    page = client.get("/collections/new").get_data(as_text=True)
    form = {"csrf_token": _csrf(page), "title": "2025年云溪县乡镇年报",
            "indicator_set_version": str(published[("indicator_set", "village_basic", 2)]),
            "process_version": str(published[("process", "village_report", 1)]), "period": "2025",
            "scope": COUNTY, "reporting_level": "township", "opens_on": "2026-01-01", "deadline": "2026-03-31"}
    resp = client.post("/collections/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'<p class="error" id="reporting_level-error">审批流程 village_report 第 1 版不适用于本次采集'
                     r'[^<]*泳道「村级填报员」', html)
    assert 'value="2025年云溪县乡镇年报"' in html and '<option selected value="township">' in html


def test_a_flow_reading_a_report_field_the_set_lacks_is_refused_and_one_it_has_is_launched(client, published, db):
    """QA's small-village flow (report.pop_total) fits village_basic; with the name misspelt the launch
    is refused on the process version, naming the gateway, the sequence flow and the name."""
    from engine.publishing import publish_process
    from tests.conftest import ROOT

    bpmn = (ROOT / "tests/fixtures/processes/village_report_small_village.bpmn").read_bytes()
    publish_process(db, bpmn.replace(b"report.pop_total", b"report.pop_totl"), code="village_report", version=3)
    publish_process(db, bpmn, code="village_report", version=4)
    db.commit()
    admin = bearer(db, "admin")
    resp = client.post("/api/v1/collections", json=_launch_body(process_version=3), headers=admin)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["details"]["data_path"] == "process_version_id"
    assert "「乡镇审核结论」(township_decision)" in error["message"] and "flow_township_small" in error["message"]
    assert "「report.pop_totl」：「pop_totl」不是本指标集的字段；是不是 pop_total？" in error["message"]
    assert client.post("/api/v1/collections", json=_launch_body(process_version=4), headers=admin).status_code == 201


# --- stage and status labels name the collection's own flow (QA: a city review was still "县级终审通过") ---


def test_labels_name_the_final_review_of_the_collections_flow(client, published, db):
    import datetime as dt

    from engine.collections import start_collection
    from engine.publishing import publish_process
    from tests.conftest import ROOT

    bpmn = (ROOT / "tests/fixtures/processes/village_report_city_review.bpmn").read_bytes()
    process = publish_process(db, bpmn, code="village_report", version=3).id
    city_flow = start_collection(
        db, title="2025年云溪县年报（市级终审）", period="2025", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)], process_version_id=process,
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31)).collection
    db.commit()
    county_approved = _approve(db, city_flow, XIKOU, 2)  # township, then county: still waiting for the city
    final = _approve(db, city_flow, SHANGJIE, 3)
    review(db, reviewer_of(db, "city_reviewer", ancestor_at(SHANGJIE, Level.CITY)), final.id)
    db.expire_all()
    assert (county_approved.status, final.status) == ("approved", "final")

    base, viewer = f"/api/v1/collections/{city_flow.id}", bearer(db, "viewer")
    counts = client.get(f"{base}/completeness?org_unit={COUNTY}", headers=viewer).get_json()
    assert counts["status_labels"]["approved"] == "乡镇及以上已审核（待终审）"
    assert counts["status_labels"]["final"] == "市级终审通过"
    assert (counts["unit"]["approved"], counts["unit"]["final"]) == (1, 1)
    approved = client.get(f"{base}/rollups?org_unit={COUNTY}", headers=viewer).get_json()
    assert approved["stage_description"] == "口径：包含乡镇及以上审核通过的全部单位（含市级终审通过的单位）"
    only_final = client.get(f"{base}/rollups?org_unit={COUNTY}&stage=final", headers=viewer).get_json()
    assert only_final["stage_description"] == "口径：仅包含已由市级终审通过（审批流程结束）的单位"
    assert only_final["unit"]["units_included"] == 1
    nope = client.get(f"{base}/rollups?stage=nope", headers=viewer).get_json()["error"]["message"]
    assert nope == "未知的汇总口径“nope”，可选：含乡镇审核通过（approved）、仅市级终审通过（final）"

    login(client, "admin")
    page = client.get(f"/collections/{city_flow.id}?org={COUNTY}").get_data(as_text=True)
    assert "乡镇及以上已审核（待终审）" in page and "市级终审通过" in page and "县级终审" not in page
    rollups = client.get(f"/collections/{city_flow.id}/rollups?org={COUNTY}").get_data(as_text=True)
    assert "仅市级终审通过" in rollups and "县级终审" not in rollups
    # the shipped flow keeps its words
    shipped = client.post("/api/v1/collections", json=_launch_body(period="2026"),  # beside 2025's: another period
                          headers=bearer(db, "admin")).get_json()
    counts = client.get(f"/api/v1/collections/{shipped['collection']['id']}/completeness", headers=viewer).get_json()
    assert (counts["status_labels"]["approved"], counts["status_labels"]["final"]) == ("乡镇已审核（待终审）",
                                                                                     "县级终审通过")
