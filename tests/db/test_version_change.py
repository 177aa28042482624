"""The yearly change as the provincial centre lives it: last year on village_basic v1, this year on a v4
(the centre's own, after the shipped v3) that merges two land fields, converts the collective income
from 万元 to 元 (×10000, into an integer field for the operating income) and counts the urban-rural class
option by option (v1 did not sum it); v2's rename and split come along through the chain. Prefill,
comparison, report page, exports and the report headers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

import engine.rollups  # noqa: F401  (registers the approval listener behind the figures)
from engine.collections import start_collection
from engine.exports import FORMATS, plan_export
from engine.orgs import ancestor_at
from engine.publishing import publish_indicator_set
from engine.roles import Level
from engine.rollups import compare_units
from tests.conftest import ROOT, login, principal_of
from tests.db.test_rollups import BAISHI_V, COUNTY, XIKOU, review, reviewer_of, sub_of, submit, variant

V3 = ROOT / "definitions/indicators/village_basic/v3.json"
V3_EXAMPLE = ROOT / "definitions/indicators/village_basic/examples/v3/valid-lingxia-2025.json"


def v4_doc() -> dict[str, Any]:
    doc = json.loads(V3.read_text("utf-8"))
    doc["x-version"] = 4
    props = doc["properties"]
    del props["land"]["properties"]["land_grass"]
    props["land"]["properties"]["land_other"]["title"] = "其他农用地（含草地）"
    for rule in doc["x-rules"]:
        if rule["id"] == "land_type_sum":
            rule["expr"] = rule["expr"].replace(" + land_grass", "")
            rule["message"] = "耕地、园地、林地、养殖水面、其他农用地（含草地）之和应等于集体所有农用地总面积"
    collective = props["collective"]
    collective["description"] = "村集体经济组织本年度收入（元）。"
    for field in collective["properties"].values():
        field["x-unit"] = "元"
    collective["properties"]["collective_operating_income"]["type"] = "integer"
    props["basic"]["properties"]["urban_rural_class"]["x-aggregate"] = "count_each"
    props["population"]["properties"]["pop_age_100p"]["x-sensitive"] = "personal"  # a few people, named by it
    doc["x-mappings"] = {"from_version": 3, "fields": [
        {"kind": "merge", "from": ["land.land_grass", "land.land_other"], "to": "land.land_other"},
        {"kind": "unit", "from": "collective.collective_income_total", "to": "collective.collective_income_total",
         "factor": 10000},
        {"kind": "unit", "from": "collective.collective_operating_income",
         "to": "collective.collective_operating_income", "factor": 10000},
    ]}  # fmt: skip
    return doc


def v4_report(k: int, org: str) -> dict[str, Any]:
    """The v3 example as a v4 report: grass land counted in 其他农用地, incomes in 元."""
    doc = variant(k, org, json.loads(V3_EXAMPLE.read_text("utf-8")))
    land = doc["land"]
    land["land_other"] += land.pop("land_grass")
    doc["collective"] = {"collective_income_total": 466520 * k, "collective_operating_income": 402000 * k}
    return doc


def approve_to_the_top(db, sub) -> None:
    review(db, reviewer_of(db, "township_reviewer", ancestor_at(sub.org_code, Level.TOWNSHIP)), sub.id)
    review(db, "rev_county", sub.id)


# last year's collective income (万元): total, operating
LAST_INCOME = {XIKOU: (457.96, 0.57), BAISHI_V: (85.6, 40.2)}


@pytest.fixture
def last_year(collection, db):
    """2024 on v1: 溪口 ×2 and 白石 ×3 approved to the top, with the incomes of ``LAST_INCOME``."""
    for org, k in ((XIKOU, 2), (BAISHI_V, 3)):
        doc = variant(k, org)
        doc["collective"] = dict(zip(("collective_income_total", "collective_operating_income"),
                                     LAST_INCOME[org], strict=True))
        approve_to_the_top(db, submit(db, collection, org, doc))
    return collection


@pytest.fixture
def this_year(last_year, published, db):
    v4 = publish_indicator_set(db, v4_doc(), code="village_basic", version=4)
    started = start_collection(
        db, title="2025年村级基本情况年报", period="2025", scope_org_code=COUNTY, indicator_set_version_id=v4.id,
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31))
    db.commit()
    return started.collection


def test_prefill_converts_units_with_exact_decimals(this_year, db):
    carried = sub_of(db, this_year, XIKOU).data["collective"]
    # 万元 -> 元: the number field gets a whole number (457.96 -> 4579600, not 4579600.0), the integer
    # field an integer from exact decimals (0.57 × 10000 is 5700, where floats make it 5699.999999999999)
    assert json.dumps(carried, sort_keys=True) == \
        '{"collective_income_total": 4579600, "collective_operating_income": 5700}'


def test_export_writes_whole_numbers_without_a_fraction(this_year, db):
    sub = sub_of(db, this_year, XIKOU)
    doc = v4_report(1, XIKOU)
    doc["collective"]["collective_income_total"] = 856000.0  # as the float carry-forward used to store it
    doc["basic"]["villager_group_count"] = 8.0  # a client sending an integer as 8.0 (JSON Schema allows it)
    approve_to_the_top(db, submit(db, this_year, XIKOU, doc))
    assert sub.data["collective"]["collective_income_total"] == 856000.0
    plan = plan_export(db, principal_of(db, "rev_county"), this_year.id)
    raw = b"".join(FORMATS["csv"].chunks(db, plan, None, None)).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(raw)))
    values = dict(zip(header, row, strict=True))
    assert values["村集体经济总收入（元）"] == "856000"
    assert values["村民小组数（个）"] == "8"
    assert values["集体所有农用地总面积（亩）"] == "2226.5"  # a fraction stays


@pytest.fixture
def both_years(this_year, db):
    """This year's reports of the two villages approved to the top (溪口 ×3, 白石 ×1)."""
    for org, k in ((XIKOU, 3), (BAISHI_V, 1)):
        approve_to_the_top(db, submit(db, this_year, org, v4_report(k, org)))
    return this_year


