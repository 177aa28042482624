"""The village clerk's pages through the real Flask app (CSRF on): list, fill, submit, conflicts, history."""

from __future__ import annotations

import copy
import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from engine import submissions, tasks
from engine.db.models import Collection, Submission
from engine.forms import formdata_for, page_for, pages
from engine.tasks import InboxFilter, inbox_query
from tests.conftest import login, principal_of, valid_report

XIKOU = "390121101201"
ELDER = {"seq": "1", "name": "赵大山", "id_number": "390121193205120013", "hukou_address": "岭下村1组",
         "bank_account": "6228000000000001", "monthly_amount": "200", "status": "续发"}


def sub_of(db, collection, org=XIKOU) -> Submission:
    db.expire_all()
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == org))


def model(db, sub):
    return submissions.model_for(db, sub)


def text_of(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def hidden(page_html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page_html).group(1)


def no(ind, page_id: str) -> int:
    """A page's number: tests name pages by id, the order comes from the stored definition."""
    return page_for(ind, page_id).number


def page_fields(ind, page_id: str, doc: dict) -> dict[str, str]:
    """What a browser posts for the page ``page_id`` when it shows ``doc``."""
    names = tuple(spec.name for spec in page_for(ind, page_id).specs)
    return {k: v for k, v in formdata_for(ind, doc).items() if k.split("-")[0] in names}


def post(client, url: str, fields: dict[str, str], button: str, *, revision: str | None = None):
    """Post a fill page as the browser does: its hidden fields (read from the page), fields, the button."""
    page = client.get(url).get_data(as_text=True)
    form = {"csrf_token": hidden(page, "csrf_token"),
            "__revision__": hidden(page, "__revision__") if revision is None else revision}
    return client.post(url, data={**form, **fields, button: "1"})


def fill_url(sub, number: int) -> str:
    return f"/submissions/{sub.id}/page/{number}"


@pytest.fixture
def clerk(client, collection):
    login(client, "clerk_xikou")
    return client


def store(db, sub, data, user="clerk_xikou"):
    submissions.save_draft(db, principal_of(db, user), sub.id, data, revision=sub.revision)
    db.commit()


def test_my_submissions_lists_only_the_clerks_reports(clerk, collection, db):
    body = text_of(clerk.get("/submissions"))
    sub = sub_of(db, collection)
    assert "2024年村级基本情况年报" in body
    assert body.count("data-submission=") == 1
    assert f'data-submission="{sub.id}"' in body
    assert "未开始" in body and "开始填写" in body
    # the step's deadline (the flow's timer) and the collection's, each named, never one for the other
    assert re.search(r"本环节截止 \d{4}-\d\d-\d\d \d\d:\d\d · 采集截止 2025-03-31", body), body
    assert f"/submissions/{sub.id}/fill" in body
    assert "我的填报" in text_of(clerk.get("/"))


def test_the_clerks_list_calls_a_step_late_as_the_inbox_does(clerk, collection, db):
    sub = sub_of(db, collection)
    assert "已逾期" not in text_of(clerk.get("/submissions"))
    task = submissions.ready_entry_task(db, sub.id)
    task.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)  # the step's deadline passed, no timer fired
    db.commit()
    assert "已逾期" in text_of(clerk.get("/submissions"))


def test_reviewers_have_no_clerk_list(client, collection):
    login(client, "rev_yunxi")
    assert client.get("/submissions").status_code == 403


def test_draft_saved_on_next_and_resumed_in_a_new_session(clerk, collection, db, app):
    sub = sub_of(db, collection)
    ind = model(db, sub)
    hh = no(ind, "households")
    resp = post(clerk, fill_url(sub, hh), page_fields(ind, "households", valid_report()), "__next__")
    assert resp.status_code == 302 and resp.location.endswith(f"{fill_url(sub, hh + 1)}?saved={hh}")
    sub = sub_of(db, collection)
    assert sub.revision == 1 and sub.status == "draft"
    assert sub.data.get("households", {}).get("household_total") == 420, sub.data
    # saving again without changes stores no new revision, and says it is saved
    resp = post(clerk, fill_url(sub, hh), page_fields(ind, "households", valid_report()), "__save__")
    assert "草稿已保存" in text_of(clerk.get(resp.location))
    assert sub_of(db, collection).revision == 1
    other = app.test_client()
    login(other, "clerk_xikou")
    body = text_of(other.get(fill_url(sub, hh)))
    assert 'value="420"' in body and 'value="120"' in body
    assert f"第 {hh} / 10 页" in body


