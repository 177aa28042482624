"""定义管理 pages through the real app: list, structured and raw editing, checker problems at their
pointer, preview, compare with mapping proposals, publish / retire with confirmation, processes, audit."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

from sqlalchemy import func, select

from engine.db.models import AuditEntry, IndicatorSetVersion, ProcessVersion, Submission
from tests.conftest import ROOT, login

V2_BPMN = ROOT / "definitions/processes/village_report/v2.bpmn"


def _csrf(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _hash(page: str) -> str:
    return re.search(r'name="expected_hash" value="([0-9a-f]{64})"', page).group(1)


def _new_draft(client, code: str = "village_basic", start: str = "latest") -> tuple[int, str]:
    token = _csrf(client, "/definitions")
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": code, "start": start})
    assert resp.status_code == 302
    version_id = int(re.search(r"/definitions/indicators/(\d+)", resp.location).group(1))
    return version_id, token


def _edit(client, version_id: int, token: str, **fields):
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    return client.post(f"/definitions/indicators/{version_id}/edit",
                       data={"csrf_token": token, "expected_hash": _hash(page), **fields})


def _field_block(page: str, key: str) -> str:
    start = page.index(f'id="f-{key}"')
    return page[start:page.index("</details>", start)]


def test_list_shows_versions_collections_and_submission_counts(client, collection, db):
    login(client, "admin")
    page = client.get("/definitions").get_data(as_text=True)
    assert "指标集" in page and "审批流程" in page and "village_basic" in page and "village_report" in page
    v1_row = page[page.index('data-version="village_basic/v1"'):]
    v1_row = v1_row[:v1_row.index("</tr>")]
    assert "2024年村级基本情况年报" in v1_row and "已发布" in v1_row
    submissions = db.scalar(select(func.count(Submission.id)))
    assert f'<td class="num">{submissions}</td>' in v1_row and submissions > 0
    assert "定义管理" in client.get("/").get_data(as_text=True)


def test_only_province_admins_reach_the_workbench(client, published):
    login(client, "clerk_xikou")
    resp = client.get("/definitions")
    assert resp.status_code == 403 and "没有权限" in resp.get_data(as_text=True)
    assert client.get("/audit").status_code == 403
    assert "定义管理" not in client.get("/").get_data(as_text=True)


def test_structured_edit_shows_the_checker_error_at_its_field_then_fixes_it(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    assert "第 4 版" in page and "草稿" in page and 'id="check-ok"' in page
    resp = _edit(client, version_id, token, op="add_field", parent="households", name="broadband_rate",
                 title="宽带入户率", type="number", unit="%", minimum="0", maximum="100", required="0",
                 relevant="no_such_field > 0")
    assert resp.status_code == 302 and resp.location.endswith("#f-households")
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    block = _field_block(page, "households.broadband_rate")
    assert "宽带入户率" in block and "no_such_field" in block and "1 处错误" in block
    assert "/properties/households/properties/broadband_rate/x-relevant" in block
    assert "修正后才能发布" in page
    resp = _edit(client, version_id, token, op="update_field", key="households.broadband_rate",
                 title="宽带入户率", type="number", unit="%", minimum="0", maximum="100", required="0",
                 relevant="household_total > 0", description="通宽带户数占总户数的比例")
    assert resp.status_code == 302
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    assert 'id="check-ok"' in page
    row = db.get(IndicatorSetVersion, version_id)
    db.refresh(row)
    field = row.content["properties"]["households"]["properties"]["broadband_rate"]
    assert field == {"title": "宽带入户率", "type": "number", "x-unit": "%", "minimum": 0, "maximum": 100,
                     "x-relevant": "household_total > 0", "description": "通宽带户数占总户数的比例"}
    # the raw editor shows the same draft
    raw = re.search(r'<textarea id="raw-content" name="content"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "broadband_rate" in raw.replace("&#34;", '"')


def test_the_editor_offers_the_value_sources_and_stores_the_choice(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)  # from v3, whose 区划代码 is filled from the unit

    def division_code() -> tuple[str, dict]:
        page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
        assert 'id="check-ok"' in page
        row = db.get(IndicatorSetVersion, version_id)
        db.refresh(row)
        return _field_block(page, "basic.division_code"), row.content["properties"]["basic"]["properties"]["division_code"]

    block, stored = division_code()
    assert "取值来源" in block and '<option value="">（由填报人填写）</option>' in block
    assert '<option value="unit.code" selected>本单位的 12 位统计用区划代码（系统填写、只读）</option>' in block
    assert (stored["x-fill"], stored["readOnly"]) == ("unit.code", True)

    def choose(fill: str) -> None:
        resp = _edit(client, version_id, token, op="update_field", key="basic.division_code", title="统计用区划代码",
                     type="string", fill=fill)
        assert resp.status_code == 302

    choose("")  # 由填报人填写: typed again, so not read-only
    block, stored = division_code()
    fill_select = block[block.index('<select name="fill">'):]
    assert " selected>" not in fill_select[:fill_select.index("</select>")] and "（系统填写）" not in block
    assert "x-fill" not in stored and "readOnly" not in stored
    choose("unit.code")
    block, stored = division_code()
    assert '<option value="unit.code" selected>' in block and "本单位的 12 位统计用区划代码（系统填写）" in block
    assert (stored["x-fill"], stored["readOnly"]) == ("unit.code", True)


def test_remove_and_rule_operations(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    assert _edit(client, version_id, token, op="remove_field", key="households.avg_household_size",
                 confirm="1").status_code == 302
    assert _edit(client, version_id, token, op="add_rule", id="villager_groups_max", expr="villager_group_count <= 60",
                 message="村民小组数一般不超过 60 个，请核实", severity="soft",
                 fields="basic.villager_group_count").status_code == 302
    row = db.get(IndicatorSetVersion, version_id)
    db.refresh(row)
    assert "avg_household_size" not in row.content["properties"]["households"]["properties"]
    assert row.content["x-rules"][-1]["id"] == "villager_groups_max"
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    # removing 户均人口 breaks the rule that reads it: the error sits on that rule
    rule_block = page[page.index('id="rule-household_size_range"'):]
    assert "avg_household_size" in rule_block[:rule_block.index("</details>")]


def test_removing_a_field_asks_first_and_names_the_rules_that_use_it(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    resp = _edit(client, version_id, token, op="remove_field", key="households.avg_household_size")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    confirm = page[page.index('id="confirm-remove"'):page.index("</section>", page.index('id="confirm-remove"'))]
    assert "确认删除字段「户均人口」？" in confirm
    assert "规则「household_size_range」：户均人口不在 1–8 人之间" in confirm
    db.expire_all()
    assert "avg_household_size" in db.get(IndicatorSetVersion, version_id).content["properties"]["households"]["properties"]
    form = _form(confirm, 'name="confirm" value="1"')
    resp = client.post(f"/definitions/indicators/{version_id}/edit", data={
        "csrf_token": token, "expected_hash": _hidden(form, "expected_hash"), "op": "remove_field",
        "key": _hidden(form, "key"), "confirm": _hidden(form, "confirm")})
    assert resp.status_code == 302
    db.expire_all()
    assert "avg_household_size" not in db.get(IndicatorSetVersion, version_id).content["properties"]["households"]["properties"]
    assert "已删除「households.avg_household_size」" in client.get(resp.location).get_data(as_text=True)
    # a section: what goes with it; a rule asks too
    page = _edit(client, version_id, token, op="remove_field", key="households").get_data(as_text=True)
    assert "确认删除分组「户数」？" in page and "个字段将一并删除" in page and "规则「hh_type_sum」" in page
    page = _edit(client, version_id, token, op="remove_rule", id="pop_sex_sum").get_data(as_text=True)
    assert "确认删除规则「男、女人口之和应等于户籍总人口」？" in page
    db.expire_all()
    content = db.get(IndicatorSetVersion, version_id).content
    assert "households" in content["properties"] and "pop_sex_sum" in {r["id"] for r in content["x-rules"]}


def test_a_failed_edit_keeps_what_was_typed(client, published):
    login(client, "admin")
    version_id, token = _new_draft(client)
    resp = _edit(client, version_id, token, op="add_field", parent="households", name="2bad",
                 title="我输入的标题", type="integer")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "键名「2bad」不合法" in page and 'value="我输入的标题"' in page and 'value="2bad"' in page


def test_duplicate_option_values_are_refused_with_the_typed_options_kept(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    resp = _edit(client, version_id, token, op="update_field", key="households.hh_nonfarm", title="燃料",
                 type="radio", options="1=管道气\r\n1=罐装气")
    assert resp.status_code == 400
    form = _form(resp.get_data(as_text=True), 'data-edit-field="households.hh_nonfarm"')
    assert "选项值「1」重复" in resp.get_data(as_text=True)
    assert "1=管道气\r\n1=罐装气" in html.unescape(form) or "1=管道气\n1=罐装气" in html.unescape(form)
    db.expire_all()
    assert "oneOf" not in db.get(IndicatorSetVersion, version_id).content["properties"]["households"]["properties"]["hh_nonfarm"]


def test_a_type_change_says_what_it_dropped(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    resp = _edit(client, version_id, token, op="update_field", key="population.pop_total", title="户籍总人口",
                 type="string", unit="人", minimum="0", maximum="", required="1")
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "类型已改为「单行文本」，去掉了不适用于该类型的设置：单位（人）、最小值（0）" in page
    assert "x-unit 只能用于数值字段" not in page
    db.expire_all()
    field = db.get(IndicatorSetVersion, version_id).content["properties"]["population"]["properties"]["pop_total"]
    assert "x-unit" not in field and "minimum" not in field


def test_grids_and_repeat_groups_are_named_and_a_shared_column_says_so(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    summary = page[page.index('id="f-land_transfer"'):]
    assert '<span class="muted" data-kind="grid">表格' in summary[:summary.index("</summary>")]
    row = _field_block(page, "land_transfer.cultivated")
    assert 'data-kind="grid_row">表格的一行' in row
    cell = _field_block(page, "land_transfer.cultivated.lease")
    assert "（表格的列）" in cell and "此列为表格各行共用，修改将应用到所有行" in cell and "删除此列（所有行）" in cell
    assert 'data-add-field="land_transfer.cultivated"' not in page  # a row's columns are the grid's
    assert 'data-add-field="land_transfer"' in page and "在表格「土地流转」中添加列" in page
    assert "新列将加到表格的每一行" in page
    assert "分组（一页）" not in row and "分组（一页）" not in cell
    resp = _edit(client, version_id, token, op="add_repeat", name="poor_households", title="脱贫户明细",
                 column_name="head_name", column_title="户主姓名", column_type="string", column_required=["0", "1"])
    assert resp.status_code == 302 and resp.location.endswith("#f-poor_households")
    page = client.get(resp.location).get_data(as_text=True)
    block = page[page.index('id="f-poor_households"'):]
    assert 'data-kind="repeat">可重复的明细表' in block and "在明细表「脱贫户明细」中添加列" in block
    assert _edit(client, version_id, token, op="add_field", parent="poor_households", name="members",
                 title="家庭人口", type="integer", unit="人").status_code == 302
    db.expire_all()
    table = db.get(IndicatorSetVersion, version_id).content["properties"]["poor_households"]
    assert list(table["items"]["properties"]) == ["head_name", "members"] and table["items"]["required"] == ["head_name"]
    assert 'id="check-ok"' in client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)


def test_raw_json_errors_keep_the_text_and_change_nothing(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    before = db.get(IndicatorSetVersion, version_id).content_hash
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    typed = '{"title": "半截的定义",\n "type": "object",,}'
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={"csrf_token": token, "expected_hash": _hash(page), "content": typed})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "JSON 格式错误（第 2 行" in body and "半截的定义" in body
    db.expire_all()
    assert db.get(IndicatorSetVersion, version_id).content_hash == before
    # a field added under a key that is already there: refused, not silently one of the two
    content = json.loads(json.dumps(db.get(IndicatorSetVersion, version_id).content))
    text = json.dumps(content, ensure_ascii=False, indent=2)
    root = '\n  "properties": {'  # the document's own (indent 2), not a $defs entry's
    assert root in text
    typed = text.replace(root, root + '\n"basic": {"type": "object", "title": "我新加的"},', 1)
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={"csrf_token": token, "expected_hash": _hash(page), "content": typed})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "键「basic」出现了两次" in body and "我新加的" in body  # said, and the text kept
    db.expire_all()
    assert db.get(IndicatorSetVersion, version_id).content_hash == before


def test_raw_json_save_with_a_misspelt_keyword_is_stored_and_reported(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    doc = db.get(IndicatorSetVersion, version_id).content
    doc["properties"]["basic"]["properties"]["villager_group_count"]["minimun"] = 0
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={"csrf_token": token, "expected_hash": _hash(page),
                             "content": json.dumps(doc, ensure_ascii=False)})
    assert resp.status_code == 302
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    block = _field_block(page, "basic.villager_group_count")
    assert "minimun" in block and "/properties/basic/properties/villager_group_count/minimun" in block
    # the list at the top names the field and links to it
    summary = page[page.index('id="all-problems"'):page.index("</ul>", page.index('id="all-problems"'))]
    assert '<a href="#f-basic.villager_group_count">字段 basic.villager_group_count</a>' in summary


def test_a_rule_problem_is_listed_by_the_rule_s_name(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    assert _edit(client, version_id, token, op="add_rule", id="groups_vs_typo", expr="villager_group_cont <= 60",
                 message="村民小组数过多", severity="soft", fields="basic.villager_group_count").status_code == 302
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    summary = page[page.index('id="all-problems"'):page.index("</ul>", page.index('id="all-problems"'))]
    assert "villager_group_cont" in summary
    assert '<a href="#rule-groups_vs_typo">规则「groups_vs_typo」</a>' in summary
    assert 'id="rule-groups_vs_typo"' in page


def test_a_stale_editor_gets_a_conflict_not_a_silent_overwrite(client, published):
    login(client, "admin")
    version_id, token = _new_draft(client)
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    stale = _hash(page)
    assert _edit(client, version_id, token, op="set_meta", title="村级基本情况年报（2025）").status_code == 302
    resp = client.post(f"/definitions/indicators/{version_id}/edit",
                       data={"csrf_token": token, "expected_hash": stale, "op": "set_meta", "title": "别的标题"})
    assert resp.status_code == 409 and "已在别处被修改" in resp.get_data(as_text=True)


def test_moving_a_field_is_a_change_that_a_stale_editor_is_told_about(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    stale = _hash(page)
    before = list(db.get(IndicatorSetVersion, version_id).content["properties"]["basic"]["properties"])
    assert _edit(client, version_id, token, op="move_field", key=f"basic.{before[1]}",
                 direction="up").status_code == 302
    db.expire_all()
    row = db.get(IndicatorSetVersion, version_id)
    assert list(row.content["properties"]["basic"]["properties"])[:2] == [before[1], before[0]]
    assert row.content_hash != stale  # the order is the form's: moving a field changes the content
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={"csrf_token": token, "expected_hash": stale, "content": json.dumps(
                           {**row.content, "title": "按旧顺序整体覆盖"}, ensure_ascii=False)})
    assert resp.status_code == 409 and "已在别处被修改" in resp.get_data(as_text=True)


def _form(page: str, marker: str) -> str:
    start = page.rindex("<form", 0, page.index(marker))
    return page[start:page.index("</form>", start)]


def _hidden(form: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', form).group(1))


def _table(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return html.unescape(page[start:page.index("</table>", start)])


def test_a_json_save_over_a_newer_draft_keeps_the_text_and_its_hash_until_the_user_chooses(client, published, db):
    """Tab B's 保存 JSON after tab A's edit: refused with B's text and B's hash kept (a second click is
    refused again, not a silent overwrite), what A changed shown, and 以我的内容覆盖 as the way on."""
    login(client, "admin")
    version_id, token = _new_draft(client)
    page_b = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    raw_b = _form(page_b, 'id="raw-content"')
    stale, base = _hidden(raw_b, "expected_hash"), _hidden(raw_b, "base_content")
    assert json.loads(base) == db.get(IndicatorSetVersion, version_id).content
    assert _edit(client, version_id, token, op="set_meta", title="A 改的标题").status_code == 302  # tab A
    typed = json.loads(base)
    typed["description"] = "B 写的说明"
    text = json.dumps(typed, ensure_ascii=False, indent=2)
    form = {"csrf_token": token, "expected_hash": stale, "base_content": base, "content": text}
    resp = client.post(f"/definitions/indicators/{version_id}/raw", data=form)
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "草稿已在别处被修改" in body and "他人" not in body and "刷新" not in body
    raw = _form(body, 'id="raw-content"')
    assert _hidden(raw, "expected_hash") == stale and "B 写的说明" in html.unescape(raw)
    assert "A 改的标题" in _table(body, "conflict-elsewhere")  # what changed since B loaded
    yours = _table(body, "conflict-yours")
    assert "A 改的标题" in yours and "B 写的说明" in yours  # what overwriting would change
    assert 'name="overwrite_hash"' in raw and "以我的内容覆盖" in raw and "放弃我的修改" in raw
    # the same save again is refused again: nothing is overwritten without the explicit choice
    assert client.post(f"/definitions/indicators/{version_id}/raw", data=form).status_code == 409
    db.expire_all()
    assert db.get(IndicatorSetVersion, version_id).content["title"] == "A 改的标题"
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={**form, "overwrite_hash": _hidden(raw, "overwrite_hash")})
    assert resp.status_code == 302
    db.expire_all()
    content = db.get(IndicatorSetVersion, version_id).content
    assert content["description"] == "B 写的说明" and content["title"] != "A 改的标题"
    assert "已以您的内容覆盖最新草稿" in client.get(resp.location).get_data(as_text=True)


def test_a_json_syntax_error_on_a_stale_page_keeps_the_stale_hash(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    stale = _hash(client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True))
    assert _edit(client, version_id, token, op="set_meta", title="A 改的标题").status_code == 302
    resp = client.post(f"/definitions/indicators/{version_id}/raw",
                       data={"csrf_token": token, "expected_hash": stale, "content": '{"title": "x",}'})
    assert resp.status_code == 400
    assert _hidden(_form(resp.get_data(as_text=True), 'id="raw-content"'), "expected_hash") == stale


def test_a_stale_field_edit_keeps_what_was_typed_and_its_hash_until_the_user_chooses(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    stale = _hash(client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True))
    assert _edit(client, version_id, token, op="update_field", key="households.hh_nonfarm", title="A 改的名称",
                 type="integer", unit="户", minimum="0").status_code == 302
    typed = {"csrf_token": token, "expected_hash": stale, "op": "update_field", "key": "households.hh_nonfarm",
             "title": "非农户", "type": "integer", "unit": "户", "minimum": "0", "maximum": "9999"}
    resp = client.post(f"/definitions/indicators/{version_id}/edit", data=typed)
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    form = _form(body, 'data-edit-field="households.hh_nonfarm"')
    assert _hidden(form, "expected_hash") == stale and 'value="9999"' in form
    assert 'id="conflict"' in form and "以我的内容覆盖" in form
    yours = _table(body, "conflict-yours")
    assert "A 改的名称" in yours and "最大值" in yours  # overwriting would put the old title back
    # the other forms show the newest draft with its hash: their saves are not stale
    assert _hidden(_form(body, 'data-edit-field="households.hh_pure_farm"'), "expected_hash") != stale
    assert client.post(f"/definitions/indicators/{version_id}/edit", data=typed).status_code == 409
    resp = client.post(f"/definitions/indicators/{version_id}/edit",
                       data={**typed, "overwrite_hash": _hidden(form, "overwrite_hash")})
    assert resp.status_code == 302
    db.expire_all()
    field = db.get(IndicatorSetVersion, version_id).content["properties"]["households"]["properties"]["hh_nonfarm"]
    assert (field["title"], field["maximum"]) == ("非农户", 9999)


def test_a_stale_move_offers_the_choice_in_a_form_of_its_own(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    stale = _hash(client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True))
    assert _edit(client, version_id, token, op="set_meta", title="A 改的标题").status_code == 302
    resp = client.post(f"/definitions/indicators/{version_id}/edit", data={
        "csrf_token": token, "expected_hash": stale, "op": "move_field", "key": "households.hh_nonfarm",
        "direction": "up"})
    assert resp.status_code == 409
    form = _form(resp.get_data(as_text=True), 'id="conflict"')
    assert 'name="direction" value="up"' in form and "仍然执行这项修改" in form and "字段顺序" in form


def test_a_json_post_to_a_published_version_shows_the_stored_definition_and_the_text_apart(client, published, db):
    login(client, "admin")
    v2 = db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.version == 2,
                                                     IndicatorSetVersion.code == "village_basic"))
    token = _csrf(client, "/definitions")
    resp = client.post(f"/definitions/indicators/{v2.id}/raw",
                       data={"csrf_token": token, "expected_hash": v2.content_hash, "content": '{"title": "我贴的"}'})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    stored = body[body.index('id="stored-json"'):]
    stored = html.unescape(stored[:stored.index("</pre>")])
    assert json.loads(stored[stored.index(">") + 1:]) == v2.content
    unsaved = html.unescape(body[body.index('id="unsaved"'):])
    assert "您提交的 JSON（未保存）" in unsaved and '{"title": "我贴的"}' in unsaved
    assert "内容不能再改" in body


def test_preview_renders_the_clerk_form_checks_rules_and_stores_nothing(client, collection, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    _edit(client, version_id, token, op="add_field", parent="households", name="broadband_rate",
          title="宽带入户率", type="number", unit="%", relevant="household_total > 0")
    submissions_before = db.scalar(select(func.count(Submission.id)))
    hash_before = db.get(IndicatorSetVersion, version_id).content_hash
    page = client.get(f"/definitions/indicators/{version_id}/preview?page=households").get_data(as_text=True)
    assert "不会保存任何数据" in page and "总户数（户籍）" in page
    assert "宽带入户率" not in page  # hidden: its relevance needs 总户数 > 0
    number = re.search(r'name="__page__" value="(\d+)"', page).group(1)
    form = {"csrf_token": token, "__page__": number, "__preview_data__": "{}",
            "households-household_total": "120", "households-hh_pure_farm": "200",
            "households-hh_farm_part_time": "0", "households-hh_nonfarm_part_time": "0", "households-hh_nonfarm": "0",
            "households-broadband_households": "130", "__refresh__": "1"}
    page = client.post(f"/definitions/indicators/{version_id}/preview", data=form).get_data(as_text=True)
    assert "宽带入户率" in page and 'value="120"' in page
    carried = re.search(r'name="__preview_data__" value="([^"]+)"', page).group(1)
    assert json.loads(carried.replace("&#34;", '"'))["households"]["household_total"] == 120
    form.pop("__refresh__")
    page = client.post(f"/definitions/indicators/{version_id}/preview",
                       data={**form, "__submit__": "1"}).get_data(as_text=True)
    assert "校验未通过" in page and 'id="gr-summary"' in page
    # like the clerk's fill pages: the first page with an error, and the results kept from page to page
    first = int(re.search(r'name="__page__" value="(\d+)"', page).group(1))
    assert first < int(number)  # 基本信息 (page 1) misses its required fields
    action = html.unescape(re.search(r'<form class="gr-form" method="post" action="([^"]+)"', page).group(1))
    assert action.endswith("?check=1")
    carried = html.unescape(re.search(r'name="__preview_data__" value="([^"]+)"', page).group(1))
    page = client.post(action, data={"csrf_token": token, "__page__": str(first), "__preview_data__": carried,
                                     "__goto__": number}).get_data(as_text=True)
    assert re.search(r'name="__page__" value="(\d+)"', page).group(1) == number
    assert "纯农户、农业兼业户、非农业兼业户、非农户之和应等于总户数" in page  # the hh_type_sum rule fired
    assert "校验未通过" in page and page.count("处错误</span>") >= 2  # the steps keep their counts
    db.expire_all()
    assert db.scalar(select(func.count(Submission.id))) == submissions_before
    assert db.get(IndicatorSetVersion, version_id).content_hash == hash_before


def test_compare_lists_changes_and_adopting_a_proposal_adds_the_mapping(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    _edit(client, version_id, token, op="remove_field", key="basic.villager_group_count", confirm="1")
    _edit(client, version_id, token, op="update_field", key="population.pop_total", type="string",
          title="户籍总人口", required="1")
    page = client.get(f"/definitions/indicators/compare/village_basic?to={version_id}").get_data(as_text=True)
    assert "v3 → v4" in page
    assert 'data-key="basic.villager_group_count" data-status="removed"' in page
    assert 'data-key="population.pop_total" data-status="changed"' in page and "整数 → 字符串" in page
    assert "每一项都须采用建议或确认不对应后才能发布" in page
    retyped = re.search(r'data-proposal="population.pop_total".*?</form>', page, re.S).group(0)
    assert 'name="accept"' in retyped and 'name="dismiss"' not in retyped  # a type change: only a mapping
    removed = re.search(r'data-proposal="basic.villager_group_count".*?</form>', page, re.S).group(0)
    assert "确认不对应：已删除" in removed
    back = f"/definitions/indicators/compare/village_basic?to={version_id}"
    resp = client.post(f"/definitions/indicators/{version_id}/proposals",
                       data={"csrf_token": token, "dismiss": "basic.villager_group_count", "back": back,
                             "expected_hash": re.search(r'name="expected_hash" value="([^"]+)"', removed).group(1)})
    assert resp.status_code == 302 and resp.location.endswith(back)
    db.expire_all()
    content = db.get(IndicatorSetVersion, version_id).content
    assert content["x-mappings"] == {"from_version": 3, "fields": [{"kind": "removed", "from": "basic.villager_group_count"}]}
    assert "已记录" in client.get(back).get_data(as_text=True)


def test_publish_needs_confirmation_a_note_and_no_errors_then_is_immutable(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client)
    _edit(client, version_id, token, op="update_field", key="population.pop_total", type="string",
          title="户籍总人口", required="1")
    url = f"/definitions/indicators/{version_id}/publish"
    # each refusal is the page again with the reason in the publish box and what was typed kept
    resp = client.post(url, data={"csrf_token": token, "change_note": "试一下", "confirm": "1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "不能发布：与上一版本的对应关系有 1 项待确认" in page  # the type change
    assert re.search(r'<textarea name="change_note"[^>]*>试一下</textarea>', page)
    _edit(client, version_id, token, op="update_field", key="population.pop_total", type="integer",
          title="户籍总人口", required="1", unit="人", minimum="0")
    resp = client.post(url, data={"csrf_token": token, "change_note": "新增指标"})
    assert resp.status_code == 400 and "请勾选确认后再发布" in resp.get_data(as_text=True)
    assert ">新增指标</textarea>" in resp.get_data(as_text=True)
    resp = client.post(url, data={"csrf_token": token, "change_note": "  ", "confirm": "1"})
    assert resp.status_code == 400 and "请填写变更说明" in resp.get_data(as_text=True)
    db.expire_all()
    assert db.get(IndicatorSetVersion, version_id).status == "draft"
    resp = client.post(url, data={"csrf_token": token, "change_note": "2025 年起按新口径", "confirm": "1"})
    page = client.get(resp.location).get_data(as_text=True)
    assert "已发布" in page and "结构化编辑" not in page and 'id="retire"' in page
    db.expire_all()
    row = db.get(IndicatorSetVersion, version_id)
    assert row.status == "published" and row.change_note == "2025 年起按新口径"
    resp = client.post(f"/definitions/indicators/{version_id}/edit",
                       data={"csrf_token": token, "expected_hash": row.content_hash, "op": "set_meta", "title": "再改"})
    assert resp.status_code == 409 and "内容不能再改" in resp.get_data(as_text=True)
    audit = client.get("/audit").get_data(as_text=True)
    assert 'data-action="publish" data-object="indicator_set:village_basic/v4"' in audit and "2025 年起按新口径" in audit


def test_retire_and_discard(client, published, db):
    login(client, "admin")
    v1 = db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.version == 1,
                                                     IndicatorSetVersion.code == "village_basic"))
    token = _csrf(client, "/definitions")
    resp = client.post(f"/definitions/indicators/{v1.id}/retire",
                       data={"csrf_token": token, "change_note": "已由第 2 版取代", "confirm": "1"})
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(IndicatorSetVersion, v1.id).status == "retired"
    version_id, _ = _new_draft(client)
    resp = client.post(f"/definitions/indicators/{version_id}/discard", data={"csrf_token": token, "confirm": "1"})
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(IndicatorSetVersion, version_id) is None
    audit = client.get("/audit?type=indicator_set").get_data(as_text=True)
    assert "已由第 2 版取代" in audit and "删除草稿" in audit and "停用" in audit


def test_a_second_draft_leads_to_the_open_one(client, published):
    login(client, "admin")
    version_id, token = _new_draft(client)
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": "village_basic"})
    assert resp.location.endswith(f"/definitions/indicators/{version_id}")


def test_new_set_from_scratch(client, published, db):
    login(client, "admin")
    version_id, token = _new_draft(client, code="township_brief", start="scratch")
    assert _edit(client, version_id, token, op="add_field", parent="basic", name="meeting_count", title="会议次数",
                 type="integer", unit="次", minimum="0").status_code == 302
    row = db.get(IndicatorSetVersion, version_id)
    db.refresh(row)
    assert row.version == 1 and row.content["properties"]["basic"]["properties"]["meeting_count"]["x-unit"] == "次"


def test_a_refused_new_draft_keeps_the_code_and_name_and_a_new_code_starts_blank(client, published, db):
    login(client, "admin")
    token = _csrf(client, "/definitions")
    assert 'option value="auto" selected' in client.get("/definitions").get_data(as_text=True)
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": "村级年报",
                                                            "title": "乡镇简报", "start": "auto"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "指标集编码只能用小写字母" in page and 'value="村级年报"' in page and 'value="乡镇简报"' in page
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": "township_brief",
                                                            "title": "乡镇简报", "start": "latest"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "还没有已发布的版本" in page and 'value="township_brief"' in page and 'value="乡镇简报"' in page
    assert 'option value="latest" selected' in page
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": "township_brief",
                                                            "title": "乡镇简报", "start": "auto"})
    assert resp.status_code == 302
    assert "从空白开始" in client.get(resp.location).get_data(as_text=True)
    row = db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.code == "township_brief"))
    assert (row.version, row.title) == (1, "乡镇简报")
    # with a published version, auto starts from it
    resp = client.post("/definitions/indicators/new", data={"csrf_token": token, "code": "village_basic"})
    assert resp.status_code == 302
    db.expire_all()
    draft = db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.code == "village_basic",
                                                        IndicatorSetVersion.status == "draft"))
    assert draft.version == 4 and "land_transfer" in draft.content["properties"]


def test_export_download_and_write_under_definitions(app, client, published, db, tmp_path: Path):
    app.config["GRASSROOTS_SETTINGS"] = dataclasses.replace(app.config["GRASSROOTS_SETTINGS"],
                                                            definitions_path=tmp_path)
    login(client, "admin")
    v2 = db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.version == 2,
                                                     IndicatorSetVersion.code == "village_basic"))
    resp = client.get(f"/definitions/indicators/{v2.id}/export")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="v2.json"'
    assert json.loads(resp.get_data(as_text=True)) == v2.content
    token = _csrf(client, "/definitions")
    client.post(f"/definitions/indicators/{v2.id}/export", data={"csrf_token": token})
    written = tmp_path / "indicators/village_basic/v2.json"
    assert json.loads(written.read_text(encoding="utf-8")) == v2.content
    written.write_text("{}", encoding="utf-8")
    resp = client.post(f"/definitions/indicators/{v2.id}/export", data={"csrf_token": token})
    assert "已存在且内容不同" in client.get(resp.location).get_data(as_text=True)
    assert written.read_text(encoding="utf-8") == "{}"


def test_process_upload_shows_errors_by_element_and_the_diagram(client, published, db):
    login(client, "admin")
    token = _csrf(client, "/definitions")
    broken = V2_BPMN.read_bytes().replace(b'name="\xe4\xb9\xa1\xe9\x95\x87\xe5\xae\xa1\xe6\xa0\xb8\xe5\x91\x98"',
                                          b'name="\xe6\x9d\x91\xe9\x95\xbf"')  # lane 乡镇审核员 -> 村长
    from io import BytesIO

    resp = client.post("/definitions/processes/upload", data={"csrf_token": token, "bpmn": (BytesIO(broken), "v3.bpmn")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "草稿" in page and "第 3 版" in page and 'data-element-id="lane_township"' in page
    assert "村长" in page and "<svg" in page and 'class="shape bpmn-userTask"' in page
    assert 'class="shape bpmn-lane highlight" data-element-id="lane_township"' in page
    resp = client.post("/definitions/processes/upload", data={"csrf_token": token,
                                                              "bpmn": (BytesIO(V2_BPMN.read_bytes()), "v3.bpmn")},
                       content_type="multipart/form-data")
    page = client.get(resp.location).get_data(as_text=True)
    assert 'id="check-ok"' in page
    version_id = int(re.search(r"/definitions/processes/(\d+)", resp.location).group(1))
    compare = client.get(f"/definitions/processes/compare/village_report?to={version_id}").get_data(as_text=True)
    assert "没有变化" in compare  # v3 is v2's file
    refused = client.post(f"/definitions/processes/{version_id}/publish",
                          data={"csrf_token": token, "change_note": "同 v2"})  # not ticked
    assert refused.status_code == 400 and "请勾选确认后再发布" in refused.get_data(as_text=True)
    assert ">同 v2</textarea>" in refused.get_data(as_text=True)  # the note typed is still there
    resp = client.post(f"/definitions/processes/{version_id}/publish",
                       data={"csrf_token": token, "change_note": "同 v2", "confirm": "1"})
    db.expire_all()
    assert db.get(ProcessVersion, version_id).status == "published"
    assert db.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.object_id == "village_report/v3")) == 3


def test_process_compare_shows_the_inserted_review_step(client, published, db):
    login(client, "admin")
    page = client.get("/definitions/processes/compare/village_report").get_data(as_text=True)
    assert "v1 → v2" in page
    assert 'data-key="department_check" data-status="added"' in page and "县级业务部门核查" in page
    assert 'data-key="flow_township_approve" data-status="changed"' in page
    assert "county_review → department_check" in page


def test_a_merge_typed_in_the_mapping_form_names_several_fields(client, published, db):
    """The structured form's one text box takes a merge's several source keys (顿号 or commas), and the
    table shows them for people, not as a Python list."""
    login(client, "admin")
    version_id, token = _new_draft(client)  # v4 from v3
    resp = _edit(client, version_id, token, op="add_mapping", kind="merge",
                 **{"from": "land.land_grass、land.land_other", "to": "land.land_other", "note": "并入其他"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.expire_all()
    [mapping] = db.get(IndicatorSetVersion, version_id).content["x-mappings"]["fields"]
    assert mapping == {"kind": "merge", "from": ["land.land_grass", "land.land_other"], "to": "land.land_other",
                       "note": "并入其他"}
    page = client.get(f"/definitions/indicators/{version_id}").get_data(as_text=True)
    assert "<td>land.land_grass、land.land_other</td>" in page and "[&#39;" not in page
    resp = _edit(client, version_id, token, op="add_mapping", kind="split", **{
        "from": "population.pop_total", "to": "population.pop_total, population.pop_male"})
    db.expire_all()
    split = db.get(IndicatorSetVersion, version_id).content["x-mappings"]["fields"][-1]
    assert split["to"] == ["population.pop_total", "population.pop_male"]


def test_audit_log_in_chinese_and_beijing_time(client, collection, db):
    """Every action and object the engine records has a Chinese name on the audit page (read from the
    calls of engine.audit.record, so a new action cannot slip through), and times are Beijing time."""
    import datetime as dt
    import re
    from pathlib import Path

    from admin_ui.workbench_pages import AUDIT_ACTIONS, AUDIT_OBJECTS
    from engine.audit import record
    from engine.db.models import AuditEntry

    calls = re.compile(r'record\(\s*[\w.]+,\s*[^,]+,\s*(f?)"([a-z_{}]+)",\s*(?:"([a-z_]+)"|[^,]+),', re.S)
    recorded = set()
    for path in (Path(__file__).resolve().parents[2] / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for fstring, action, obj in calls.findall(text):
            recorded |= {"review_approve", "review_return"} if fstring else {action}
            assert not obj or obj in AUDIT_OBJECTS, (path, obj)
        # audit rows written with a batch (engine.tasks: the submit's)
        recorded |= set(re.findall(r'"action": "([a-z_]+)"', text))
        assert set(re.findall(r'"object_type": "([a-z_]+)"', text)) <= set(AUDIT_OBJECTS)
    assert recorded and recorded <= set(AUDIT_ACTIONS), recorded - set(AUDIT_ACTIONS)
    assert {"start", "submit", "review_approve", "publish"} <= recorded

    record(db, None, "review_approve", "submission", "7", {})
    db.flush()
    entry = db.query(AuditEntry).filter_by(action="review_approve").one()
    entry.at = dt.datetime(2026, 11, 23, 14, 24, 5, tzinfo=dt.UTC)
    db.commit()
    login(client, "admin")
    page = client.get("/audit").get_data(as_text=True)
    row = page[page.index('data-action="review_approve"'):]
    row = row[:row.index("</tr>")]
    assert "2026-11-23 22:24:05" in row and "审核通过" in row and "填报表 7" in row
    assert "review_approve" not in row.split(">", 1)[1]
