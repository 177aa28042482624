"""A township reviewer returns a report with a field comment in Chromium; the village clerk then sees
the comment on that field of the fill page."""

import pytest
from sqlalchemy import select

from engine import submissions
from engine.db.models import Submission
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