def test_typed_invalid_value_is_kept_as_typed(clerk, collection, db):
    sub = sub_of(db, collection)
    hh = no(model(db, sub), "households")
    post(clerk, fill_url(sub, hh), {"households-household_total": "12a"}, "__save__")
    assert sub_of(db, collection).data["households"]["household_total"] == "12a"
    assert 'value="12a"' in text_of(clerk.get(fill_url(sub, hh)))


def test_submit_with_errors_jumps_to_the_field_and_keeps_data(clerk, collection, db):
    sub = sub_of(db, collection)
    bad = valid_report()
    bad["population"]["pop_male"] += 1
    store(db, sub, bad)
    ind = model(db, sub)
    last = pages(ind)[-1]
    resp = post(clerk, fill_url(sub, last.number), page_fields(ind, last.id, bad), "__submit__")
    # the only error is on the population page, which is where the user is taken
    assert resp.status_code == 302 and resp.location.endswith(fill_url(sub, no(ind, "population")) + "?check=1")
    body = text_of(clerk.get(resp.location))
    assert "提交未成功" in body
    error = re.search(r'<p class="gr-error" id="population-pop_total-error">(.*?)</p>', body, re.S).group(1)
    assert "男、女人口之和应等于户籍总人口" in error
    # the summary at the top lists it, as a link to the field
    summary = summary_of(body)
    assert "本页有 1 处需要修改" in summary
    assert re.search(r'<a href="#population-pop_total">户籍总人口：[^<]*男、女人口之和应等于户籍总人口', summary)
    field = re.search(r'<input[^>]*id="population-pop_total"[^>]*>', body).group(0)
    assert "population-pop_total-error" in field and 'aria-invalid="true"' in field
    assert 'value="691"' in body  # what was typed is still there
    sub = sub_of(db, collection)
    assert sub.status == "draft" and sub.data["population"]["pop_male"] == 691
    # fixing the field on its page and submitting from there hands the report on
    fixed = page_fields(ind, "population", valid_report())
    resp = post(clerk, resp.location, fixed, "__submit__")
    assert resp.location.endswith(f"/submissions/{sub.id}")
    assert "提交成功" in text_of(clerk.get(resp.location))
    assert sub_of(db, collection).status == "submitted"


def test_soft_warning_needs_an_explanation_then_submits(clerk, collection, db):
    sub = sub_of(db, collection)
    doc = valid_report()
    doc["population"]["resident_pop"] = 500
    store(db, sub, doc)
    ind = model(db, sub)
    resp = post(clerk, fill_url(sub, no(ind, "population")), page_fields(ind, "population", doc), "__submit__")
    body = text_of(clerk.get(resp.location))
    assert "常住人口与户籍总人口相差超过 50%，请核实" in body
    assert 'name="explain__resident_within_half"' in body
    resp = post(clerk, resp.location, {**page_fields(ind, "population", doc), "explain__resident_within_half": "外出务工多，已核实"},
                "__submit__")
    assert resp.location.endswith(f"/submissions/{sub.id}")
    sub = sub_of(db, collection)
    assert sub.status == "submitted" and sub.explanations == {"resident_within_half": "外出务工多，已核实"}


@pytest.fixture
def elderly(published, db):
    from engine.collections import start_collection

    started = start_collection(
        db, title="2024年10月高龄津贴花名册", period="2024-10", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "elderly_allowance", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2024, 10, 1), deadline=dt.date(2024, 11, 10),
    )
    db.commit()
    return started.collection


