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
