"""The inbox and review pages through the real Flask app (CSRF on): lists, filters, the review form,
its errors, conflicts, scope and bulk approval."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from engine import submissions, tasks
from engine.db.models import Submission, WorkflowTask
from tests.conftest import PASSWORD, login, principal_of, valid_report

XIKOU, SHANGJIE = "390121101201", "390121101202"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def submit_valid(db, collection, org=XIKOU, user="clerk_xikou", data=None) -> Submission:
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == org))
    out = submissions.submit(db, principal_of(db, user), sub.id, data or valid_report(), revision=sub.revision)
    assert out.submitted
    db.commit()
    return out.submission


def ready(db, sub_id: int) -> WorkflowTask:
    return db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub_id, WorkflowTask.state == "ready"))


def units(html: str) -> list[str]:
    """Subject unit codes of the inbox rows, in order."""
    return re.findall(r'<tr data-task-id="\d+" data-unit="(\d+)">', html)


def as_user(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


@pytest.fixture
def township(app, collection):
    return as_user(app, "rev_yunxi")


@pytest.fixture
def colleague(collection, db):
    """A second township reviewer at 云溪镇: they share the inbox with rev_yunxi."""
    from engine.auth import create_user

    create_user(db, "rev_yunxi_2", PASSWORD, roles=[("township_reviewer", "390121101000")])
    db.commit()
    return principal_of(db, "rev_yunxi_2")


def test_nav_shows_the_inbox_to_the_roles_that_work_tasks(app, collection):
    assert "待办任务" in text(as_user(app, "rev_yunxi").get("/"))
    assert "待办任务" in text(as_user(app, "clerk_xikou").get("/"))
    assert "待办任务" not in text(as_user(app, "viewer").get("/"))


def test_inbox_lists_units_statuses_due_dates_and_overdue(township, collection, db):
    sub = submit_valid(db, collection)
    page = text(township.get("/tasks"))
    assert "溪口村委会" in page and XIKOU in page and "2024年村级基本情况年报" in page
    assert "乡镇审核" in page and "已提交待审核" in page and "共 1 项待办" in page
    task = ready(db, sub.id)
    assert task.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M") in page
    assert 'class="badge overdue"' not in page
    # a passed displayed deadline (the review's `due` property) counts as late
    task.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    db.commit()
    page = text(township.get("/tasks"))
    assert 'class="badge overdue">逾期' in page
    assert "共 1 项待办" in text(township.get("/tasks?overdue=true"))
    assert "共 0 项待办" in text(township.get("/tasks?overdue=false"))


def test_inbox_filters_sort_and_paginate(app, collection, db):
    submit_valid(db, collection)
    submit_valid(db, collection, SHANGJIE, "clerk_shangjie")
    township = as_user(app, "rev_yunxi")
    first = text(township.get("/tasks?sort=unit&per_page=1"))
    assert "共 2 项待办，第 1 / 2 页" in first and units(first) == [XIKOU] and "下一页" in first
    second = text(township.get("/tasks?sort=unit&per_page=1&page=2"))
    assert units(second) == [SHANGJIE] and "上一页" in second
    assert units(text(township.get("/tasks?sort=unit"))) == [XIKOU, SHANGJIE]
    only_shangjie = text(township.get(f"/tasks?org={SHANGJIE}"))
    assert units(only_shangjie) == [SHANGJIE] and f'<option value="{SHANGJIE}" selected>' in only_shangjie
    assert "共 0 项待办" in text(township.get("/tasks?kind=entry"))
    assert "共 2 项待办" in text(township.get(f"/tasks?collection_id={collection.id}&kind=review"))
    bad = township.get("/tasks?sort=nonsense")
    assert bad.status_code == 400 and "排序方式只能是" in text(bad) and "共 2 项待办" in text(bad)
    clerk = text(as_user(app, "clerk_xikou").get("/tasks"))
    assert "共 0 项待办" in clerk  # submitted: the entry task is done


def test_entry_task_links_to_the_fill_page(app, collection, db):
    clerk = as_user(app, "clerk_xikou")
    page = text(clerk.get("/tasks"))
    task_id = int(re.search(r'data-task-id="(\d+)"', page).group(1))
    sub_id = db.get(WorkflowTask, task_id).submission_id
    assert f'href="/submissions/{sub_id}/page/1"' in page
    detail = text(clerk.get(f"/tasks/{task_id}"))
    assert f'href="/submissions/{sub_id}/page/1"' in detail and "打开填报页面" in detail


def test_review_page_shows_the_report_warnings_and_first_review(township, collection, db):
    data = valid_report()
    data["population"]["resident_pop"] = 500  # under half of the registered people: a soft rule
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, data, revision=0,
                             explanations={"resident_within_half": "外出务工人员多，已入户核实"})
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    page = text(township.get(f"/tasks/{ready(db, sub.id).id}"))
    assert "首次审核" in page
    # the published model's order (sections, then their fields), every field once
    from engine.publishing import indicator_set_model

    ind = indicator_set_model(db, sub.indicator_set_version_id)
    expected = [s.key for s in ind.sections]
    shown = re.findall(r'<tr class="heading depth-0" data-path="([\w.]+)">', page)
    assert shown == expected
    assert re.findall(r'<tr class="depth-\d" data-path="([\w.]+)">', page) == [f.key for f in ind.leaves()]
    assert "村民小组数" in page and "8 个" in page and "村民委员会" in page  # units, option labels
    assert "规则提示与填报说明" in page and "外出务工人员多，已入户核实" in page
    assert "常住人口与户籍总人口相差超过 50%" in page
    assert 'name="field_comments[population.pop_total]"' in page
    assert 'name="decision" value="approve"' in page and 'name="decision" value="return"' in page


def test_return_needs_a_comment_and_keeps_what_was_typed(township, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    resp = township.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf(page), "decision": "return", "comment": " ",
        "field_comments[population.pop_total]": "与分性别合计不符",
    })
    assert resp.status_code == 400
    body = text(resp)
    assert "退回时必须填写审核意见" in body and 'id="comment-error"' in body
    assert "与分性别合计不符</textarea>" in body and 'value="return" checked' in body
    assert db.get(WorkflowTask, task.id).state == "ready"
    no_decision = township.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "comment": "看过"})
    assert no_decision.status_code == 400 and "请选择审核结论" in text(no_decision)


def alert_of(body: str) -> str:
    """The list of problems at the top of a review page whose decision was refused."""
    return re.search(r'<div class="alert" role="alert" id="review-errors"[^>]*>(.*?)</div>', body, re.S).group(1)


def test_a_refused_decision_lists_every_problem_at_the_top_with_links(township, collection, db):
    """No decision chosen and two field comments too long: all three named at once, above the report, each a
    link to its control; each comment box says which message is its own. What was typed stays."""
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    assert 'id="review-errors"' not in page
    long = "核" * 3000
    resp = township.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf(page), "comment": "请核实",
        "field_comments[basic.villager_group_count]": long,
        "field_comments[population.pop_total]": "人" * 1001,
        "field_comments[households.household_total]": "户数请核对",
    })
    assert resp.status_code == 400
    body = text(resp)
    alert = alert_of(body)
    assert body.index('id="review-errors"') < body.index('id="report-title"')  # at the top, not 2,700px down
    assert "审核结论未提交：有 3 处需要处理" in alert and "data-gr-focus" in body.split('id="review-errors"')[1][:80]
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', alert)
    assert links == [
        ("fc-basic-villager_group_count", "对“村民小组数”的意见最多 1000 字，现有 3000 字，请精简后再提交"),
        ("fc-population-pop_total", "对“户籍总人口”的意见最多 1000 字，现有 1001 字，请精简后再提交"),
        ("decision", "请选择审核结论：通过或退回"),
    ]
    for anchor, message in links[:2]:
        box = re.search(rf'<textarea id="{anchor}"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in box and f'aria-describedby="{anchor}-count {anchor}-error"' in box
        assert f'<p class="error" id="{anchor}-error">{message}</p>' in body
    assert 'id="decision"' in body and re.search(r'<input type="radio"[^>]*name="decision"[^>]*aria-invalid="true"', body)
    assert f">{long}</textarea>" in body and "户数请核对</textarea>" in body and "请核实</textarea>" in body
    # the limit is shown and counted, never enforced with maxlength (which cuts a paste short, silently)
    assert not re.search(r"\smaxlength=", body) and 'id="comment-count">最多 1000 字</p>' in body
    # a return without a comment: the one problem, at the comment box
    resp = township.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "decision": "return", "comment": ""})
    assert re.findall(r'<li><a href="#([^"]+)">', alert_of(text(resp))) == ["comment"]


def test_review_comments_are_checked_named_in_chinese_and_kept(township, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    long = "核" * 1001

    def post(**typed):
        return township.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "decision": "return", **typed})

    resp = post(comment="请核实", **{"field_comments[basic.villager_group_count]": long})
    body = text(resp)
    assert resp.status_code == 400 and "对“村民小组数”的意见最多 1000 字，现有 1001 字" in body
    assert re.search(f'aria-describedby="[^"]+" aria-invalid="true">{long}</textarea>', body)  # kept, and marked
    assert "请核实</textarea>" in body

    too_long = text(post(comment=long))
    assert "审核意见最多 1000 字" in too_long and 'id="comment-error"' in too_long

    unknown = post(comment="请核实", **{"field_comments[basic.nope]": "???", "field_comments[land.nope]": "?"})
    assert unknown.status_code == 400
    alert = alert_of(text(unknown))  # each place the report does not have, named on its own
    assert "<li>逐项意见所指的指标在本表中不存在：basic.nope</li>" in alert
    assert "<li>逐项意见所指的指标在本表中不存在：land.nope</li>" in alert and "有 2 处需要处理" in text(unknown)

    nul = text(post(comment="请\x00核实"))
    assert "「审核意见」含有空字符" in nul and "comment」" not in nul
    nul = text(post(comment="请核实", **{"field_comments[basic.report_year]": "年度\x00不对"}))
    assert "「对“报告年度”的意见」含有空字符" in nul and "field_comments." not in nul.split("<form")[0]
    db.expire_all()
    assert db.get(WorkflowTask, task.id).state == "ready"


def test_return_with_a_field_comment_then_approve_after_resubmission(app, township, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    resp = township.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf(page), "decision": "return", "comment": "请核实村民小组数",
        "field_comments[basic.villager_group_count]": "与去年相差较大",
        "field_comments[population.pop_total]": "  ",
    })
    assert resp.status_code == 302 and resp.location.endswith("/tasks")
    assert "已退回：溪口村委会 · 乡镇审核" in text(township.get(resp.location))
    db.expire_all()
    done = db.get(WorkflowTask, task.id)
    assert (done.decision, done.field_comments) == ("return", {"basic.villager_group_count": "与去年相差较大"})
    assert db.get(Submission, sub.id).status == "returned"

    clerk_view = text(as_user(app, "clerk_xikou").get(f"/tasks/{ready(db, sub.id).id}"))
    assert "请核实村民小组数" in clerk_view and "村民小组数：与去年相差较大" in clerk_view

    data = valid_report()
    data["basic"]["villager_group_count"] = 9
    submit_valid(db, collection, data=data)
    second = text(township.get(f"/tasks/{ready(db, sub.id).id}"))
    assert "首次审核" not in second and "共 1 处修改" in second
    assert '<tr data-path="basic.villager_group_count"><th scope="row">村民小组数</th>' in second
    assert "<del>8</del>" in second and "<ins>9</ins>" in second
    resp = township.post(f"/tasks/{ready(db, sub.id).id}", data={"csrf_token": csrf(second), "decision": "approve"})
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Submission, sub.id).status == "approved"


def test_someone_else_acted_first_shows_a_clear_message(app, township, colleague, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    tasks.complete_review(db, colleague, task.id, {"decision": "approve"})
    db.commit()
    resp = township.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "decision": "return",
                                                    "comment": "我的意见",
                                                    "field_comments[basic.villager_group_count]": "与去年相差较大",
                                                    "field_comments[population.pop_total]": "与分性别合计不符"})
    assert resp.status_code == 409
    body = text(resp)
    assert "该任务已由他人处理，请刷新页面查看最新状态" in body
    # everything typed is echoed to copy, each field comment under its indicator's name
    assert "审核意见：我的意见" in body
    assert "村民小组数：与去年相差较大" in body and "户籍总人口：与分性别合计不符" in body
    assert 'name="decision"' not in body  # read-only now


def test_the_reviewer_decided_in_another_tab(township, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    page = text(township.get(f"/tasks/{task.id}"))
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), task.id, {"decision": "approve"})  # tab A
    db.commit()
    resp = township.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "decision": "return",
                                                    "comment": "我的意见"})
    assert resp.status_code == 409
    assert "该任务您已处理过（可能是在另一个窗口）" in text(resp) and "他人" not in text(resp)


def test_another_township_gets_404_and_a_forged_post_is_refused(app, township, collection, db):
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    other = as_user(app, "rev_baishi")
    resp = other.get(f"/tasks/{task.id}")
    assert resp.status_code == 404 and "任务不存在或无权查看" in text(resp)
    page = text(township.get(f"/tasks/{task.id}"))
    forged = township.post(f"/tasks/{task.id}", data={"csrf_token": "forged", "decision": "approve"})
    assert forged.status_code == 400 and "页面已过期" in text(forged)
    assert db.get(WorkflowTask, task.id).state == "ready"
    county = as_user(app, "rev_county")
    read_only = text(county.get(f"/tasks/{task.id}"))
    assert "由乡镇审核员处理" in read_only and 'name="decision"' not in read_only
    refused = county.post(f"/tasks/{task.id}", data={"csrf_token": csrf(page), "decision": "approve"})
    assert refused.status_code in (400, 403)  # the token belongs to another session


def test_bulk_approve_page_shows_per_item_results(app, township, colleague, collection, db):
    subs = [submit_valid(db, collection), submit_valid(db, collection, SHANGJIE, "clerk_shangjie")]
    page = text(township.get("/tasks"))
    ids = re.findall(r'name="task_ids" value="(\d+)"', page)
    assert len(ids) == 2 and "批量通过所选" in page
    # one of them is approved by a colleague in the meantime: it is reported, the other goes through
    tasks.complete_review(db, colleague, int(ids[0]), {"decision": "approve"})
    db.commit()
    resp = township.post("/tasks/bulk-approve", data={"csrf_token": csrf(page), "task_ids": ids,
                                                     "comment": "经核实无误"})
    assert resp.status_code == 200
    body = text(resp)
    assert "已通过 1 项，未通过 1 项" in body and "该任务已由他人处理" in body
    assert "溪口村委会" in body and "上街村委会" in body
    db.expire_all()
    assert all(db.get(Submission, s.id).status == "approved" for s in subs)
    approved = db.get(WorkflowTask, int(ids[1]))
    assert (approved.decision, approved.comment) == ("approve", "经核实无误")
    nothing = township.post("/tasks/bulk-approve", data={"csrf_token": csrf(page)})
    assert nothing.status_code == 302
    assert "请先勾选" in text(township.get(nothing.location))


def test_bulk_approve_posted_again_or_opened_again(township, collection, db):
    sub = submit_valid(db, collection)
    page = text(township.get("/tasks"))
    form = {"csrf_token": csrf(page), "task_ids": [str(ready(db, sub.id).id)]}
    assert "已通过 1 项" in text(township.post("/tasks/bulk-approve", data=form))
    # a reload posts the form again: the reviewer's own approval is not put on a colleague
    again = text(township.post("/tasks/bulk-approve", data=form))
    assert "该任务您已处理过" in again and "他人" not in again and "溪口村委会" in again
    # the result page opened by its address (a bookmark): the inbox, not 405
    opened = township.get("/tasks/bulk-approve")
    assert opened.status_code == 302 and opened.location.endswith("/tasks")
    assert "批量通过的结果只在提交后显示一次" in text(township.get(opened.location))


def test_bulk_approve_names_only_tasks_the_reviewer_may_see(app, township, collection, db):
    other = submit_valid(db, collection, "390121201201", "clerk_baishi")  # 白石村, another township's
    other_task = ready(db, other.id).id
    mine = ready(db, submit_valid(db, collection).id).id
    page = text(township.get("/tasks"))
    body = text(township.post("/tasks/bulk-approve", data={"csrf_token": csrf(page),
                                                           "task_ids": [str(other_task), "999999"]}))
    assert "白石" not in body and "390121201201" not in body and "乡镇审核" not in body
    rows = re.findall(r'<tr data-task-id="(\d+)" class="failed">\s*<td>任务 #\d+</td>\s*<td>—</td>', body)
    assert rows == [str(other_task), "999999"]  # the other township's task reads like an unknown id
    # ids in ASCII digits only: "１２" is not task 12 (str.isdigit would take it)
    full_width = str(mine).translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    refused = township.post("/tasks/bulk-approve", data={"csrf_token": csrf(page), "task_ids": [full_width]})
    assert refused.status_code == 400 and "任务编号应为" in text(refused)
    db.expire_all()
    assert db.get(WorkflowTask, mine).state == "ready" and db.get(WorkflowTask, other_task).state == "ready"


def test_a_bulk_comment_too_long_is_refused_and_kept(township, collection, db):
    sub = submit_valid(db, collection)
    page = text(township.get("/tasks"))
    task_id = ready(db, sub.id).id
    resp = township.post("/tasks/bulk-approve", data={"csrf_token": csrf(page), "task_ids": [str(task_id)],
                                                     "comment": "同意" * 501})
    body = text(resp)
    assert resp.status_code == 400 and "批量通过意见最多 1000 字，现有 1002 字" in body
    assert f'value="{"同意" * 501}"' in body  # what was typed and picked is still there
    assert not re.search(r"\smaxlength=", body)  # a paste is never cut short in the browser: the limit is counted
    assert f'value="{task_id}" id="pick-{task_id}" aria-label="选择 溪口村委会 乡镇审核" checked>' in body
    db.expire_all()
    assert db.get(WorkflowTask, task_id).state == "ready"


def test_bulk_approve_is_for_township_reviewers(app, collection, db):
    submit_valid(db, collection)
    county = as_user(app, "rev_county")
    page = text(county.get("/"))
    assert county.post("/tasks/bulk-approve", data={"csrf_token": csrf(page), "task_ids": ["1"]}).status_code == 403


def test_the_inbox_tells_a_report_sent_back_down_from_a_fresh_one(township, collection, db):
    sub = submit_valid(db, collection)
    assert "已提交待审核" in text(township.get("/tasks"))
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), ready(db, sub.id).id, {"decision": "approve"})
    db.commit()
    tasks.complete_review(db, principal_of(db, "rev_county"), ready(db, sub.id).id,
                          {"decision": "return", "comment": "耕地面积请乡镇复核"})
    db.commit()
    page = text(township.get("/tasks"))
    assert "县级审核员退回，待复核" in page and "已提交待审核" not in page


def test_a_review_shows_each_returned_fields_comment_at_the_field(township, app, collection, db):
    sub = submit_valid(db, collection)
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), ready(db, sub.id).id, {"decision": "approve"})
    db.commit()
    tasks.complete_review(db, principal_of(db, "rev_county"), ready(db, sub.id).id,
                          {"decision": "return", "comment": "请乡镇复核",
                           "field_comments": {"population.pop_total": "与公安户籍数不符"}})
    db.commit()
    page = text(township.get(f"/tasks/{ready(db, sub.id).id}"))
    row = re.search(r'<tr class="depth-\d+" data-path="population.pop_total">(.*?)</tr>', page, re.S).group(1)
    assert "县级审核退回意见：与公安户籍数不符" in row
    # the township sends it on; the county's second review still shows what it asked, at the field
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), ready(db, sub.id).id, {"decision": "approve"})
    db.commit()
    county = as_user(app, "rev_county")
    page = text(county.get(f"/tasks/{ready(db, sub.id).id}"))
    row = re.search(r'<tr class="depth-\d+" data-path="population.pop_total">(.*?)</tr>', page, re.S).group(1)
    assert "县级审核退回意见：与公安户籍数不符" in row


def test_a_review_reached_by_a_timer_says_which_step_was_skipped(app, published, db):
    """QA: a flow whose township review has an interrupting timer to the county review showed the county
    reviewer a plain 已提交待审核, with no hint that the township never reviewed the report."""
    from engine.collections import start_collection
    from engine.publishing import publish_process
    from tests.conftest import ROOT
    from tests.db.test_api_tasks import Api

    bpmn = (ROOT / "tests/fixtures/processes/village_report_skip.bpmn").read_bytes()
    collection = start_collection(
        db, title="2025年年报（乡镇可跳过）", period="2025", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=publish_process(db, bpmn, code="village_report_skip", version=1).id,
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31)).collection
    db.commit()
    skipped, fresh = submit_valid(db, collection), submit_valid(db, collection, SHANGJIE, "clerk_shangjie")
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), ready(db, fresh.id).id, {"decision": "approve"})
    assert tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)) == 1  # 乡镇审核 of 溪口 ran out
    db.commit()
    county_task = ready(db, skipped.id)
    assert county_task.bpmn_id == "county_review"

    county = as_user(app, "rev_county")
    rows = dict(re.findall(r'<tr data-task-id="(\d+)" data-unit="\d+">.*?<span class="badge \w+">([^<]+)</span>',
                           text(county.get("/tasks")), re.S))
    assert rows == {str(county_task.id): "乡镇审核超时跳过，待审核", str(ready(db, fresh.id).id): "已审核（待终审）"}
    page = text(county.get(f"/tasks/{county_task.id}"))
    assert "「乡镇审核」超过期限未办理，流程已跳过该步，报表直接转到本级审核。" in page
    items = {item["id"]: item for item in Api(app, "rev_county").get("/api/v1/tasks")["items"]}
    assert (items[county_task.id]["skipped"], items[county_task.id]["submission_status_label"]) == (
        "乡镇审核", "乡镇审核超时跳过，待审核")
    assert items[ready(db, fresh.id).id]["skipped"] is None


def test_a_step_the_flow_refuses_keeps_what_the_reviewer_typed_and_says_why_in_chinese(app, published, db):
    """QA gw_single_cond, in a version published before the checker refused it: the township's return
    finds no condition true. The page said "No conditions satisfied for township_decision." and the
    comment was lost; now the form comes back with it and a Chinese message naming the gateway."""
    from tests.db.test_flow_service import launch, published_before_the_checks, v1_with

    bpmn = v1_with((' default="flow_township_return"', ""),
                   ('<bpmn:sequenceFlow id="flow_township_return" name="退回" sourceRef="township_decision" '
                    'targetRef="village_entry" />', ""))
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    sub = submit_valid(db, collection)
    task = ready(db, sub.id)
    township = as_user(app, "rev_yunxi")
    page = text(township.get(f"/tasks/{task.id}"))
    resp = township.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf(page), "decision": "return", "comment": "人口数与去年差异过大，请核实",
        "field_comments[population.pop_total]": "请核对户籍台账",
    })
    body = text(resp)
    assert resp.status_code == 400
    assert "排他网关「乡镇审核结论」(township_decision)" in body and "No conditions" not in body
    assert "人口数与去年差异过大，请核实</textarea>" in body and "请核对户籍台账</textarea>" in body
    assert 'value="return" checked' in body
    assert db.get(WorkflowTask, task.id).state == "ready"


def test_an_inbox_page_past_the_last_shows_the_last(township, collection, db):
    submit_valid(db, collection)
    resp = township.get("/tasks?page=999&sort=due")
    assert resp.status_code == 302
    assert resp.location.endswith("/tasks?sort=due&page=1")
    body = text(township.get(resp.location))
    assert "没有第 999 页（共 1 页），已显示最后一页" in body and "第 999" not in body.split("没有第 999 页")[1]
    assert 'data-unit="390121101201"' in body