def test_rows_added_and_removed_without_javascript_keep_what_was_typed(clerk, elderly, db):
    sub = sub_of(db, elderly)
    url = fill_url(sub, no(model(db, sub), "elders"))
    resp = post(clerk, url, {}, "__add__elders")
    body = text_of(resp)
    assert resp.status_code == 200 and "第 1 行" in body and 'name="elders-0-name"' in body
    revision = hidden(body, "__revision__")
    first = {f"elders-0-{k}": v for k, v in ELDER.items()}
    second = {**{f"elders-1-{k}": v for k, v in ELDER.items()}, "elders-1-seq": "2", "elders-1-name": "钱秀英"}
    body = text_of(post(clerk, url, first, "__add__elders", revision=revision))
    assert "第 2 行" in body and 'value="赵大山"' in body
    body = text_of(post(clerk, url, {**first, **second}, "__remove__elders__0", revision=revision))
    assert 'value="钱秀英"' in body and 'value="赵大山"' not in body and "第 2 行" not in body
    assert sub_of(db, elderly).revision == 0  # row buttons store nothing by themselves
    kept = {k.replace("elders-1-", "elders-0-"): v for k, v in second.items()}
    post(clerk, url, kept, "__save__", revision=revision)
    assert [row["name"] for row in sub_of(db, elderly).data["elders"]] == ["钱秀英"]


def test_stale_revision_shows_a_message_and_keeps_the_users_values(clerk, collection, db):
    sub = sub_of(db, collection)
    url = fill_url(sub, no(model(db, sub), "population"))
    page = clerk.get(url).get_data(as_text=True)
    seen_revision = hidden(page, "__revision__")
    # meanwhile someone else saves the report
    store(db, sub, {"population": {"pop_total": 1000}})
    resp = clerk.post(url, data={"csrf_token": hidden(page, "csrf_token"), "__revision__": seen_revision,
                                              "population-pop_total": "1350", "population-pop_male": "690",
                                              "__save__": "1"})
    body = text_of(resp)
    assert resp.status_code == 409
    assert "保存未生效" in body and "已被他人修改" in body and "当前已是第 1 次保存" in body
    assert 'value="1350"' in body and 'value="690"' in body  # the unsaved values are still in the form
    assert "已保存的最新内容" in body and "户籍总人口" in body
    assert hidden(body, "__revision__") == "1"
    assert "此表已不能在此修改" not in body  # still editable: the form stays, to save over knowingly
    assert sub_of(db, collection).data == {"population": {"pop_total": 1000}}
    # saving again, knowingly, over the latest revision works
    resp = clerk.post(url, data={"csrf_token": hidden(page, "csrf_token"), "__revision__": "1",
                                              "population-pop_total": "1350", "population-pop_male": "690",
                                              "__save__": "1"})
    assert resp.status_code == 302
    assert sub_of(db, collection).data["population"] == {"pop_total": 1350, "pop_male": 690}


def test_post_without_csrf_token_is_refused(clerk, collection, db):
    sub = sub_of(db, collection)
    resp = clerk.post(fill_url(sub, 1), data={"__revision__": "0", "households-household_total": "1", "__save__": "1"})
    assert resp.status_code == 400 and "页面已过期" in text_of(resp)
    assert sub_of(db, collection).revision == 0


@pytest.mark.parametrize("path", ["", "/page/1", "/history", "/fill"])
def test_out_of_scope_is_404(client, collection, db, path):
    sub = sub_of(db, collection)
    for username in ("clerk_shangjie", "rev_baishi"):
        login(client, username)
        resp = client.get(f"/submissions/{sub.id}{path}")
        assert resp.status_code == 404 and "不存在" in text_of(resp)


def submit_and_return(db, collection, field_comments):
    sub = sub_of(db, collection)
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=sub.revision)
    assert out.submitted
    db.commit()
    task = db.execute(inbox_query(principal_of(db, "rev_yunxi"), InboxFilter())).first()[0]
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), task.id,
                          {"decision": "return", "comment": "请核实户数", "field_comments": field_comments})
    db.commit()
    return sub_of(db, collection)


