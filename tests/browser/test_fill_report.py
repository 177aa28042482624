"""A village clerk fills the monthly 高龄津贴 roster in Chromium: an error on its field, a repeat row
added, a draft saved and resumed, then a successful submit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from engine.db.models import Submission
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

XIKOU = "390121101201"


@pytest.fixture
def roster(published, collection, db):
    """A second collection next to the annual report: elderly_allowance v1 is monthly (x-period month)."""
    from engine.collections import start_collection

    started = start_collection(
        db, title="2024年10月高龄津贴花名册", period="2024-10", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "elderly_allowance", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2024, 10, 1), deadline=dt.date(2024, 11, 10),
    )
    db.commit()
    return started.collection


def go_to(page, title: str) -> None:
    """Move to a form page with the step list (this saves the current page first)."""
    page.locator(".gr-step", has_text=title).click()
    page.wait_for_load_state()
    assert page.locator(".gr-page-title").inner_text() == title


def submit(page) -> None:
    page.locator(".gr-step").last.click()  # 提交 is on the last page
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()


def test_clerk_fills_the_roster(page, live_server, roster, db):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("clerk_xikou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="我的填报").first.click()
    card = page.locator(".sub-list li", has_text="高龄津贴花名册")
    assert "未开始" in card.inner_text()
    card.get_by_role("link", name="开始填写").click()

    # 基本信息, with a division code one digit short
    go_to(page, "基本信息")
    page.get_by_label("村（居）区划代码").fill("39012110120")
    page.get_by_label("发放月份").fill("2024-10")
    page.get_by_label("年龄计算截止日").fill("2024-10-31")
    page.get_by_label("经办人").fill("陈芳")
    page.get_by_label("联系电话").fill("13900001234")
    page.get_by_role("button", name="保存草稿").click()
    assert "草稿已保存" in page.locator(".flash").inner_text()

    # 花名册: a repeat row, added without leaving the page
    go_to(page, "花名册")
    assert "还没有填写任何一行" in page.content()
    page.get_by_role("button", name="添加一行").click()
    row = page.locator("fieldset.gr-row", has_text="第 1 行")
    row.get_by_label("序号").fill("1")
    row.get_by_label("姓名").fill("赵大山")
    row.get_by_label("公民身份号码").fill("390121193205120013")
    row.get_by_label("户籍地址").fill("示范省云溪县云溪镇溪口村1组")
    row.get_by_label("开户银行及账号").fill("云溪农商银行 6228000000000001")
    row.get_by_label("月发放金额").fill("200")
    row.get_by_label("续发").check()
    page.get_by_role("button", name="保存草稿").click()

    # resume later: leave, come back through 我的填报, everything is there
    page.goto(live_server + "/submissions")
    card = page.locator(".sub-list li", has_text="高龄津贴花名册")
    assert "草稿" in card.inner_text()
    card.get_by_role("link", name="继续填写").click()
    go_to(page, "花名册")
    row = page.locator("fieldset.gr-row", has_text="第 1 行")
    assert row.get_by_label("姓名").input_value() == "赵大山"
    assert row.get_by_label("续发").is_checked()
    assert row.get_by_label("年龄（周岁）").input_value() == "92"  # computed by the server

    # submitting shows the error on its field, on its page
    submit(page)
    assert "提交未成功" in page.locator(".flash").inner_text()
    assert page.locator(".gr-page-title").inner_text() == "基本信息"
    code = page.get_by_label("村（居）区划代码")
    assert code.get_attribute("aria-invalid") == "true"
    error_id = next(i for i in code.get_attribute("aria-describedby").split() if i.endswith("-error"))
    assert page.locator(f"#{error_id}").inner_text() == "格式不正确，请检查后重新填写"
    assert code.input_value() == "39012110120"  # kept as typed

    code.fill(XIKOU)
    submit(page)
    assert "提交成功" in page.locator(".flash").inner_text()
    assert page.locator(".sub-head .badge").inner_text() == "已提交待审核"
    assert re.search(r"赵大山", page.locator("main").inner_text())

    db.expire_all()
    sub = db.scalar(select(Submission).where(Submission.collection_id == roster.id, Submission.org_code == XIKOU))
    assert sub.status == "submitted"
    assert sub.data["header"]["division_code"] == XIKOU
    assert [(e["name"], e["age_band"]) for e in sub.data["elders"]] == [("赵大山", "90-94")]
