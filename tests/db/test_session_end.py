"""A signed-in session ends for good: at logout (that one), and at a password change (every one of the
user's). Replays the security QA's finding: the cookie copied before, sent again after."""

import re

from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import cli
from engine.db.models import UserSession
from tests.conftest import login, statements_sent

COOKIE = "grassroots_session"


def signed_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def replay(app, cookie: str):
    """A new client that sends only the copied cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def csrf_token(client) -> str:
    page = client.get("/reports").get_data(as_text=True)  # the logout button's form carries it
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_cookie_replayed_after_logout_is_refused(app, role_users, db):
    clerk = signed_in(app, "clerk_xikou")
    copied = clerk.get_cookie(COOKIE).value
    other = signed_in(app, "clerk_xikou")  # the same clerk in another browser
    assert replay(app, copied).get("/api/v1/me").status_code == 200

    resp = clerk.post("/logout", data={"csrf_token": csrf_token(clerk)})
    assert resp.status_code == 302 and resp.location == "/login"

    again = replay(app, copied)
    resp = again.get("/api/v1/me")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"
    page = again.get("/reports")
    assert page.status_code == 302 and page.location.startswith("/login")
    assert other.get("/api/v1/me").status_code == 200  # only that session ended
    assert db.scalar(select(func.count()).select_from(UserSession)) == 1


def test_a_password_reset_ends_every_session_of_the_user(app, role_users, database_url, tmp_path, monkeypatch):
    first, second = signed_in(app, "clerk_xikou"), signed_in(app, "clerk_xikou")
    copied = [client.get_cookie(COOKIE).value for client in (first, second)]
    bystander = signed_in(app, "clerk_shangjie")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))

    result = CliRunner().invoke(cli, ["users", "password", "clerk_xikou", "--password", "new-secret-2"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "已重设用户 clerk_xikou 的密码" in result.output and "已登录的会话均已失效" in result.output

    for cookie in copied:
        assert replay(app, cookie).get("/api/v1/me").status_code == 401
        page = replay(app, cookie).get("/reports")  # a page says why, once
        assert page.status_code == 302 and "reason=ended" in page.location
    assert first.get("/reports").status_code == 302 and second.get("/api/v1/me").status_code == 401
    assert "登录已失效" in first.get(page.location).get_data(as_text=True)
    assert bystander.get("/api/v1/me").status_code == 200
    assert login(app.test_client(), "clerk_xikou", "new-secret-2").status_code == 302


def test_deactivating_a_user_ends_their_sessions(app, role_users, db):
    from engine.auth import deactivate_user
    from engine.db.models import User

    clerk = signed_in(app, "clerk_xikou")
    deactivate_user(db, db.scalar(select(User).where(User.username == "clerk_xikou")))
    db.commit()
    assert clerk.get("/api/v1/me").status_code == 401
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def test_a_cookie_from_before_sessions_were_recorded_is_refused(app, role_users):
    """A cookie signed with the right key but naming no recorded session (one from before the upgrade,
    or one forged with a stolen key for a user id alone) opens nothing."""
    clerk = signed_in(app, "clerk_xikou")
    with clerk.session_transaction() as s:
        del s["sid"]
    assert clerk.get("/api/v1/me").status_code == 401
    clerk = signed_in(app, "clerk_xikou")
    with clerk.session_transaction() as s:
        s["sid"] = "made-up"
    assert clerk.get("/api/v1/me").status_code == 401


def test_a_signed_in_request_reads_its_session_user_and_roles_in_two_statements(app, role_users, db_engine):
    """The session's row is read with its user (a join), not by a query of its own: a signed-in request
    costs the two statements the user's load cost before (user, roles)."""
    clerk = signed_in(app, "clerk_xikou")
    with statements_sent(db_engine) as sent:
        assert clerk.get("/api/v1/me").status_code == 200
    assert len(sent) == 2 and "user_sessions" in sent[0]
