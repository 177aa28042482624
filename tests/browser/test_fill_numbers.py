"""Figures typed as a Chinese keyboard and an unsure hand give them: number fields are text inputs with a
digit keyboard (engine/forms/fields.py), so what the browser would have emptied reaches the server, which
reads it or says what is wrong, and nothing typed vanishes."""

from __future__ import annotations

import pytest

from engine.db.models import Submission
from tests.browser.test_fill_offline import log_in, open_first_page, stored

pytestmark = pytest.mark.browser


def test_figures_as_typed(page, live_server, collection, db):
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    groups = page.get_by_label("村民小组数")
    assert groups.get_attribute("inputmode") == "numeric"

    groups.fill("１２")  # full-width digits, as a Chinese input method types them
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["basic"]["villager_group_count"] == 12
    assert page.get_by_label("村民小组数").input_value() == "12"

    page.get_by_label("村民小组数").fill("7a")  # a slip: kept as typed and named, not emptied
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert stored(db, sub_id)["basic"]["villager_group_count"] == "7a"  # the draft keeps what was typed
    assert page.get_by_label("村民小组数").input_value() == "7a"
    page.goto(url + "?check=1")  # 检查本页: the field says what is wrong
    field = page.locator(".gr-field", has=page.get_by_label("村民小组数"))
    assert "请输入整数" in field.inner_text()
    page.get_by_label("村民小组数").fill("7")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    db.expire_all()
    assert db.get(Submission, sub_id).data["basic"]["villager_group_count"] == 7


def test_grid_totals_read_figures_as_the_server_does(page, live_server, collection, db):
    """The live totals of a grid (forms.js) count full-width digits and thousands separators, as the
    server's totals and validation do, instead of taking them for 0."""
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    page.locator(".gr-step", has_text="土地流转").click()
    page.wait_for_load_state()
    grid = page.locator("table", has=page.get_by_label("耕地 出租"))
    grid.get_by_label("耕地 出租").fill("１２.５")
    grid.get_by_label("耕地 转包").fill("1,000")
    grid.get_by_label("园地 出租").fill("3")
    assert grid.locator("output[data-total-row='cultivated']").inner_text() == "1012.5"
    assert grid.locator("output[data-total-col='lease']").inner_text() == "15.5"
    assert grid.locator("output[data-total-all]").inner_text() == "1015.5"
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    transfer = stored(db, sub_id)["land_transfer"]
    assert transfer["cultivated"] == {"lease": 12.5, "subcontract": 1000}
    assert page.locator("output[data-total-all]").inner_text() == "1015.5"  # the server's total, the same
