"""What a clerk on a phone learns after a save: the problems of the page saved, at the fields and in a
summary that is read out first, with links that put the cursor in the field; the page just left names its
problems on the next one."""

from __future__ import annotations

import pytest

from tests.browser.test_fill_offline import log_in, open_first_page, stored

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
SUM_RULE = "纯农户、农业兼业户、非农业兼业户、非农户之和应等于总户数"


def test_a_save_marks_the_problems_and_the_summary_takes_the_focus(page, live_server, collection, db):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    page.get_by_label("统计用区划代码").fill("39012110120")  # eleven digits
    page.get_by_label("村民小组数").fill("一")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["basic"] == {"division_code": "39012110120", "villager_group_count": "一"}
    summary = page.locator("#gr-summary")
    assert "本页有 2 处需要修改" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "gr-summary"  # a screen reader reads it first
    assert page.get_by_label("村民小组数").get_attribute("aria-invalid") == "true"
    # a link in the summary puts the cursor in its field, with its label in view
    summary.get_by_role("link", name="村民小组数：请输入整数").click()
    assert page.evaluate("document.activeElement.id") == "basic-villager_group_count"
    label = page.locator("label[for=basic-villager_group_count]").bounding_box()
    assert 0 <= label["y"] < PHONE["height"]

    # moving on: the next page says what is wrong on the page left, and leads back to the field
    page.get_by_role("button", name="下一页").click()
    page.wait_for_load_state()
    assert page.locator(".gr-page-title").inner_text() == "户数"
    left = page.locator("#gr-left")
    assert "刚才填写的第 1 页“基本信息”有 2 处需要修改" in left.inner_text()
    assert page.evaluate("document.activeElement.id") == "gr-left"
    left.get_by_role("link", name="统计用区划代码：格式不正确，请检查后重新填写").click()
    page.wait_for_load_state()
    assert page.locator(".gr-page-title").inner_text() == "基本信息"
    assert page.evaluate("document.activeElement.id") == "basic-division_code"
    assert page.get_by_label("统计用区划代码").input_value() == "39012110120"


def test_a_grid_scrolls_sideways_in_its_own_box_on_a_phone(page, live_server, collection, db):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    page.goto(url.replace("/page/1", "/page/6"))
    assert page.locator(".gr-page-title").inner_text() == "土地流转"
    wrap = page.get_by_role("region", name="土地流转")
    assert wrap.get_attribute("tabindex") == "0"  # scrolled from the keyboard too
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # the columns to the right are in the box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # not the page
    hint = page.get_by_text("左右滑动查看更多列")
    assert hint.is_visible() and hint.bounding_box()["y"] < wrap.bounding_box()["y"]
    header = page.locator(".gr-grid tbody th[scope=row]").first
    line = page.locator(".gr-page-title").evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert header.bounding_box()["width"] >= 80 and header.bounding_box()["height"] < 2.5 * line, header.bounding_box()
    # scrolled to its right end, the row headers stay in view
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert header.bounding_box()["x"] >= 0
    # a wide screen has no hint
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    assert not page.get_by_text("左右滑动查看更多列").is_visible()


def test_a_long_remark_is_counted_kept_whole_and_wraps_in_the_history(page, live_server, collection, db):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    page.goto(url.replace("/page/1", "/page/10"))
    remarks = page.get_by_label("备注")
    count = page.locator("#filler-remarks-count")
    assert count.inner_text() == "已填 0 / 500 字"
    remarks.fill("说明" * 100)
    assert count.inner_text() == "已填 200 / 500 字"
    remarks.fill("x" * 600)  # as pasted: nothing is cut off
    assert remarks.input_value() == "x" * 600
    assert count.inner_text() == "已填 600 / 500 字，超出 100 字，请删减"
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["filler"]["remarks"] == "x" * 600
    assert "最多填写 500 个字（现在 600 个字）" in page.locator("#gr-summary").inner_text()
    assert page.locator("#filler-remarks-count").inner_text() == "已填 600 / 500 字，超出 100 字，请删减"

    page.get_by_label("备注").fill("y" * 5000)
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/submissions/{sub_id}/history")
    assert page.locator("#diff").inner_text().count("y" * 20) > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # wrapped, not off the page
    assert page.locator("#diff").bounding_box()["width"] <= PHONE["width"]  # nor off its box


def test_a_save_tells_a_sum_rule_only_once_its_parts_are_typed(page, live_server, collection, db):
    """With only 总户数 typed, the parts not reached yet are not scolded; typed wrongly, they are."""
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    page.goto(url.replace("/page/1", "/page/2"))
    assert page.locator(".gr-page-title").inner_text() == "户数"
    page.get_by_label("总户数（户籍）").fill("100")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["households"] == {"household_total": 100}
    assert "草稿已保存" in page.locator("body").inner_text()
    assert SUM_RULE not in page.locator("body").inner_text()
    assert page.locator("#gr-summary").count() == 0
    assert page.get_by_label("总户数（户籍）").get_attribute("aria-invalid") != "true"

    for label, value in (("纯农户", "10"), ("农业兼业户", "20"), ("非农业兼业户", "30"), ("非农户", "20")):
        page.get_by_label(label, exact=True).fill(value)  # 80, not 100
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["households"]["hh_nonfarm"] == 20
    assert SUM_RULE in page.locator("#households-household_total-error").inner_text()
    assert page.get_by_label("总户数（户籍）").get_attribute("aria-invalid") == "true"
    summary = page.locator("#gr-summary")
    assert "本页有 1 处需要修改" in summary.inner_text()
    summary.get_by_role("link", name=f"总户数（户籍）：{SUM_RULE}").click()
    assert page.evaluate("document.activeElement.id") == "households-household_total"


def test_a_text_far_too_long_is_refused_at_its_field_and_stays_in_it(page, live_server, collection, db):
    """A paste gone wrong (engine.report_limits): not stored, the reason said first and at the field, the
    text still in the field to shorten; a text a little too long is saved as usual and marked."""
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    page.goto(url.replace("/page/1", "/page/10"))
    before = stored(db, sub_id)
    name = page.get_by_label("填表人")
    name.fill("张" * 2001)  # 填表人 holds 20 characters; a draft at most 2,000
    page.get_by_label("单位负责人").fill("李四")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert name.input_value() == "张" * 2001 and page.get_by_label("单位负责人").input_value() == "李四"
    notice = page.locator("#gr-notice")
    assert "本次未保存：有 1 项内容过长，请删减（填报人 · 填表人）" in notice.inner_text()
    assert page.evaluate("document.activeElement.id") == "gr-notice"  # read out first
    assert name.get_attribute("aria-invalid") == "true"
    assert "超过 2000 个字的内容不能保存" in page.locator("#filler-filler_name-error").inner_text()
    summary = page.locator("#gr-summary")
    summary.get_by_role("link", name="填表人：内容过长（2001 个字），此项最多填写 20 个字，超过 2000 个字的内容不能保存，请删减").click()
    assert page.evaluate("document.activeElement.id") == "filler-filler_name"
    assert stored(db, sub_id) == before

    name.fill("张" * 25)
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["filler"] == {"filler_name": "张" * 25, "unit_head": "李四"}
    assert "最多填写 20 个字（现在 25 个字）" in page.locator("#gr-summary").inner_text()