def test_returned_report_shows_reviewer_comments_on_the_fields(clerk, collection, db):
    sub = submit_and_return(db, collection, {"households.household_total": "总户数与户籍底册不符",
                                             "land_transfer.cultivated.lease": "流转面积请核对"})
    resp = clerk.get(f"/submissions/{sub.id}/fill")
    ind = model(db, sub)
    hh, grid = no(ind, "households"), no(ind, "land_transfer")
    assert resp.location.endswith(fill_url(sub, min(hh, grid)))  # opens on the first commented page
    resp = clerk.get(fill_url(sub, hh))
    body = text_of(resp)
    help_text = re.search(r'<p class="gr-help" id="households-household_total-help">(.*?)</p>', body, re.S).group(1)
    assert '<span class="gr-field-comment">审核意见：总户数与户籍底册不符</span>' in help_text
    field = re.search(r'<input[^>]*id="households-household_total"[^>]*>', body).group(0)
    assert "households-household_total-help" in field
    assert "审核退回意见" in body and "请核实户数" in body and f"第 {grid} 页 · 土地流转 · 耕地 · 出租" in body
    # each comment links to its field: the page, and the field's own id on it
    link = re.search(r'<a href="([^"#]+)#([^"]+)">第 ' + str(hh) + r' 页 · [^<]*总户数[^<]*</a>：总户数与户籍底册不符', body)
    assert link and link.group(1) == fill_url(sub, hh) and f'id="{link.group(2)}"' in body
    grid_page = text_of(clerk.get(fill_url(sub, grid)))  # grid cells have no help text: shown above the form
    cell = re.search(r'<a href="[^"#]+#([^"]+)">第 \d+ 页 · 土地流转 · 耕地 · 出租</a>', grid_page).group(1)
    assert f'id="{cell}"' in grid_page
    assert re.search(r'class="gr-field-comment">审核意见（土地流转 · 耕地 · 出租）：流转面积请核对', grid_page)
    # moving on without changing anything stores no new revision (calculated values are not posted)
    post(clerk, fill_url(sub, hh), page_fields(ind, "households", valid_report()), "__next__")
    assert sub_of(db, collection).revision == sub.revision


def test_the_village_sees_a_return_note_only_while_the_report_is_back_with_it(clerk, collection, db):
    sub = sub_of(db, collection)
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(),
                              revision=sub.revision).submitted
    db.commit()
    task = db.execute(inbox_query(principal_of(db, "rev_yunxi"), InboxFilter())).first()[0]
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), task.id, {"decision": "approve", "comment": "同意"})
    db.commit()
    county = db.execute(inbox_query(principal_of(db, "rev_county"), InboxFilter())).first()[0]
    tasks.complete_review(db, principal_of(db, "rev_county"), county.id,
                          {"decision": "return", "comment": "耕地面积与国土三调不符",
                           "field_comments": {"population.pop_total": "请乡镇核对"}})
    db.commit()
    # sent back to the township, not to the village: nothing for the clerk to act on
    body = text_of(clerk.get(f"/submissions/{sub.id}"))
    assert "审核退回意见" not in body and "请乡镇核对" not in body and "填写 / 修改" not in body


def test_comments_are_escaped(clerk, collection, db):
    sub = submit_and_return(db, collection, {"households.household_total": "<script>alert(1)</script>"})
    body = clerk.get(fill_url(sub, no(model(db, sub), "households"))).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_reviewer_sees_a_read_only_table_with_comments(client, collection, db):
    sub = submit_and_return(db, collection, {"population.pop_total": "请核对"})
    login(client, "rev_county")
    assert client.get(fill_url(sub, 1)).location.endswith(f"/submissions/{sub.id}")
    body = text_of(client.get(f"/submissions/{sub.id}"))
    assert "已退回" in body and "填写 / 修改" not in body and "<form class=\"gr-form\"" not in body
    row = re.search(r"<tr><th scope=\"row\">户籍总人口</th>(.*?)</tr>", body, re.S).group(1)
    assert "1350" in row and "人" in row and "审核意见：请核对" in row
    assert "村（社区）名称" in body and "岭下村" in body
    assert "户均人口" in body and "3.21" in body


