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


def test_a_refused_sign_in_says_when_to_try_again_and_keeps_the_name(page, live_server, role_users, db):
    """After too many failures for a username (engine.login_throttle) the page says so, in Chinese, with
    the minutes to wait, where a screen reader announces it; the name typed stays in its field."""
    from sqlalchemy import text

    from engine.login_throttle import LIMITS

    db.execute(text("INSERT INTO login_failures (kind, subject, failures, since)"
                    " VALUES ('username', 'admin', :n, now() - interval '5 minutes')"), {"n": LIMITS["username"].failures})
    db.commit()
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "该账号登录失败次数过多，已暂停登录，请 10 分钟后再试（或请管理员解除）"
    assert page.get_by_label("用户名").input_value() == "admin"
    assert page.url.startswith(live_server + "/login")