def test_a_figure_summed_another_way_last_year_is_not_comparable(both_years, last_year, db):
    rows = {r.key: r for r in compare_units(db, both_years.id, last_year.id, COUNTY, stage="final").rows}
    village = rows["basic.urban_rural_class=220"]  # counted per option now; v1 did not sum the field
    assert (village.current, village.previous, village.comparable) == (2, None, False)
    assert village.note == "对比期未汇总此项（汇总方式已改变，本期为选择个数），不可比"
    # what v4 maps is compared, with the mapping's note
    income = rows["collective.collective_income_total"]
    assert income.comparable and income.note == "v4：单位换算 ×10000"
    assert (income.current, income.previous) == (466520 * 4, 5435600)  # (457.96 + 85.6) 万元
    other = rows["land.land_other"]
    assert other.comparable and other.note == "v4：由 land.land_grass + land.land_other 合并"


def test_report_page_shows_how_last_years_figures_were_mapped(both_years, client):
    login(client, "admin")
    html = client.get(f"/collections/{both_years.id}/report", query_string={"org_unit": COUNTY}).get_data(as_text=True)
    notes = {}
    for section in html.split('<section class="card report-section">')[1:]:
        listed = re.findall(r"<li>(注\d+)：([^<]+)</li>", section)
        for key, mark in re.findall(r'<tr data-key="([^"]+)"[^>]*>\s*<th scope="row">.*?<span class="note-mark">(注\d+)</span>',
                                    section):
            notes[key] = dict(listed)[mark]
    assert notes["collective.collective_income_total"] == "v4：单位换算 ×10000"
    assert notes["land.land_other"] == "v4：由 land.land_grass + land.land_other 合并"
    assert notes["labour.working_age_labour"].startswith("v2：口径不变")  # v2's rename, with its note
    assert notes["basic.urban_rural_class=220"] == "对比期未汇总此项（汇总方式已改变，本期为选择个数），不可比"
    assert notes["population.pop_age_18_34+population.pop_age_35_59"] == "拆分后各部分之和与原指标“18–59岁”对比"
    # the split's parts share one note, listed once
    assert notes["population.pop_age_18_34"] == notes["population.pop_age_35_59"]
    assert html.count(notes["population.pop_age_18_34"]) == 1
    assert "title=" not in html.split('<section class="card report-section">', 1)[1]  # nothing only in a tooltip