def test_viewer_without_the_right_sees_personal_fields_masked(client, elderly, db):
    from tests.db.test_exports import approve, elderly_report, submit

    sub = submit(db, elderly, XIKOU, "clerk_xikou", elderly_report(XIKOU, (1,)))  # 赵大山, 200 a month
    approve(db, "rev_yunxi", sub)  # the viewer reads approved reports only
    login(client, "viewer")
    body = text_of(client.get(f"/submissions/{sub.id}"))
    assert "赵大山" not in body and "390121193205120013" not in body and "***" in body
    assert "200" in body and "个人信息的内容已隐藏" in body


def test_history_shows_that_a_personal_field_changed_without_its_values(client, elderly, db):
    sub = sub_of(db, elderly)
    row = {"seq": 1, "name": "赵大山", "id_number": "390121193205120013", "monthly_amount": 200}
    store(db, sub, {"elders": [row]})
    store(db, sub_of(db, elderly), {"elders": [dict(row, name="赵大三", monthly_amount=300)]})
    login(client, "admin")  # follows the flow, may not read personal data
    body = text_of(client.get(f"/submissions/{sub.id}/history?from=1&to=2"))
    assert "共 2 处不同" in body and "内容相同" not in body
    assert "赵大山" not in body and "赵大三" not in body
    assert re.search(r"姓名（第1行）.*?\*\*\*.*?\*\*\*", body, re.S)


def test_history_lists_revisions_steps_and_a_diff(clerk, collection, db):
    sub = sub_of(db, collection)
    ind = model(db, sub)
    first = valid_report()
    url = fill_url(sub, no(ind, "population"))
    post(clerk, url, page_fields(ind, "population", first), "__save__")
    changed = copy.deepcopy(first)
    changed["population"]["pop_total"] = 1400
    del changed["population"]["resident_pop"]
    post(clerk, url, page_fields(ind, "population", changed), "__save__")
    sub = submit_and_return(db, collection, {"population.pop_total": "请核对"})
    body = text_of(clerk.get(f"/submissions/{sub.id}/history?from=1&to=2"))
    diff = re.search(r'<table id="diff">(.*?)</table>', body, re.S).group(1)
    assert "第 1 次保存 → 第 2 次保存：共 2 处不同" in diff
    assert re.search(r"户籍总人口</th><td>1350</td><td>1400</td>", diff)
    assert re.search(r"常住人口</th><td>1100</td><td>—</td>", diff)
    revisions = re.search(r'<table id="revisions"[^>]*>(.*?)</table>', body, re.S).group(1)
    assert revisions.count("保存草稿") == 2 and "提交" in revisions and "clerk_xikou" in revisions
    steps = re.search(r'<ol class="sub-steps" id="steps">(.*?)</ol>', body, re.S).group(1)
    assert "村级填报" in steps and "乡镇审核" in steps and "退回" in steps and "请核实户数" in steps
    assert "户籍总人口：请核对" in steps and "rev_yunxi" in steps
    assert '<option value="2" selected>' in body
    # the tables scroll sideways in boxes reached and scrolled from the keyboard
    assert body.count('<div class="table-wrap" tabindex="0" role="region" aria-label="') == 2
    assert "所选的保存记录不存在" in text_of(clerk.get(f"/submissions/{sub.id}/history?from=99"))


def test_closed_collection_is_read_only(clerk, collection, db):
    sub = sub_of(db, collection)
    url = fill_url(sub, no(model(db, sub), "households"))
    page = clerk.get(url).get_data(as_text=True)
    db.get(Collection, collection.id).status = "closed"
    db.commit()
    resp = clerk.post(url, data={"csrf_token": hidden(page, "csrf_token"), "__revision__": "0",
                                 "households-household_total": "420", "__save__": "1"})
    body = text_of(resp)
    assert resp.status_code == 409 and "本次采集已关闭" in body and 'value="420"' in body
    # the values stay on screen, read-only: no button offers a save that cannot happen
    assert "此表已不能在此修改" in body and "<fieldset disabled" in body
    assert "保存草稿" not in body and 'name="__submit__"' not in body and "<form class=\"gr-form\"" not in body
    assert clerk.get(url).status_code == 302
    assert "目前没有需要填报的表" in text_of(clerk.get("/submissions"))  # only open collections are listed


