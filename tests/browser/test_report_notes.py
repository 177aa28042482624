"""The 汇总报表 page in Chromium, in a year whose indicator set changed: how last year's figure was mapped
is read on the page itself, on a phone and on paper, not in a tooltip."""

from __future__ import annotations

import pytest

from tests.browser.test_review_browser import log_in
from tests.db.test_rollups import COUNTY
from tests.db.test_version_change import both_years, last_year, this_year  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("media", ["screen", "print"])
def test_the_mapping_notes_are_visible_under_the_table(page, live_server, both_years, media):  # noqa: F811
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/collections/{both_years.id}/report?org_unit={COUNTY}")
    page.emulate_media(media=media)
    row = page.locator('tr[data-key="collective.collective_income_total"]')
    mark = row.locator(".note-mark")
    assert mark.is_visible() and row.locator("td.num").nth(1).inner_text() == "5,435,600"  # 543.56 万元
    section = page.locator("section.report-section", has=row)
    note = section.locator(".compare-notes li", has_text=f"{mark.inner_text()}：")
    assert note.is_visible() and note.inner_text() == f"{mark.inner_text()}：v4：单位换算 ×10000"

    rural = page.locator('tr[data-key="basic.urban_rural_class=220"]')
    assert "不可比" in rural.inner_text()
    reason = page.locator("section.report-section", has=rural).locator(
        ".compare-notes li", has_text=f"{rural.locator('.note-mark').inner_text()}：")
    assert reason.is_visible() and "对比期未汇总此项" in reason.inner_text()