def _comparison_csv(client, collection_id: int, **query) -> tuple[list[str], dict[str, list[str]]]:
    resp = client.get(f"/api/v1/collections/{collection_id}/comparison/export", query_string={"format": "csv", **query})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    return header, {f"{r[0]}/{r[1]}": r for r in rows}


def test_comparison_download_holds_both_years(both_years, last_year, client, db):
    login(client, "admin")
    query = {"with": last_year.id, "org_unit": COUNTY, "stage": "final"}
    header, rows = _comparison_csv(client, both_years.id, **query)
    assert header == ["分组", "指标", "计量单位", "本期 2025（2 个单位）", "对比期 2024（2 个单位）", "增减", "增减%", "说明"]
    assert rows["集体经济/村集体经济总收入"] == [
        "集体经济", "村集体经济总收入", "元", "1866080", "5435600", "-3569520", "-65.7", "v4：单位换算 ×10000"]
    village = next(r for k, r in rows.items() if k.startswith("基本信息/城乡分类代码：220"))
    assert village[3:] == ["2", "不可比", "", "", "对比期未汇总此项（汇总方式已改变，本期为选择个数），不可比"]
    # the rows, figures and notes of the JSON answer, in its order
    answer = client.get(f"/api/v1/collections/{both_years.id}/comparison", query_string=query).get_json()
    assert [f"{r['section']}/{r['label']}" for r in answer["rows"]] == list(rows)
    assert [r["note"] or "" for r in answer["rows"]] == [r[7] for r in rows.values()]

    resp = client.get(f"/api/v1/collections/{both_years.id}/comparison/export", query_string=query)  # XLSX
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('2025年村级基本情况年报-云溪县-与2024对比.xlsx')}" in disposition
    assert f'filename="comparison-{both_years.id}-{last_year.id}-{COUNTY}.xlsx"' in disposition
    wb = load_workbook(io.BytesIO(resp.get_data()))
    table = [list(r) for r in wb["与上期对比"].iter_rows(values_only=True)]
    assert table[0] == header
    income = next(r for r in table if r[1] == "村集体经济总收入")
    assert income[3:7] == [1866080, 5435600, -3569520, -65.7]  # number cells, not text
    about = dict(wb["说明"].iter_rows(values_only=True))
    assert about["单位"] == f"云溪县（{COUNTY}）" and "县级终审" in about["汇总口径"]

    # the compare page offers both files
    page = client.get(f"/collections/{both_years.id}/compare", query_string={"org": COUNTY}).get_data(as_text=True)
    for fmt in ("csv", "xlsx"):
        assert f"/api/v1/collections/{both_years.id}/comparison/export?format={fmt}&amp;org_unit={COUNTY}" in page


