"""A multiple choice (可多选) in Chromium on a 360px phone: the boxes are labelled (a tap on the text
ticks), reachable with Tab and ticked with Space, one per line with 44px rows and nothing wider than the
screen; ticking 其他 brings up 其他设施（请注明） (the relevance refresh) without losing the ticks."""

from __future__ import annotations

import pytest

from tests.browser.test_fill_offline import log_in, stored
from tests.db.test_multichoice import facilities  # noqa: F401  (fixture)
from tests.db.test_rollups import XIKOU, sub_of

pytestmark = pytest.mark.browser


def test_ticking_boxes_on_a_phone(page, live_server, facilities, db):  # noqa: F811
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server)
    sub = sub_of(db, facilities, XIKOU)
    page.goto(f"{live_server}/submissions/{sub.id}/page/2")
    page.wait_for_load_state()
    group = page.get_by_role("group", name="村内公共设施")
    assert "（可多选）" in group.locator("legend").inner_text()

    # 公共设施 decides what else is asked (卫生室 → 医生人数, 其他 → 请注明): each tick refreshes the page,
    # which keeps the ticks and the keyboard's place
    clinic = group.get_by_label("卫生室")
    clinic.focus()
    with page.expect_navigation():
        page.keyboard.press("Space")
    group = page.get_by_role("group", name="村内公共设施")
    assert group.get_by_label("卫生室").is_checked()
    page.wait_for_function("document.activeElement && document.activeElement.value === 'clinic'")
    page.get_by_label("卫生室乡村医生人数").wait_for()
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Space")
    group = page.get_by_role("group", name="村内公共设施")
    assert group.get_by_label("文化礼堂").is_checked() and group.get_by_label("卫生室").is_checked()
    with page.expect_navigation():
        group.get_by_text("健身场地").click()  # the text is part of the label: a tap on it ticks the box
    group = page.get_by_role("group", name="村内公共设施")
    assert group.get_by_label("健身场地").is_checked()

    options = group.locator("label.gr-option")
    boxes = [options.nth(i).bounding_box() for i in range(options.count())]
    assert all(b["height"] >= 44 for b in boxes)
    assert all(b2["y"] >= b1["y"] + b1["height"] - 1 for b1, b2 in zip(boxes, boxes[1:], strict=False))  # one per line
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    assert page.get_by_label("其他设施（请注明）").count() == 0
    with page.expect_navigation():
        group.get_by_label("其他").check()  # 'other' in available: the page comes back with the field shown
    page.get_by_label("其他设施（请注明）").wait_for()
    group = page.get_by_role("group", name="村内公共设施")
    assert all(group.get_by_label(t).is_checked() for t in ("卫生室", "文化礼堂", "健身场地", "其他"))
    page.get_by_label("其他设施（请注明）").fill("农家书屋")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    saved = stored(db, sub.id)["facilities"]
    assert saved["available"] == ["clinic", "culture_hall", "fitness", "other"]
    assert saved["available_other"] == "农家书屋"
