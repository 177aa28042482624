"""The structured editor and the live preview in Chromium: add a field, see the checker's error at its
JSON pointer, fix it, then try the generated form as a village clerk would see it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _login(page, base: str) -> None:
    page.goto(base + "/definitions")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/definitions")


def test_add_a_field_see_the_error_at_its_pointer_fix_it_and_preview(page, live_server, published):
    _login(page, live_server)
    page.get_by_label("指标集编码").fill("village_basic")
    page.get_by_role("button", name="新建草稿").click()
    assert page.locator("[data-status]").first.inner_text() == "草稿"

    page.locator('[data-key="households"] > summary').click()
    summary = page.locator('details:has(> form[data-add-field="households"]) > summary')
    assert summary.inner_text() == "在「户数」中添加字段"  # the section's name, not its key
    summary.click()
    form = page.locator('form[data-add-field="households"]')
    form.locator('input[name="name"]').fill("broadband_rate")
    form.locator('input[name="title"]').fill("宽带入户率")
    form.locator('select[name="type"]').select_option("number")
    form.locator('select[name="unit"]').select_option("%")
    form.locator('input[name="relevant"]').fill("no_such_field > 0")
    form.get_by_role("button", name="添加字段").click()

    block = page.locator('[data-key="households.broadband_rate"]')
    block.locator(".wb-problems").wait_for()
    assert "no_such_field" in block.locator(".wb-problems").inner_text()
    assert block.locator(".wb-problems [data-pointer]").get_attribute("data-pointer") == \
        "/properties/households/properties/broadband_rate/x-relevant"
    assert "修正后才能发布" in page.locator("#publish").inner_text()

    edit = block.locator('form[data-edit-field="households.broadband_rate"]')
    edit.locator('input[name="relevant"]').fill("household_total > 0")
    edit.get_by_role("button", name="保存").click()
    page.locator("#check-ok").wait_for()

    page.get_by_role("link", name="预览表单").click()
    assert "不会保存任何数据" in page.locator(".wb-preview-banner").inner_text()
    page.locator(".gr-step", has_text="户数").first.click()
    assert page.get_by_label("宽带入户率").count() == 0  # hidden until 总户数 > 0
    page.get_by_label("总户数（户籍）").fill("120")
    page.get_by_label("纯农户").click()  # leaving the field re-renders the page (relevance)
    page.get_by_label("宽带入户率").wait_for()
    assert page.get_by_label("总户数（户籍）").input_value() == "120"
    page.get_by_label("纯农户").fill("500")  # more than 总户数: the hh_type_sum rule must fire
    page.locator(".gr-step").last.click()  # the last page carries the 提交 button; typed data travels along
    page.get_by_role("button", name="提交").click()
    assert "校验未通过" in page.locator("#preview-failed").inner_text()
    assert "处错误" in page.locator(".gr-step", has_text="户数").first.inner_text()


def test_move_a_field_up_and_see_the_new_order_in_the_editor_and_the_preview(page, live_server, published):
    _login(page, live_server)
    page.get_by_label("指标集编码").fill("village_basic")
    page.get_by_role("button", name="新建草稿").click()
    section = page.locator('[data-key="households"]')
    fields = section.locator("> .wb-body > .wb-children > [data-key]")
    section.locator("> summary").click()
    before = fields.evaluate_all("els => els.map(e => e.dataset.key)")
    titles = fields.locator("> summary strong").all_inner_texts()
    assert len(before) >= 2

    second = page.locator(f'[data-key="{before[1]}"]')
    second.locator("> summary").click()
    second.locator("> .wb-body > .wb-actions").get_by_role("button", name="上移").click()
    # the page after the move, read back from the database (expect waits for it)
    expect(fields.first).to_have_attribute("data-key", before[1])
    expect(fields.nth(1)).to_have_attribute("data-key", before[0])

    page.get_by_role("link", name="预览表单").click()
    page.locator(".gr-step", has_text="户数").first.click()
    labels = [label.strip() for label in page.locator("form label").all_inner_texts()]
    shown = [next(i for i, label in enumerate(labels) if label.startswith(title)) for title in titles[:2]]
    assert shown[1] < shown[0]  # the clerk's form follows the new order


def test_two_tabs_a_json_save_after_a_field_edit_shows_the_change_and_overwrites_only_when_chosen(
        page, live_server, published):
    _login(page, live_server)
    page.get_by_label("指标集编码").fill("village_basic")
    page.get_by_role("button", name="新建草稿").click()
    page.locator("[data-status]").first.wait_for()
    tab_b = page.context.new_page()
    tab_b.set_default_timeout(10_000)
    tab_b.goto(page.url)

    page.bring_to_front()  # a background tab does not render: Playwright would wait for it
    page.get_by_text("名称、说明与报告周期").click()  # tab A renames the set
    meta = page.locator("form[data-set-meta]")
    meta.locator('input[name="title"]').fill("A 标签页改的名称")
    meta.get_by_role("button", name="保存").click()
    page.locator("#check-ok").wait_for()

    tab_b.bring_to_front()
    raw = tab_b.locator("#raw-content")  # tab B, loaded before, edits the JSON
    raw.fill(raw.input_value().replace('"x-period": "year"', '"x-period": "quarter"', 1))
    tab_b.get_by_role("button", name="保存 JSON").click()
    conflict = tab_b.locator("#conflict")
    conflict.wait_for()
    assert "草稿已在别处被修改" in conflict.inner_text() and "刷新" not in conflict.inner_text()
    assert "指标集名称" in tab_b.locator("#conflict-elsewhere").inner_text()
    assert "A 标签页改的名称" in tab_b.locator("#conflict-elsewhere").inner_text()
    assert '"quarter"' in tab_b.locator("#raw-content").input_value()  # B's text is still there
    conflict.get_by_role("button", name="以我的内容覆盖").click()
    expect(tab_b.locator(".flash-success")).to_contain_text("已以您的内容覆盖最新草稿")
    tab_b.close()
