"""A reviewer on a phone whose decision is refused sees why at once: the problems at the top of the page,
read out first, each leading to its control; what was typed stays."""

from __future__ import annotations

import pytest

from tests.browser.test_review_browser import FIELD_COMMENT, open_review

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def test_a_refused_decision_is_said_at_the_top_and_leads_to_each_control(page, live_server, collection, db):
    page.set_viewport_size(PHONE)
    open_review(page, live_server, db, collection)
    row = page.locator('tr[data-path="basic.villager_group_count"]')
    row.get_by_text("对此项提意见").click()
    row.get_by_label("对“村民小组数”的意见").fill("核" * 3000)
    assert "已填 3000 / 1000 字，超出 2000 字" in row.locator(".gr-count").inner_text()  # said before sending
    page.get_by_role("button", name="提交审核结论").click()  # no decision chosen
    page.wait_for_load_state()

    alert = page.locator("#review-errors")
    assert page.evaluate("document.activeElement.id") == "review-errors"
    box = alert.bounding_box()
    assert box["y"] < PHONE["height"]  # in view where the page opens, not 2,700px down
    assert "审核结论未提交：有 2 处需要处理" in alert.inner_text()
    alert.get_by_role("link", name="请选择审核结论：通过或退回").click()
    assert page.evaluate("document.activeElement.id") == "decision-approve"
    alert.get_by_role("link", name="对“村民小组数”的意见最多 1000 字，现有 3000 字，请精简后再提交").click()
    comment = page.get_by_label("对“村民小组数”的意见")
    assert page.evaluate("document.activeElement.id") == comment.get_attribute("id")
    assert comment.get_attribute("aria-invalid") == "true"
    assert comment.input_value() == "核" * 3000  # kept as typed

    comment.fill(FIELD_COMMENT)
    page.get_by_role("radio", name="退回").check()
    page.get_by_role("button", name="提交审核结论").click()  # 退回 without 审核意见
    page.wait_for_load_state()
    alert = page.locator("#review-errors")
    assert "有 1 处需要处理" in alert.inner_text()
    alert.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "comment"
