"""The publish box in Chromium with QA's yearly change (tests/yearly_change.py): it lists and counts the
open correspondences to the previous version, a publish while they are open is refused with the typed
change note kept, and each is settled by its own button — the note still there — until it publishes."""

from __future__ import annotations

import pytest

from engine import drafts
from engine.publishing import publish_indicator_set
from tests.conftest import PASSWORD
from tests.yearly_change import CODE, PROPOSED, version_1, version_2

pytestmark = pytest.mark.browser

NOTE = "2026年起老年人口单列一页，党员数改称中共党员数"


@pytest.fixture
def draft_id(published, role_users, db) -> int:
    publish_indicator_set(db, version_1(), code=CODE, version=1, change_note="演练 v1")
    row = drafts.create_indicator_draft(db, CODE, actor_id=role_users["admin"]).row
    drafts.update_indicator_draft(db, row.id, content=version_2(), actor_id=role_users["admin"])
    db.commit()
    return row.id


def _login(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url)


def test_the_publish_box_lists_open_proposals_and_a_refusal_keeps_the_note(page, live_server, draft_id):
    _login(page, f"{live_server}/definitions/indicators/{draft_id}")
    box = page.locator("#publish")
    items = box.locator("#open-proposals li[data-proposal]")
    assert box.locator("#open-proposals-count").inner_text() == "7"
    assert sorted(items.evaluate_all("els => els.map(e => e.dataset.proposal)")) == sorted(PROPOSED)
    grass = box.locator('li[data-proposal="land.land_grass"]')
    assert "「草地」（land.land_grass）在本版本中没有了" in grass.inner_text()
    assert grass.get_by_role("button").all_inner_texts() == ["确认不对应：已删除"]  # removal: one choice
    party = box.locator('li[data-proposal="party_welfare.party_members"]')
    assert party.get_by_role("button").all_inner_texts() == [
        "采用：party_welfare.cpc_members 即原 party_welfare.party_members", "确认不对应：原字段已删除，新字段为新增"]

    box.get_by_label("变更说明（必填，记入审计日志）").fill(NOTE)
    box.get_by_label("我已核对差异，确认发布第 2 版").check()
    box.get_by_role("button", name="发布", exact=True).click()
    assert "与上一版本的对应关系有 7 项待确认" in box.locator("#publish-error").inner_text()
    assert box.get_by_label("变更说明（必填，记入审计日志）").input_value() == NOTE
    assert box.get_by_label("我已核对差异，确认发布第 2 版").is_checked()
    assert page.locator("[data-status]").first.inner_text() == "草稿"

    party.get_by_role("button", name="确认不对应：原字段已删除，新字段为新增").click()
    assert "确认不对应" in box.locator("#publish-notice").inner_text()
    assert box.locator("#open-proposals-count").inner_text() == "6"
    assert box.get_by_label("变更说明（必填，记入审计日志）").input_value() == NOTE  # kept through each choice
    grass.get_by_role("button").click()
    for key in PROPOSED:
        if key not in ("party_welfare.party_members", "land.land_grass"):
            box.locator(f'li[data-proposal="{key}"]').get_by_role("button").first.click()  # 采用
            box.locator("#publish-notice").wait_for()
    assert box.locator("#open-proposals").count() == 0
    assert box.get_by_label("变更说明（必填，记入审计日志）").input_value() == NOTE

    box.get_by_role("button", name="发布", exact=True).click()
    assert page.locator("[data-status]").first.inner_text() == "已发布"
    assert NOTE in page.locator(".wb-head").inner_text()
