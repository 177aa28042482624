"""In Chromium: the fields a definition fills from the report's context (x-fill) cannot be typed into;
the page shows the unit's code and name and the period's year, with where they come from."""

from __future__ import annotations

import pytest

from engine.db.models import OrgUnit
from tests.conftest import PASSWORD
from tests.db.test_context_fill import XIKOU, v3_collection  # noqa: F401 (the fixture)
from tests.db.test_rollups import sub_of

pytestmark = pytest.mark.browser


def test_the_clerk_cannot_type_into_the_units_code_name_and_year(page, live_server, v3_collection, db):  # noqa: F811
    sub = sub_of(db, v3_collection, XIKOU)
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("clerk_xikou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/submissions/{sub.id}/fill")
    assert page.locator(".gr-page-title").inner_text() == "基本信息"

    name = db.get(OrgUnit, XIKOU).name
    for label, value in (("统计用区划代码", XIKOU), ("村（社区）名称", name), ("报告年度", "2025")):
        field = page.get_by_label(label, exact=True)
        field.click()
        page.keyboard.press("End")
        page.keyboard.type("99")
        page.keyboard.press("Backspace")
        assert field.input_value() == value, label
        assert not field.is_editable(), label
    assert page.locator("#basic-division_code-fill").inner_text() == "由系统按本单位填写，不能修改"
    assert page.locator("#basic-report_year-fill").inner_text() == "按本期自动填写，不能修改"

    # what the clerk types elsewhere is kept; saving stores the unit's values
    page.get_by_label("村民小组数").fill("9")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    db.expire_all()
    stored = sub_of(db, v3_collection, XIKOU).data["basic"]
    assert (stored["division_code"], stored["village_name"], stored["report_year"]) == (XIKOU, name, 2025)
    assert stored["villager_group_count"] == 9
