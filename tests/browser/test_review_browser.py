"""A township reviewer returns a report with a field comment in Chromium; the village clerk then sees
the comment on that field of the fill page."""

import pytest
from sqlalchemy import select

from engine import submissions
from engine.db.models import Submission, WorkflowTask
from tests.conftest import PASSWORD, principal_of, valid_report

pytestmark = pytest.mark.browser

XIKOU = "390121101201"
FIELD_COMMENT = "村民小组数与去年相差较大，请核对"


def log_in(page, live_server, username):
    page.context.clear_cookies()
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(live_server + "/")


def test_field_comment_reaches_the_clerk(page, live_server, collection, db):
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0).submitted
    db.commit()

    log_in(page, live_server, "rev_yunxi")
    page.get_by_role("link", name="待办任务").first.click()
    page.locator(f'tr[data-unit="{XIKOU}"]').get_by_role("link", name="审核").click()
    assert "首次审核" in page.locator("#diff-title + p").inner_text()

    row = page.locator('tr[data-path="basic.villager_group_count"]')
    row.get_by_text("对此项提意见").click()
    row.get_by_label("对“村民小组数”的意见").fill(FIELD_COMMENT)
    page.get_by_role("radio", name="退回").check()
    page.get_by_role("button", name="提交审核结论").click()
    # no general comment: the Chinese error, and what was typed is still there
    assert "退回时必须填写审核意见" in page.locator("#comment-error").inner_text()
    assert page.get_by_label("对“村民小组数”的意见").input_value() == FIELD_COMMENT
    assert page.get_by_role("radio", name="退回").is_checked()

    page.get_by_label("审核意见（退回时必填）").fill("请核实村民小组数后重新提交")
    page.get_by_role("button", name="提交审核结论").click()
    page.wait_for_url(live_server + "/tasks")
    assert "已退回：溪口村委会" in page.locator(".flash").inner_text()

    log_in(page, live_server, "clerk_xikou")
    page.goto(live_server + "/tasks")
    page.locator(f'tr[data-unit="{XIKOU}"]').get_by_role("link", name="去填报").click()
    page.wait_for_url(f"{live_server}/submissions/{sub.id}/page/1")
    assert FIELD_COMMENT in page.locator(".gr-return").inner_text()  # the return note lists every comment
    page.locator(".gr-steps").get_by_role("button", name="基本信息").click()  # the field's page
    comment = page.locator(".gr-field-comment", has_text=FIELD_COMMENT)
    comment.wait_for()
    # on the field itself, or (for fields without help text) naming the field it belongs to
    on_field = page.locator(".gr-field", has_text="村民小组数").locator(".gr-field-comment", has_text=FIELD_COMMENT)
    assert on_field.count() == 1 or "村民小组数" in comment.inner_text()


def test_review_rows_are_compact_and_a_remark_keeps_its_lines(page, live_server, collection, db):
    """A row is a line of text and the comment link, not the template's indentation kept as space."""
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    report = valid_report()
    report["filler"]["remarks"] = "第一行说明\n第二行说明"
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, report, revision=0).submitted
    db.commit()

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "rev_yunxi")
    page.goto(live_server + "/tasks")
    page.locator(f'tr[data-unit="{XIKOU}"]').get_by_role("link", name="审核").click()
    height = page.locator('tr[data-path="basic.villager_group_count"]').bounding_box()["height"]
    assert height < 80, height
    remark = page.locator('tr[data-path="filler.remarks"] td.value .text')
    assert remark.inner_text() == "第一行说明\n第二行说明"
    assert remark.bounding_box()["height"] > 1.5 * page.locator(
        'tr[data-path="basic.villager_group_count"] td.value .text').bounding_box()["height"]  # two lines


RETURN_REASON = "请核实村民小组数后重新提交"


def open_review(page, live_server, db, collection) -> int:
    """rev_yunxi on the review page of 溪口村's submitted report; returns the task id."""
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0).submitted
    db.commit()
    log_in(page, live_server, "rev_yunxi")
    page.goto(live_server + "/tasks")
    page.locator(f'tr[data-unit="{XIKOU}"]').get_by_role("link", name="审核").click()
    page.wait_for_url(lambda url: "/tasks/" in url)
    return int(page.url.rstrip("?").split("/")[-1])


def type_a_review(page) -> None:
    row = page.locator('tr[data-path="basic.villager_group_count"]')
    row.get_by_text("对此项提意见").click()
    row.get_by_label("对“村民小组数”的意见").fill(FIELD_COMMENT)
    page.get_by_label("审核意见（退回时必填）").fill(RETURN_REASON)
    page.get_by_role("radio", name="退回").check()


