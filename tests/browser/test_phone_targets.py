"""At 360px (a village phone) everything tapped is at least 44px high: links in the top bar and 退出, the
step list, the review's 通过/退回 and 对此项提意见, the boxes ticked in the inbox, 下钻 and the 汇总口径
switches. A desktop keeps its compact lines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import submissions
from engine.db.models import Submission
from tests.browser.test_review_browser import log_in
from tests.conftest import principal_of, valid_report

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
XIKOU = "390121101201"


def smallest(page, selector: str) -> dict:
    """The smallest height and width among the visible elements ``selector`` finds (at least one)."""
    boxes = [b for b in (el.bounding_box() for el in page.locator(selector).all()) if b and b["height"] > 0]
    assert boxes, selector
    return {"height": min(b["height"] for b in boxes), "width": min(b["width"] for b in boxes)}


def assert_tappable(page, selector: str, *, wide: bool = True) -> None:
    size = smallest(page, selector)
    assert size["height"] >= 44 and (not wide or size["width"] >= 44), (selector, size)


def test_what_is_tapped_on_a_phone_is_big_enough(page, live_server, collection, db):
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0).submitted
    db.commit()
    page.set_viewport_size(PHONE)

    log_in(page, live_server, "rev_yunxi")
    page.goto(live_server + "/tasks")
    assert_tappable(page, ".topbar nav a")
    assert_tappable(page, ".topbar button.link")  # 退出
    assert_tappable(page, "label.pick")  # the box ticked for 批量通过, through its label
    assert smallest(page, "input[name=task_ids]")["height"] >= 20
    page.locator(f'tr[data-unit="{XIKOU}"]').get_by_role("link", name="审核").click()
    page.wait_for_url(f"{live_server}/tasks/*")
    assert_tappable(page, ".decision label.choice")  # 通过 / 退回
    assert_tappable(page, ".report details summary", wide=False)  # 对此项提意见, ×60
    page.locator(".decision label.choice", has_text="退回").click(position={"x": 40, "y": 4})  # the label's edge
    assert page.get_by_role("radio", name="退回").is_checked()

    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/collections/{collection.id}")
    assert_tappable(page, "table.completeness td a")  # 下钻
    page.goto(f"{live_server}/collections/{collection.id}/rollups")
    assert_tappable(page, ".stage-switch a.badge")

    log_in(page, live_server, "clerk_xikou")
    page.goto(f"{live_server}/submissions/{sub.id}")
    page.goto(f"{live_server}/submissions/{sub.id}/history")
    assert_tappable(page, ".sub-links a")


def test_a_desktop_keeps_compact_lines(page, live_server, collection, db):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/collections/{collection.id}")
    assert smallest(page, ".topbar nav a")["height"] < 40
    assert smallest(page, "table.completeness td a")["height"] < 40
