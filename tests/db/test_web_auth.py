"""Login, sessions, CSRF and JSON errors through the real Flask app."""

import re
import time

from openapi_spec_validator import validate

from tests.conftest import PASSWORD, login


def test_wrong_password_gets_a_chinese_message_and_no_session(client, role_users):
    resp = login(client, "admin", "not-the-password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_leads_home_with_the_role_card(client, role_users):
    resp = login(client, "rev_yunxi")
    assert resp.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "乡镇审核员" in home and "云溪镇" in home


def test_a_request_without_a_session_cookie_verifies_nothing_and_a_login_still_signs_one(client, role_users,
                                                                                       monkeypatch):
    """web.cookie_session: no cookie, no signer built (an API client with a token); a cookie is verified."""
    from web.cookie_session import CookieSessions

    built: list[int] = []
    real = CookieSessions.get_signing_serializer
    monkeypatch.setattr(CookieSessions, "get_signing_serializer", lambda self, app: built.append(1) or real(self, app))
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 401
    assert built == []
    login(client, "admin")
    signed = len(built)
    assert signed >= 1  # the login page's CSRF token and the login itself are kept in the signed cookie
    assert client.get("/").status_code == 200  # logged in: the cookie was read and verified
    assert len(built) > signed


def test_forged_csrf_token_is_refused_and_changes_nothing(client, role_users):
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "页面已过期（可能已在其他窗口退出或重新登录）" in body and "CSRF" not in body  # no jargon
    assert client.get("/").status_code == 302
    login(client, "admin")
    resp = client.post("/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert "页面已过期" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still logged in


def test_expired_session_sends_back_to_login_with_a_message(client, role_users):
    login(client, "admin")
    with client.session_transaction() as s:
        s["login_at"] = int(time.time()) - 9 * 3600
    resp = client.get("/")
    assert resp.status_code == 302 and "reason=expired" in resp.location
    assert "登录已过期" in client.get(resp.location).get_data(as_text=True)


def test_no_open_redirect_after_login(client, role_users):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login?next=//evil.example/x", data={"username": "admin", "password": PASSWORD,
                                                              "csrf_token": token})
    assert resp.location == "/"


def test_session_cookie_is_httponly_and_samesite(client, role_users):
    resp = login(client, "admin")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_api_errors_are_structured_json(client, role_users):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"]["code"] == "unauthenticated" and "登录" in body["error"]["message"]
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "http_404"


def test_api_bearer_token(client, role_users, db):
    from sqlalchemy import select

    from engine.auth import create_api_token
    from engine.db.models import User

    token = create_api_token(db, db.scalar(select(User).where(User.username == "viewer")), "dept")
    db.commit()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.get_json()["roles"] == [{"role": "department_viewer", "org_code": "390000000000"}]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_healthz_reports_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_is_valid_and_covers_every_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from OpenAPI"