def log_in_here(page) -> None:
    """Log in on the login page the browser was sent to (it returns to the page asked for)."""
    page.get_by_label("用户名").fill("rev_yunxi")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def restore_and_send(page, live_server, db, task_id: int) -> None:
    offer = page.locator("#gr-restore")
    assert "本页有 3 项输入还没有保存到服务器" in offer.inner_text()
    assert page.get_by_label("审核意见（退回时必填）").input_value() == ""  # the page as it was: empty
    offer.get_by_role("button", name="恢复这些输入").click()
    assert "请检查后点“提交审核结论”" in offer.inner_text()
    assert page.get_by_label("对“村民小组数”的意见").is_visible()  # its <details> opened
    assert page.get_by_label("对“村民小组数”的意见").input_value() == FIELD_COMMENT
    assert page.get_by_label("审核意见（退回时必填）").input_value() == RETURN_REASON
    assert page.get_by_role("radio", name="退回").is_checked()
    page.get_by_role("button", name="提交审核结论").click()
    page.wait_for_url(live_server + "/tasks")
    assert "已退回：溪口村委会" in page.locator(".flash").first.inner_text()
    # the decision arrived: the copy in the tab is gone
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gr-backup:')).length") == 0
    db.expire_all()
    task = db.get(WorkflowTask, task_id)
    assert (task.decision, task.comment, task.field_comments) == (
        "return", RETURN_REASON, {"basic.villager_group_count": FIELD_COMMENT})


def test_a_review_sent_after_the_login_expired_is_offered_back(page, app, live_server, collection, db):
    task_id = open_review(page, live_server, db, collection)
    type_a_review(page)
    # eight hours later: the signed session cookie says the login is that old
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = next(c for c in page.context.cookies() if c["name"] == "grassroots_session")
    session = serializer.loads(cookie["value"])
    session["login_at"] -= 9 * 3600
    page.context.add_cookies([{**cookie, "value": serializer.dumps(session)}])

    page.get_by_role("button", name="提交审核结论").click()
    page.wait_for_url(lambda url: "/login" in url and "reason=expired" in url)
    assert "登录已过期" in page.locator(".flash").first.inner_text()
    log_in_here(page)
    assert page.url.rstrip("?").endswith(f"/tasks/{task_id}")
    restore_and_send(page, live_server, db, task_id)


def test_a_review_sent_after_logging_out_in_another_tab_is_offered_back(page, live_server, collection, db):
    task_id = open_review(page, live_server, db, collection)
    type_a_review(page)
    other = page.context.new_page()  # another tab of the same browser: log out there
    other.goto(live_server + "/")
    other.get_by_role("button", name="退出").click()
    other.wait_for_url(lambda url: "/login" in url)
    other.close()

    page.get_by_role("button", name="提交审核结论").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "页面已过期"  # a short heading, the explanation below it
    message = page.locator(".error-message").inner_text()
    assert message.startswith("页面已过期（可能已在其他窗口退出或重新登录）") and "CSRF" not in message
    page.go_back()  # as the message says: back, refresh, log in again
    page.reload()
    page.wait_for_url(lambda url: "/login" in url)
    log_in_here(page)
    assert page.url.rstrip("?").endswith(f"/tasks/{task_id}")
    restore_and_send(page, live_server, db, task_id)
    assert db.get(WorkflowTask, task_id).state == "completed"


def test_logging_out_on_any_page_forgets_a_review_typed(page, live_server, collection, db):
    open_review(page, live_server, db, collection)
    type_a_review(page)
    page.goto(live_server + "/")  # the copy is kept as the page is left...
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gr-backup:')).length") == 1
    page.get_by_role("button", name="退出").click()  # ...and forgotten on leaving on purpose, from any page
    page.wait_for_url(lambda url: "/login" in url)
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gr-backup:')).length") == 0


def test_the_inbox_on_a_phone_is_a_list_of_cards(page, live_server, collection, db):
    """375 px wide: each task a card of labelled lines, the 审核 link a button a thumb can hit."""
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0).submitted
    db.commit()
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server, "rev_yunxi")
    page.goto(live_server + "/tasks")
    card = page.locator(f'tr[data-unit="{XIKOU}"]')
    review = card.get_by_role("link", name="审核")
    box = review.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 40 and box["x"] + box["width"] <= 375
    unit = card.locator('td[data-label="单位"]')
    assert unit.bounding_box()["width"] > 300  # a line across the card, not a column one character wide
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing to scroll sideways
    review.click()
    page.wait_for_url(f"{live_server}/tasks/*")
