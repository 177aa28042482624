"""A save lost on a weak connection: what the clerk typed on the page is kept in the tab and offered
back when the page shows again at the revision it was typed on (admin_ui/static/forms.js)."""

from __future__ import annotations

import pytest

from engine.db.models import Submission
from engine.submissions import save_draft
from tests.conftest import PASSWORD, principal_of

pytestmark = pytest.mark.browser

XIKOU = "390121101201"


def log_in(page, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("clerk_xikou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def open_first_page(page, live_server: str) -> str:
    page.goto(live_server + "/submissions")
    page.locator(".sub-list li", has_text="基本情况年报").get_by_role("link", name="开始填写").click()
    page.wait_for_load_state()
    assert page.locator(".gr-page-title").inner_text() == "基本信息"
    return page.url


def type_and_lose_the_save(page) -> None:
    """Type three answers (text, number, a choice), then press 保存草稿 while the connection is down."""
    page.get_by_label("村（社区）名称").fill("溪口村")
    page.get_by_label("村民小组数").fill("7")
    page.get_by_label("村民委员会").check()
    page.context.set_offline(True)
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(lambda url: url.startswith("chrome-error://"))  # the browser's error page: lost
    page.context.set_offline(False)


def stored(db, sub_id: int) -> dict:
    db.expire_all()
    return db.get(Submission, sub_id).data or {}


def test_lost_save_is_offered_back_and_then_saved(page, live_server, collection, db):
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])
    type_and_lose_the_save(page)

    page.goto(url)  # as the clerk would come back to the page: shown as last saved (empty)
    assert page.get_by_label("村（社区）名称").input_value() == ""
    offer = page.locator("#gr-restore")
    assert "本页有 3 项输入还没有保存到服务器" in offer.inner_text()
    offer.get_by_role("button", name="恢复这些输入").click()
    assert page.get_by_label("村（社区）名称").input_value() == "溪口村"
    assert page.get_by_label("村民小组数").input_value() == "7"
    assert page.get_by_label("村民委员会").is_checked()
    assert "已恢复您上次未保存的输入" in offer.inner_text()
    assert stored(db, sub_id).get("basic", {}).get("village_name") is None  # only in the tab so far

    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert "草稿已保存" in page.locator(".flash").first.inner_text()
    assert stored(db, sub_id)["basic"]["village_name"] == "溪口村"
    assert stored(db, sub_id)["basic"]["villager_group_count"] == 7
    assert stored(db, sub_id)["basic"]["unit_kind"] == "village"
    page.goto(url)  # the server has it now: nothing to offer
    assert page.locator("#gr-restore").count() == 0
    assert page.get_by_label("村（社区）名称").input_value() == "溪口村"


def test_offer_declined_or_overtaken(page, live_server, collection, db):
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    sub_id = int(url.split("/")[-3])

    # declined: the copy is dropped
    type_and_lose_the_save(page)
    page.goto(url)
    page.locator("#gr-restore").get_by_role("button", name="不用了，以已保存的为准").click()
    assert page.locator("#gr-restore").count() == 0
    page.goto(url)
    assert page.locator("#gr-restore").count() == 0

    # overtaken: a save reached the server since (another device of the clerk's), so the copy, typed on
    # an older revision, is not offered over it
    type_and_lose_the_save(page)
    sub = db.get(Submission, sub_id)
    save_draft(db, principal_of(db, "clerk_xikou"), sub_id, {"basic": {"village_name": "溪口村民委员会"}},
               revision=sub.revision)
    db.commit()
    page.goto(url)
    assert page.locator("#gr-restore").count() == 0
    assert page.get_by_label("村（社区）名称").input_value() == "溪口村民委员会"


def test_logging_out_forgets_what_was_typed(page, live_server, collection):
    log_in(page, live_server)
    url = open_first_page(page, live_server)
    type_and_lose_the_save(page)
    page.goto(url)
    assert page.locator("#gr-restore").count() == 1
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gr-backup:')).length") == 0
    log_in(page, live_server)
    page.goto(url)
    assert page.locator("#gr-restore").count() == 0


def test_typing_on_while_the_form_updates_is_kept(page, app, live_server, collection):
    """An answer that shows another field re-renders the page through the server (a relevance refresh);
    on a slow connection the clerk types on meanwhile. That typing, and the cursor, survive the update."""
    import time

    from flask import request

    @app.before_request
    def slow_refresh():  # a weak connection: the update takes a second and a half
        if request.method == "POST" and "__refresh__" in request.form:
            time.sleep(1.5)

    log_in(page, live_server)
    open_first_page(page, live_server)
    page.locator(".gr-step", has_text="劳动力").click()
    page.wait_for_load_state()
    assert page.get_by_label("其中：常年外出务工").count() == 0  # shown once there are migrant workers
    with page.expect_navigation():
        page.get_by_label("外出务工劳动力").fill("300")
        page.keyboard.press("Tab")  # the answer changed: the page updates through the server
        page.keyboard.type("200")  # ...while the clerk goes on: 乡外县内
        page.keyboard.press("Tab")
        page.keyboard.type("100")  # 县外省内
    page.wait_for_load_state()
    assert page.get_by_label("其中：常年外出务工").count() == 1  # the update arrived
    assert page.get_by_label("外出务工劳动力").input_value() == "300"
    assert page.get_by_label("乡外县内").input_value() == "200"
    assert page.get_by_label("县外省内").input_value() == "100"
    assert page.evaluate("document.activeElement.id") == page.get_by_label("县外省内").get_attribute("id")
    assert page.locator("#gr-restore").count() == 0  # nothing to offer: nothing was lost


def test_a_field_an_answer_reveals_gets_the_cursor(page, live_server, collection):
    """Tab after an answer that shows a new field just below it: after the update the cursor is in the new
    field, not in the one after it (a clerk typing straight on would skip the new field)."""
    log_in(page, live_server)
    open_first_page(page, live_server)
    page.locator(".gr-step", has_text="劳动力").click()
    page.wait_for_load_state()
    with page.expect_navigation():
        page.get_by_label("外出务工劳动力").fill("300")
        page.keyboard.press("Tab")  # the answer changed: the page updates through the server
    page.wait_for_load_state()
    revealed = page.get_by_label("其中：常年外出务工")
    assert revealed.count() == 1
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                           arg=revealed.get_attribute("id"))
    page.keyboard.type("120")
    assert revealed.input_value() == "120"