def test_a_report_whose_flow_ended_without_approval_says_so_on_its_fill_page(client, published, db):
    """An interrupting entry deadline in a version published before the checker refused it ends the flow:
    the clerk is told the flow ended without final approval, not that the report "is not started"."""
    from tests.db.test_flow_service import launch, published_before_the_checks, v1_with

    bpmn = v1_with(('cancelActivity="false"', 'cancelActivity="true"'))
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(days=15))
    db.commit()
    login(client, "clerk_xikou")
    page = text_of(client.get(fill_url(sub_of(db, collection), 1), follow_redirects=True))
    assert submissions.ENDED_UNAPPROVED in page and "不能修改，以下为只读内容" not in page


def summary_of(body: str) -> str:
    return re.search(r'<div class="gr-summary"[^>]*>(.*?)</div>', body, re.S).group(1)


def test_a_saved_page_marks_what_is_wrong_with_its_values_and_saves_them(clerk, collection, db):
    """保存草稿 keeps whatever is typed, and the page then says what is wrong: at the field, and in the summary
    as a link to it. Blanks wait for the submit: a half-filled draft is normal."""
    sub = sub_of(db, collection)
    ind = model(db, sub)
    basic = fill_url(sub, no(ind, "basic"))
    resp = post(clerk, basic, {"basic-division_code": "39012110120", "basic-villager_group_count": "一"}, "__save__")
    assert resp.status_code == 302 and resp.location.endswith(basic)
    assert sub_of(db, collection).data["basic"] == {"division_code": "39012110120", "villager_group_count": "一"}
    body = text_of(clerk.get(resp.location))
    assert "草稿已保存" in body
    summary = summary_of(body)
    assert "本页有 2 处需要修改" in summary
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', summary)
    assert links == [("basic-division_code", "统计用区划代码：格式不正确，请检查后重新填写"),
                     ("basic-villager_group_count", "村民小组数：请输入整数")]
    for anchor, _text in links:
        field = re.search(rf'<input[^>]*id="{anchor}"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in field and f"{anchor}-error" in field
    # the required 报告年度 and 村名 are blank: not marked until the submit's check
    assert "此项为必填项" not in body
    assert 'id="basic-report_year-error"' not in body


def test_moving_on_names_the_problems_of_the_page_left_with_links_back(clerk, collection, db):
    sub = sub_of(db, collection)
    ind = model(db, sub)
    basic, hh = no(ind, "basic"), no(ind, "households")
    resp = post(clerk, fill_url(sub, basic), {"basic-division_code": "39012110120"}, "__next__")
    assert resp.status_code == 302 and resp.location.endswith(f"{fill_url(sub, hh)}?saved={basic}")
    assert sub_of(db, collection).data["basic"]["division_code"] == "39012110120"  # saved all the same
    body = text_of(clerk.get(resp.location))
    left = re.search(r'<section class="gr-left"[^>]*>(.*?)</section>', body, re.S).group(1)
    assert f"刚才填写的第 {basic} 页“基本信息”有 1 处需要修改" in left
    link = re.search(r'<a href="([^"]+)">统计用区划代码：格式不正确，请检查后重新填写</a>', left).group(1)
    assert link == f"{fill_url(sub, basic)}#basic-division_code"
    assert f'<a href="{fill_url(sub, basic)}">回到第 {basic} 页修改</a>' in left
    assert 'class="gr-summary"' not in body  # nothing wrong on this page itself
    # the step list shows where the problem is from every page
    step = re.search(rf'<button type="submit" name="__goto__" value="{basic}"[^>]*>(.*?)</button>', body, re.S).group(1)
    assert "1 处错误" in step
    # the link lands on the field
    back = text_of(clerk.get(link.split("#")[0]))
    assert 'id="basic-division_code-error"' in back and "gr-left" not in back
    # a page left without problems says nothing; neither does a page number no page has
    resp = post(clerk, fill_url(sub, hh), page_fields(ind, "households", valid_report()), "__next__")
    assert "gr-left" not in text_of(clerk.get(resp.location))
    assert "gr-left" not in text_of(clerk.get(f"{fill_url(sub, hh)}?saved=99"))


def test_a_long_remark_and_a_wrong_month_are_marked_on_save(clerk, elderly, db):
    sub = sub_of(db, elderly)
    ind = model(db, sub)
    header = fill_url(sub, no(ind, "header"))
    resp = post(clerk, header, {"header-period": "2026年11月", "header-filler_phone": "1390000123"}, "__save__")
    body = text_of(clerk.get(resp.location))
    assert "本页有 2 处需要修改" in body
    assert '<a href="#header-period">发放月份：格式不正确，请检查后重新填写</a>' in body
    assert '<a href="#header-filler_phone">联系电话：格式不正确，请检查后重新填写</a>' in body
    assert sub_of(db, elderly).data["header"]["period"] == "2026年11月"


def test_the_header_of_an_unsaved_report_says_draft_not_version_0(clerk, collection, db):
    sub = sub_of(db, collection)
    body = text_of(clerk.get(fill_url(sub, 1)))
    head = re.search(r'<div class="sub-head">(.*?)</div>', body, re.S).group(1)
    assert "草稿（尚未保存）" in head and "第 0 次保存" not in head and "未开始" not in head
    assert "指标集第 1 版" in head
    post(clerk, fill_url(sub, 1), {"basic-village_name": "岭下村"}, "__save__")
    head = re.search(r'<div class="sub-head">(.*?)</div>', text_of(clerk.get(fill_url(sub, 1))), re.S).group(1)
    assert "草稿" in head and "指标集第 1 版 · 第 1 次保存" in re.sub(r"<[^>]+>", "", head) and "尚未保存" not in head


def test_a_length_limit_is_shown_not_enforced_by_the_browser(clerk, collection, db):
    """maxlength would cut a pasted remark short without a word (what was cut is lost): the limit is shown,
    counted by forms.js, and checked by the server."""
    sub = sub_of(db, collection)
    body = text_of(clerk.get(fill_url(sub, no(model(db, sub), "filler"))))
    remarks = re.search(r'<textarea[^>]*id="filler-remarks"[^>]*>', body).group(0)
    assert not re.search(r"\smaxlength=", remarks) and 'data-gr-maxlength="500"' in remarks
    assert "filler-remarks-count" in re.search(r'aria-describedby="([^"]*)"', remarks).group(1)
    assert '<p class="gr-help gr-count" id="filler-remarks-count">最多 500 字</p>' in body
    name = re.search(r'<input[^>]*id="filler-filler_name"[^>]*>', body).group(0)
    assert not re.search(r"\smaxlength=", name) and 'data-gr-maxlength="20"' in name


def test_error_pages_say_which_error_in_a_short_title(client, collection, db, app):
    """Not 出错了 every time: a title per kind of error (the <title> and the <h1>), the message below it."""
    def title_and_h1(resp):
        body = text_of(resp)
        return (re.search(r"<title>(.*?) · ", body).group(1), re.search(r"<h1>(.*?)</h1>", body, re.S).group(1), body)

    login(client, "clerk_xikou")
    sub = sub_of(db, collection)
    seen = {}
    for status, resp in ((404, client.get("/submissions/999999")), (404, client.get("/no-such-page")),
                         (405, client.put("/submissions")),
                         (400, client.post(fill_url(sub, 1), data={"__save__": "1"}))):  # no CSRF token
        assert resp.status_code == status
        title, h1, body = title_and_h1(resp)
        assert title == h1 and "出错了" not in body and f'<p class="muted error-code">错误代码 {status}</p>' in body
        seen.setdefault(status, set()).add(h1)
    assert seen == {404: {"页面不存在"}, 405: {"不支持此操作"}, 400: {"页面已过期"}}
    body = text_of(client.post(fill_url(sub, 1), data={"__save__": "1"}))
    assert re.search(r'<p class="error-message">页面已过期（可能已在其他窗口退出或重新登录）', body)  # not in the <h1>
    login(client, "rev_yunxi")
    title, h1, body = title_and_h1(client.get("/submissions"))
    assert h1 == "无权访问"


def test_the_completeness_footer_has_no_empty_header_cell(client, collection):
    login(client, "admin")
    body = text_of(client.get(f"/collections/{collection.id}"))
    footer = re.search(r"<tfoot>(.*?)</tfoot>", body, re.S).group(1)
    assert "<th></th>" not in footer and footer.rstrip().endswith("<td></td></tr>")


def test_a_text_far_too_long_is_refused_at_its_field_and_kept_on_the_page(clerk, collection, db):
    """engine.report_limits on the fill page: a text far beyond its field's maxLength (a paste gone wrong)
    is not stored; the page comes back as posted, with the reason at the field and nothing typed lost."""
    sub = sub_of(db, collection)
    ind = model(db, sub)
    filler = fill_url(sub, no(ind, "filler"))
    before = (sub.revision, sub.data)
    pasted = "张" * 2001  # 填表人: maxLength 20, so at most 2,000 characters are stored
    resp = post(clerk, filler, {"filler-filler_name": pasted, "filler-unit_head": "李四"}, "__save__")
    assert resp.status_code == 400
    body = text_of(resp)
    assert f'value="{pasted}"' in body and 'value="李四"' in body
    notice = re.search(r'<div class="flash flash-error" role="alert" id="gr-notice"[^>]*>(.*?)</div>', body, re.S)
    assert "本次未保存：有 1 项内容过长，请删减（填报人 · 填表人）" in notice.group(1)
    field = re.search(r'<input[^>]*id="filler-filler_name"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in field
    error = re.search(r'id="filler-filler_name-error"[^>]*>(.*?)</p>', body, re.S).group(1)
    assert "超过 2000 个字的内容不能保存" in error
    assert "最多填写 20 个字" in error and "现在 2001 个字" not in body  # the refusal, not the usual problem too
    stored = sub_of(db, collection)
    assert (stored.revision, stored.data) == before
    # the submit button is refused the same way, and a text a little too long is saved as usual
    resp = post(clerk, filler, {"filler-filler_name": pasted}, "__submit__")
    assert resp.status_code == 400 and f'value="{pasted}"' in text_of(resp)
    resp = post(clerk, filler, {"filler-filler_name": "张" * 25}, "__save__")
    assert resp.status_code == 302 and sub_of(db, collection).data["filler"]["filler_name"] == "张" * 25


def test_keys_an_api_client_stored_do_not_block_the_fill_page(clerk, collection, db):
    """A draft stored before engine.report_limits with keys the definition does not have: the page (which
    never shows them) saves without them instead of being refused at every save."""
    from sqlalchemy import text

    sub = sub_of(db, collection)
    ind = model(db, sub)
    db.execute(text("UPDATE submissions SET data = CAST(:data AS jsonb), explanations = CAST(:e AS jsonb),"
                    " revision = 1, status = 'draft' WHERE id = :id"),
               {"id": sub.id, "data": '{"qa": 1, "households": {"k": 2, "household_total": 420}}',
                "e": '{"no_such_rule": "x", "resident_within_half": "已核实"}'})
    db.commit()
    resp = post(clerk, fill_url(sub, no(ind, "households")), {"households-household_total": "421"}, "__save__")
    assert resp.status_code == 302, text_of(resp)[:500]
    stored = sub_of(db, collection)
    assert stored.revision == 2 and stored.data["households"] == {"household_total": 421}
    assert "qa" not in stored.data and stored.explanations == {"resident_within_half": "已核实"}
