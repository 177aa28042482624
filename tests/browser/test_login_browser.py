"""Login → home for every role, in Debian's Chromium driven by Playwright."""

import pytest

from tests.conftest import PASSWORD, ROLE_USERS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", sorted(ROLE_USERS))
def test_login_then_home_per_role(page, live_server, role_users, username):
    from engine.roles import ROLES

    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    role = ROLES[ROLE_USERS[username][0]]
    card = page.locator(f'[data-role="{role.code}"]')
    card.wait_for()
    assert role.label in card.inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_wrong_password_in_the_browser(page, live_server, role_users):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    error = page.locator("#password-error")
    assert error.inner_text() == "用户名或密码错误"
    assert page.get_by_label("密码").get_attribute("aria-invalid") == "true"