def test_comparison_download_follows_the_reading_rules(both_years, last_year, client, db):
    from engine.db.models import AuditEntry

    query = {"with": last_year.id, "org_unit": COUNTY}
    login(client, "rev_county")  # reads personal fields in the county: the centenarians' row is there
    _, rows = _comparison_csv(client, both_years.id, **query)
    assert "人口/其中：100岁及以上" in rows
    login(client, "viewer")  # a department viewer: not, in the file as in the JSON answer
    _, rows = _comparison_csv(client, both_years.id, **query)
    answer = client.get(f"/api/v1/collections/{both_years.id}/comparison", query_string=query).get_json()
    assert "人口/其中：100岁及以上" not in rows
    assert list(rows) == [f"{r['section']}/{r['label']}" for r in answer["rows"]]
    assert [r[3] for r in rows.values()] == ["" if r["current"] is None else str(r["current"]) for r in answer["rows"]]
    exports = db.query(AuditEntry).filter_by(action="export", object_id=str(both_years.id)).all()
    assert [e.details for e in exports] == [
        {"org_unit": COUNTY, "format": "csv", "comparison_with": last_year.id, "stage": "approved"}] * 2

    # a unit beside or above the caller's is not found, as for the JSON answer
    login(client, "rev_baishi")
    for org in (COUNTY, "390121101000"):
        url = f"/api/v1/collections/{both_years.id}/comparison"
        file, json_answer = (client.get(u, query_string={**query, "org_unit": org}) for u in (url + "/export", url))
        assert file.status_code == json_answer.status_code == 404 and file.get_json() == json_answer.get_json()
    login(client, "admin")
    for bad in ({"with": both_years.id}, {"with": "abc"}, {}):
        resp = client.get(f"/api/v1/collections/{both_years.id}/comparison/export",
                          query_string={"org_unit": COUNTY, **bad})
        assert resp.status_code == 400 and resp.get_json()["error"]["details"]["data_path"] == "with", bad
    bad_format = client.get(f"/api/v1/collections/{both_years.id}/comparison/export",
                            query_string={**query, "format": "pdf"})
    assert bad_format.status_code == 400 and "不支持的导出格式" in bad_format.get_json()["error"]["message"]


def test_openapi_declares_the_comparison_download(client):
    op = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/collections/{collection_id}/comparison/export"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"collection_id", "with", "org_unit", "stage", "format"}
    content = op["responses"]["200"]["content"]
    assert set(content) == {"text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _head(html: str, pattern: str = r'<div class="sub-head">(.*?)</div>') -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", re.search(pattern, html, re.S).group(1)))


def test_report_headers_name_the_set_version_apart_from_the_saves(this_year, client, db):
    from sqlalchemy import select

    from engine.db.models import WorkflowTask

    submitted = submit(db, this_year, XIKOU, v4_report(1, XIKOU))
    saves = submitted.revision
    login(client, f"clerk_{XIKOU}")
    for url in (f"/submissions/{submitted.id}", f"/submissions/{submitted.id}/history"):
        head = _head(client.get(url).get_data(as_text=True))
        assert f"指标集第 4 版 · 第 {saves} 次保存" in head and f"第 {saves} 版" not in head, url
    history = client.get(f"/submissions/{submitted.id}/history").get_data(as_text=True)
    assert f"<td>第 {saves} 次保存</td><td>提交</td>" in history and f"第 {saves} 版" not in history

    login(client, f"clerk_{BAISHI_V}")  # prefilled, not yet saved by its clerk: the fill page
    prefilled = sub_of(db, this_year, BAISHI_V)
    head = _head(client.get(f"/submissions/{prefilled.id}/page/1").get_data(as_text=True))
    assert "草稿（尚未保存） 指标集第 4 版 · 采集截止" in head

    login(client, reviewer_of(db, "township_reviewer", ancestor_at(XIKOU, Level.TOWNSHIP)))
    task = db.scalar(select(WorkflowTask.id).where(WorkflowTask.submission_id == submitted.id,
                                                   WorkflowTask.state == "ready"))
    review_page = client.get(f"/tasks/{task}").get_data(as_text=True)
    status_line = _head(review_page, r"</h1>\s*<p>(.*?)</p>")
    assert f"指标集第 4 版 · 第 {saves} 次保存" in status_line and f"第 {saves} 版" not in status_line
