"""Exports against PostgreSQL: files read back (openpyxl, csv), scope, sensitive columns, batches, API, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import engine.rollups  # noqa: F401  (registers the approval listener behind the report page's figures)
from engine import submissions, tasks
from engine.db.models import Submission
from engine.errors import BadInput, NotFound
from engine.exports import FORMATS, export_to_file, format_for, plan_export
from engine.tasks import InboxFilter, inbox_query
from tests.conftest import ROOT, login, principal_of, valid_report

COUNTY = "390121000000"
YUNXI_TOWN = "390121101000"
XIKOU, SHANGJIE, BAISHI = "390121101201", "390121101202", "390121201201"
ELDERLY_EXAMPLE = ROOT / "definitions/indicators/elderly_allowance/examples/v1/valid-lingxia-2024-10.json"
SENSITIVE_VILLAGE_HEADERS = ["单位负责人", "统计负责人", "填表人", "联系电话"]
MAIN_LEAD = ["区划代码", "单位名称", "所属县", "所属乡镇", "审核状态", "填报编号"]
ROSTER_PUBLIC = ["序号", "年龄（周岁）", "年龄段", "月发放金额（元）", "状态"]
ROSTER_SENSITIVE = ["姓名", "公民身份号码", "性别", "出生日期", "户籍地址", "开户银行及账号", "变动日期", "健康/失能情况"]


# --- helpers shared with test_rosters ---------------------------------------------------------------


def submission_of(db, collection, org):
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id,
                                              Submission.org_code == org))


def submit(db, collection, org, user, data):
    sub = submission_of(db, collection, org)
    out = submissions.submit(db, principal_of(db, user), sub.id, data, revision=sub.revision)
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    return out.submission


def approve(db, username, sub):
    task = next(row[0] for row in db.execute(inbox_query(principal_of(db, username), InboxFilter()))
                if row[0].submission_id == sub.id)
    tasks.complete_review(db, principal_of(db, username), task.id, {"decision": "approve", "comment": "同意"})
    db.commit()


def elderly_report(org: str, seqs: tuple[int, ...]) -> dict:
    """The example roster moved to ``org``, keeping the rows with the given 序号 (renumbered)."""
    doc = json.loads(ELDERLY_EXAMPLE.read_text(encoding="utf-8"))
    doc["header"]["division_code"] = org
    doc["elders"] = [dict(row, seq=n) for n, row in enumerate((r for r in doc["elders"] if r["seq"] in seqs), 1)]
    return doc


def start_elderly(db, published):
    from engine.collections import start_collection

    started = start_collection(
        db, title="2024年10月高龄津贴发放", period="2024-10", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "elderly_allowance", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2024, 10, 1), deadline=dt.date(2024, 10, 31),
    )
    db.commit()
    return started.collection


# Which elders (by 序号 in the example) each village reports, and who approves up to where.
ELDERLY_PLAN = {XIKOU: (1, 3, 5), SHANGJIE: (2, 4), BAISHI: (1, 2, 3, 4, 5)}


def fill_elderly(db, collection):
    users = {XIKOU: "clerk_xikou", SHANGJIE: "clerk_shangjie", BAISHI: "clerk_baishi"}
    subs = {org: submit(db, collection, org, users[org], elderly_report(org, seqs))
            for org, seqs in ELDERLY_PLAN.items()}
    approve(db, "rev_yunxi", subs[XIKOU])
    approve(db, "rev_yunxi", subs[SHANGJIE])
    approve(db, "rev_baishi", subs[BAISHI])
    approve(db, "rev_county", subs[BAISHI])  # final
    return subs


@pytest.fixture
def elderly(published, db):
    collection = start_elderly(db, published)
    return collection, fill_elderly(db, collection)


def village_report(org: str, name: str, groups: int) -> dict:
    doc = valid_report()
    doc["basic"].update(division_code=org, village_name=name, villager_group_count=groups)
    return doc


@pytest.fixture
def village_data(collection, db):
    """溪口 and 上街 approved by the 云溪镇 township, 白石村 submitted only (not approved)."""
    xikou = submit(db, collection, XIKOU, "clerk_xikou", village_report(XIKOU, "溪口村", 5))
    shangjie = submit(db, collection, SHANGJIE, "clerk_shangjie", village_report(SHANGJIE, "上街村", 7))
    submit(db, collection, BAISHI, "clerk_baishi", village_report(BAISHI, "白石村", 9))
    approve(db, "rev_yunxi", xikou)
    approve(db, "rev_yunxi", shangjie)
    return collection, {XIKOU: xikou, SHANGJIE: shangjie}


def xlsx_export(db, username, collection, org=None, **kw):
    plan = plan_export(db, principal_of(db, username), collection.id, org, **kw)
    out = io.BytesIO()
    for chunk in FORMATS["xlsx"].chunks(db, plan, None, None):
        out.write(chunk)
    return load_workbook(io.BytesIO(out.getvalue()))


def field_headers(db, collection, array_key=None):
    from engine.publishing import indicator_set_model

    ind = indicator_set_model(db, collection.indicator_set_version_id)
    grid_rows = {row.key: row.title for f in ind.fields.values() if f.kind == "grid" for row in f.children}
    out = []
    for f in ind.leaves():
        if f.array_key == array_key:
            parent = ".".join(f.path[:-1])
            title = f"{grid_rows[parent]} · {f.title}" if parent in grid_rows else f.title
            said = title == "年龄（周岁）"  # its title already says the unit, 岁 (header_of)
            out.append(f"{title}（{f.unit}）" if f.unit and not said else title)
    return out


def sheet_rows(wb, title):
    return [list(r) for r in wb[title].iter_rows(values_only=True)]


# --- village_basic: the main table ------------------------------------------------------------------


def test_xlsx_headers_and_values_of_approved_villages(village_data, db):
    collection, subs = village_data
    wb = xlsx_export(db, "rev_county", collection)
    assert wb.sheetnames == ["村级基本情况年报"]
    header, *rows = sheet_rows(wb, "村级基本情况年报")
    assert header[:6] == MAIN_LEAD
    assert header[6:] == field_headers(db, collection)  # every leaf, in the model's order
    assert len(header) == 6 + 64
    assert {"户籍总人口（人）", "村集体经济总收入（万元）", "报告年度（年）", "村/社区"} <= set(header)
    assert {"耕地 · 出租（亩）", "林地 · 入股（亩）", "园地 · 其他方式（亩）"} <= set(header)  # grid cells
    assert set(SENSITIVE_VILLAGE_HEADERS) <= set(header)  # the county reviewer may read them
    assert [r[:6] for r in rows] == [  # 白石村 is only submitted: not in the export
        [XIKOU, "溪口村委会", "云溪县", "云溪镇", "乡镇审核通过", subs[XIKOU].id],
        [SHANGJIE, "上街村委会", "云溪县", "云溪镇", "乡镇审核通过", subs[SHANGJIE].id],
    ]
    first = dict(zip(header, rows[0], strict=True))
    report = valid_report()
    assert first["户籍总人口（人）"] == report["population"]["pop_total"]
    assert first["村民小组数（个）"] == 5
    assert first["村/社区"] == "村民委员会"  # a choice is shown by its label
    assert first["耕地 · 出租（亩）"] == report["land_transfer"]["cultivated"]["lease"]
    assert first["联系电话"] == report["filler"]["filler_phone"]
    assert first["备注"] is None


def test_department_viewer_gets_no_personal_columns(village_data, db):
    collection, _ = village_data
    header, *rows = sheet_rows(xlsx_export(db, "viewer", collection), "村级基本情况年报")
    assert not set(SENSITIVE_VILLAGE_HEADERS) & set(header)
    assert len(rows) == 2


def test_out_of_scope_rows_are_absent(village_data, db):
    collection, _ = village_data
    # 白石乡's reviewer asks for the whole county: only 白石乡's rows (none approved) come back, in a
    # file named after 白石乡, not the county
    header, *rows = sheet_rows(xlsx_export(db, "rev_baishi", collection, COUNTY), "村级基本情况年报")
    assert rows == []
    plan = plan_export(db, principal_of(db, "rev_baishi"), collection.id, COUNTY)
    assert (plan.selection.root_code, plan.filename("xlsx")) == ("390121201000", "2024年村级基本情况年报-白石乡.xlsx")
    # a unit beside the caller's, and a collection outside its reach, read as unknown
    with pytest.raises(NotFound, match="单位不存在或无权查看"):
        plan_export(db, principal_of(db, "rev_baishi"), collection.id, YUNXI_TOWN)
    with pytest.raises(NotFound, match="采集任务不存在或无权查看"):
        plan_export(db, principal_of(db, "rev_other_county"), collection.id)
    with pytest.raises(NotFound):
        plan_export(db, principal_of(db, "rev_county"), 999999)


def test_approval_level_choice_and_all_units_with_status(village_data, db):
    collection, _ = village_data
    wb = xlsx_export(db, "rev_county", collection, approved_at=3)  # county-approved only: none yet
    assert sheet_rows(wb, "村级基本情况年报")[1:] == []
    header, *rows = sheet_rows(xlsx_export(db, "rev_county", collection, all_units=True), "村级基本情况年报")
    assert len(rows) == 10
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert by_code[XIKOU]["审核状态"] == "乡镇审核通过" and by_code[XIKOU]["户籍总人口（人）"] == 1350
    assert by_code[BAISHI]["审核状态"] == "已提交待审核" and by_code[BAISHI]["户籍总人口（人）"] is None
    assert by_code["390121201205"]["审核状态"] == "未开始"
    assert by_code["390121201205"]["所属乡镇"] == "白石乡"
    with pytest.raises(BadInput):
        plan_export(db, principal_of(db, "rev_county"), collection.id, approved_at=5)


def test_streams_in_batches(collection, db):
    plan = plan_export(db, principal_of(db, "rev_county"), collection.id, all_units=True, batch_size=2)
    seen: list[int] = []
    chunks = list(FORMATS["csv"].chunks(db, plan, None, seen.append))
    assert seen == [2, 2, 2, 2, 2]
    assert len(chunks) == 1 + 5  # the header, then one chunk per batch
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 11 and [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])


def test_csv_has_bom_and_reads_back(village_data, db):
    collection, subs = village_data
    plan = plan_export(db, principal_of(db, "rev_county"), collection.id)
    raw = b"".join(FORMATS["csv"].chunks(db, plan, None, None))
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[:6] == MAIN_LEAD
    assert [r[:2] for r in rows] == [[XIKOU, "溪口村委会"], [SHANGJIE, "上街村委会"]]
    assert dict(zip(header, rows[1], strict=True))["村民小组数（个）"] == "7"
    assert rows[0][5] == str(subs[XIKOU].id)
    with pytest.raises(BadInput, match="明细表"):
        list(FORMATS["csv"].chunks(db, plan, "elders", None))
    with pytest.raises(BadInput, match="不支持的导出格式"):
        format_for("pdf")


# --- elderly_allowance: one sheet per repeat ---------------------------------------------------------


def test_roster_sheet_links_rows_to_their_unit(elderly, db):
    collection, subs = elderly
    wb = xlsx_export(db, "rev_county", collection)
    assert wb.sheetnames == ["高龄津贴发放花名册", "花名册"]
    main = sheet_rows(wb, "高龄津贴发放花名册")
    header, *rows = sheet_rows(wb, "花名册")
    assert header[:4] == ["填报编号", "区划代码", "单位名称", "行号"]
    assert sorted(header[4:]) == sorted(ROSTER_PUBLIC + ROSTER_SENSITIVE)
    assert header[4:] == field_headers(db, collection, "elders")
    assert len(rows) == sum(len(v) for v in ELDERLY_PLAN.values())
    parent_ids = {r[5]: r[0] for r in main[1:]}  # 填报编号 -> 区划代码 in the main sheet
    for row in rows:
        assert parent_ids[row[0]] == row[1]  # every roster row points at its unit's row
    xikou = [dict(zip(header, r, strict=True)) for r in rows if r[1] == XIKOU]
    assert [(r["行号"], r["公民身份号码"], r["年龄（周岁）"], r["年龄段"], r["月发放金额（元）"]) for r in xikou] == [
        (1, "390121193205120013", 92, "90–94岁", 200),
        (2, "390121193311280037", 90, "90–94岁", 200),
        (3, "390121194403150015", 80, "80–89岁", 60),
    ]
    # dates are date cells, shown as dates (a spreadsheet sorts and filters them as dates)
    assert xikou[0]["出生日期"] == dt.datetime(1932, 5, 12)
    birth = next(c for row in wb["花名册"].iter_rows(min_row=2) for c in row if c.value == dt.datetime(1932, 5, 12))
    assert birth.is_date and birth.number_format == "yyyy-mm-dd"
    assert {r[0] for r in rows if r[1] == BAISHI} == {subs[BAISHI].id}
    assert dict(zip(main[0], main[1], strict=True))["审核状态"] in {"乡镇审核通过", "终审通过"}


def test_roster_personal_columns_absent_for_department_viewer(elderly, db):
    collection, _ = elderly
    wb = xlsx_export(db, "viewer", collection)
    header, *rows = sheet_rows(wb, "花名册")
    assert header[:4] == ["填报编号", "区划代码", "单位名称", "行号"]
    assert sorted(header[4:]) == sorted(ROSTER_PUBLIC)
    assert len(rows) == 10
    main_header = sheet_rows(wb, "高龄津贴发放花名册")[0]
    assert "经办人" not in main_header and "联系电话" not in main_header
    county = sheet_rows(xlsx_export(db, "rev_county", collection), "花名册")[0]
    assert all(h in county for h in ROSTER_SENSITIVE)


def test_csv_of_a_repeat_table(elderly, db):
    collection, _ = elderly
    plan = plan_export(db, principal_of(db, "rev_yunxi"), collection.id, YUNXI_TOWN)
    raw = b"".join(FORMATS["csv"].chunks(db, plan, "elders", None)).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(raw)))
    assert header[:5] == ["填报编号", "区划代码", "单位名称", "行号", "序号"] and "公民身份号码" in header
    assert sorted({r[1] for r in rows}) == [XIKOU, SHANGJIE] and len(rows) == 5
    assert plan.filename("csv", plan.table("elders")) == "2024年10月高龄津贴发放-云溪镇-花名册.csv"


def test_export_to_file(elderly, db, tmp_path: Path):
    collection, _ = elderly
    plan = plan_export(db, principal_of(db, "rev_county"), collection.id, batch_size=1)
    counts: list[int] = []
    target = tmp_path / "out.xlsx"
    export_to_file(db, plan, FORMATS["xlsx"], target, on_batch=counts.append)
    assert counts == [1, 1, 1]
    assert len(sheet_rows(load_workbook(target), "花名册")) == 11


# --- HTTP API ---------------------------------------------------------------------------------------


def test_api_xlsx_download(client, elderly, db):
    collection, _ = elderly
    login(client, "rev_county")
    with client.get(f"/api/v1/collections/{collection.id}/export?format=xlsx&org_unit={COUNTY}") as resp:
        body = resp.get_data()
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('2024年10月高龄津贴发放-云溪县.xlsx')}" in disposition
    assert f'filename="collection-{collection.id}-{COUNTY}.xlsx"' in disposition
    wb = load_workbook(io.BytesIO(body))
    assert len(sheet_rows(wb, "花名册")) == 11


def test_api_csv_is_streamed(client, village_data, db):
    collection, _ = village_data
    login(client, "viewer")
    with client.get(f"/api/v1/collections/{collection.id}/export?format=csv") as resp:  # closing ends the stream
        assert resp.status_code == 200 and resp.is_streamed
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert quote("2024年村级基本情况年报-云溪县.csv") in resp.headers["Content-Disposition"]
        body = resp.get_data()
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and "联系电话" not in header


def test_api_errors_are_chinese_json(client, village_data, db):
    collection, _ = village_data
    assert client.get(f"/api/v1/collections/{collection.id}/export").status_code == 401
    login(client, "rev_baishi")
    bad = client.get(f"/api/v1/collections/{collection.id}/export?format=pdf")
    assert bad.status_code == 400 and "不支持的导出格式" in bad.get_json()["error"]["message"]
    denied = client.get(f"/api/v1/collections/{collection.id}/export?org_unit={YUNXI_TOWN}")
    # a unit beside the caller's reads as unknown, without its name, as on the roll-up pages
    assert denied.status_code == 404 and denied.get_json()["error"]["message"] == "单位不存在或无权查看"
    level = client.get(f"/api/v1/collections/{collection.id}/export?approved_at=village")
    assert level.status_code == 400
    missing = client.get("/api/v1/collections/999999/export")
    assert missing.status_code == 404
    # the parameters as the OpenAPI document declares them: a code of 12 ASCII digits, a yes or no
    for query, place in (("org_unit=abc", "org_unit"), ("org_unit=３９０１２１０００００００", "org_unit"),
                         ("all_units=x", "all_units")):
        bad = client.get(f"/api/v1/collections/{collection.id}/export?{query}")
        assert bad.status_code == 400 and bad.get_json()["error"]["details"]["data_path"] == place, query
    assert client.get(f"/api/v1/collections/{collection.id}/export?format=csv&all_units=false").status_code == 200


def test_openapi_declares_the_export(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/collections/{id}/export"]["get"]
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in str(op["responses"]["200"])


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_export(elderly, db, database_url, tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    collection, _ = elderly
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))
    out = tmp_path / "花名册.xlsx"
    result = CliRunner().invoke(cli, ["export", str(collection.id), "--format", "xlsx", "--org-unit", COUNTY,
                                      "-o", str(out), "--as", "rev_county"])
    assert result.exit_code == 0, result.output
    assert "已导出 3 个单位" in result.output
    assert "公民身份号码" in sheet_rows(load_workbook(out), "花名册")[0]

    # Without --as: the province administrator's reach, and no personal fields.
    csv_out = tmp_path / "roster.csv"
    result = CliRunner().invoke(cli, ["export", str(collection.id), "--format", "csv", "--table", "elders",
                                      "-o", str(csv_out)])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(csv_out.read_text(encoding="utf-8-sig"))))
    assert "公民身份号码" not in header and "年龄段" in header

    result = CliRunner().invoke(cli, ["export", str(collection.id), "-o", str(tmp_path / "x.xlsx"),
                                      "--as", "nobody"])
    assert result.exit_code == 1 and "用户 nobody 不存在" in result.output


# --- report page ------------------------------------------------------------------------------------


def _row(html: str, key: str) -> str:
    start = html.index(f'data-key="{key}"')
    end = html.find("data-key=", start + 10)
    return html[start:end if end > 0 else None]


def test_report_page_figures_drill_down_and_previous_period(client, village_data, db):
    from engine.collections import start_collection

    collection, subs = village_data
    previous = start_collection(
        db, title="2023年村级基本情况年报", period="2023", scope_org_code=COUNTY,
        indicator_set_version_id=collection.indicator_set_version_id,
        process_version_id=collection.process_version_id, opens_on=dt.date(2024, 1, 1),
        deadline=dt.date(2024, 3, 31),
    ).collection
    db.commit()
    approve(db, "rev_yunxi", submit(db, previous, XIKOU, "clerk_xikou", village_report(XIKOU, "溪口村", 4)))

    login(client, "rev_county")
    page = client.get(f"/collections/{collection.id}/report", query_string={"org_unit": COUNTY})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h2>人口</h2>" in html and "<h2>土地流转</h2>" in html  # the form's sections, read-only
    assert "2023（2023年村级基本情况年报）" in html
    groups = _row(html, "basic.villager_group_count")
    assert "村民小组数" in groups and "<td>个</td>" in groups
    assert '<td class="num">12</td>' in groups and '<td class="num">4</td>' in groups  # 5 + 7 now, 4 before
    assert "+200.0%" in groups
    town_link = f"/collections/{collection.id}/report?org_unit={YUNXI_TOWN}"
    assert town_link in groups.replace("&amp;", "&").replace("&stage=approved", "")  # drill-down per row
    assert '<td class="num">2,700</td>' in _row(html, "population.pop_total")

    town = client.get(town_link).get_data(as_text=True)
    assert f'href="/submissions/{subs[XIKOU].id}"' in town  # the villages behind the township's figure
    assert client.get(f"/collections/{collection.id}/report",
                      query_string={"org_unit": "390281000000"}).status_code == 404


def test_report_page_scope_and_index(client, village_data, db):
    collection, _ = village_data
    login(client, "rev_baishi")
    assert client.get(f"/collections/{collection.id}/report",
                      query_string={"org_unit": YUNXI_TOWN}).status_code == 404
    index = client.get("/reports").get_data(as_text=True)
    assert "2024年村级基本情况年报" in index
    assert f"/api/v1/collections/{collection.id}/export?format=xlsx" in index.replace("&amp;", "&")
    home = client.get("/").get_data(as_text=True)
    assert "报表与导出" in home


def test_cli_export_says_what_is_wrong_with_the_unit_or_the_file(collection, db, database_url, tmp_path: Path,
                                                                 monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))
    out = str(tmp_path / "x.xlsx")
    for org_unit, says in (("3901", "区划代码必须是12位数字"), ("390121109000", "区划代码 390121109000 不存在"),
                           ("390281000000", "不在采集任务 {id} 的范围（390121000000）内"),
                           ("450000000000", "区划代码 450000000000 不存在")):
        result = CliRunner().invoke(cli, ["export", str(collection.id), "--org-unit", org_unit, "-o", out])
        assert result.exit_code == 1 and says.format(id=collection.id) in result.output, (org_unit, result.output)
    # the province above the scope is fine: the collection's part of it
    ok = CliRunner().invoke(cli, ["export", str(collection.id), "--org-unit", "390000000000", "-o", out])
    assert ok.exit_code == 0, ok.output
    missing = CliRunner().invoke(cli, ["export", str(collection.id), "-o", str(tmp_path / "nowhere" / "x.xlsx")])
    assert missing.exit_code == 1 and f"输出目录 {tmp_path / 'nowhere'} 不存在" in missing.output
    assert "Traceback" not in missing.output


def test_report_page_names_a_row_count_once(client, elderly, db):
    """A repeat's row count reads 「高龄老人名册（行数）」, not 「…（行数） （行数）」 (label and aggregate
    both said it)."""
    collection, _ = elderly
    login(client, "rev_county")
    html = client.get(f"/collections/{collection.id}/report", query_string={"org_unit": COUNTY}).get_data(as_text=True)
    row = _row(html, "elders")
    assert row.count("行数") == 1, row
