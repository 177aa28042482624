"""The review page and the history page in Chromium, as a city reviewer reads them (may not see personal
data: the clerk's explanation, the overall comment and the field comments masked) and as the township
reviewer reads them (everything as written). The roster and its record: tests/db/test_personal_free_text."""

import pytest

from engine.masking import MASK, MASKED_COMMENT, MASKED_EXPLANATION, MASKED_PROBLEMS
from tests.browser.test_review_browser import log_in
from tests.db.test_personal_free_text import (  # noqa: F401 (fixtures)
    AMOUNT_COMMENT,
    COMMENT,
    EXPLANATION,
    LI_ID,
    NAME_COMMENT,
    ZHAO_ID,
    _approving_review,
    approved,
    city_reviewer,
    returned,
)

pytestmark = pytest.mark.browser

SECRETS = ("李桂兰", LI_ID, "赵大山", ZHAO_ID, NAME_COMMENT)


def test_review_and_history_pages_mask_what_was_written_about_the_person(page, live_server, approved, db):  # noqa: F811
    task = _approving_review(db, approved)
    log_in(page, live_server, "rev_city")
    page.goto(f"{live_server}/tasks/{task.id}")
    warnings = page.locator("#warn-title + ul").inner_text()
    assert MASKED_PROBLEMS["soft"] in warnings and MASKED_EXPLANATION in warnings
    returns = page.locator("section[aria-labelledby=returns-title]").inner_text()
    assert f"总体意见：{MASK}身份证{MASK}有误" in returns and f"金额… {MASK} 200" in returns
    assert MASKED_COMMENT in returns
    history = page.locator("section[aria-labelledby=history-title]").inner_text()
    assert f"总体意见：{MASK}身份证{MASK}有误" in history
    text = page.locator("main").inner_text()
    assert not [s for s in SECRETS if s in text], text

    page.goto(f"{live_server}/submissions/{approved.id}/history")
    steps = page.locator("#steps").inner_text()
    assert f"意见：总体意见：{MASK}身份证{MASK}有误" in steps and f"金额… {MASK} 200" in steps
    assert MASKED_COMMENT in steps
    text = page.locator("main").inner_text()
    assert not [s for s in SECRETS if s in text], text

    log_in(page, live_server, "rev_yunxi")  # may see personal data at 溪口村
    page.goto(f"{live_server}/tasks/{task.id}")
    text = page.locator("main").inner_text()
    assert all(t in text for t in (EXPLANATION, COMMENT, AMOUNT_COMMENT, NAME_COMMENT)), text
    assert "年龄在 105 周岁及以上，请核实身份信息" in page.locator("#warn-title + ul").inner_text()
    page.goto(f"{live_server}/submissions/{approved.id}/history")
    steps = page.locator("#steps").inner_text()
    assert all(t in steps for t in (COMMENT, AMOUNT_COMMENT, NAME_COMMENT)), steps
