"""Login throttling through the real login form: a username's failures, an address's, a success that
resets, the counts shared by workers (PostgreSQL), refused attempts that hash nothing, the operator's
commands. Replays the security QA's finding (wrong passwords answered as fast as they came)."""

import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cli.main import cli
from engine.login_throttle import LIMITS
from tests.conftest import PASSWORD

USER_LIMIT, ADDRESS_LIMIT = LIMITS["username"].failures, LIMITS["address"].failures


def attempt(client, username: str, password: str, address: str = "203.0.113.7"):
    """One sign-in through the login form (CSRF token included), from ``address``."""
    env = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=env).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=env)


@pytest.fixture
def hashed(monkeypatch):
    """How many passwords were checked (each an argon2 hash)."""
    import engine.auth

    calls = []
    real = engine.auth.verify_password
    monkeypatch.setattr(engine.auth, "verify_password", lambda *a: calls.append(1) or real(*a))
    return calls


@pytest.fixture
def cheap_hash(monkeypatch):
    """``hashed`` without argon2's ~0.1–1 s per check, for tests that sign in dozens of times: every
    user's password is PASSWORD."""
    import engine.auth

    calls = []
    monkeypatch.setattr(engine.auth, "verify_password", lambda _, password: calls.append(1) or password == PASSWORD)
    return calls


def test_after_a_few_failures_a_username_is_refused_without_hashing(app, role_users, hashed):
    client = app.test_client()
    for _ in range(USER_LIMIT):
        assert attempt(client, "clerk_xikou", "wrong-password").status_code == 401
    assert len(hashed) == USER_LIMIT

    resp = attempt(client, "clerk_xikou", PASSWORD)  # even the right password, for now
    body = resp.get_data(as_text=True)
    assert resp.status_code == 429 and len(hashed) == USER_LIMIT
    assert "该账号登录失败次数过多，已暂停登录，请 15 分钟后再试" in body
    assert 14 * 60 < int(resp.headers["Retry-After"]) <= 15 * 60 + 1
    assert 'value="clerk_xikou"' in body  # what was typed stays
    assert app.test_client().get("/").status_code == 302  # no session
    # another username from the same address is not held by it
    assert attempt(client, "clerk_shangjie", PASSWORD).status_code == 302


def test_a_success_resets_the_username_count(app, role_users, db):
    client = app.test_client()
    for _ in range(USER_LIMIT - 1):
        attempt(client, "clerk_xikou", "wrong-password")
    assert attempt(app.test_client(), "clerk_xikou", PASSWORD).status_code == 302
    assert db.execute(text("SELECT failures FROM login_failures WHERE kind = 'username'")).all() == []
    for _ in range(USER_LIMIT):
        assert attempt(client, "clerk_xikou", "wrong-password").status_code == 401
    assert attempt(client, "clerk_xikou", "wrong-password").status_code == 429


def test_unknown_usernames_are_counted_like_known_ones(app, role_users):
    client = app.test_client()
    statuses = [attempt(client, "nobody", "wrong-password").status_code for _ in range(USER_LIMIT + 1)]
    assert statuses == [401] * USER_LIMIT + [429]  # the answer does not tell who exists


def test_many_failures_from_one_address_are_refused_for_any_username(app, role_users, cheap_hash):
    client = app.test_client()
    for i in range(ADDRESS_LIMIT):
        assert attempt(client, f"guess{i}", "wrong-password", "198.51.100.9").status_code == 401
    resp = attempt(client, "clerk_xikou", PASSWORD, "198.51.100.9")
    assert resp.status_code == 429 and "您所在网络的登录失败次数过多" in resp.get_data(as_text=True)
    assert len(cheap_hash) == ADDRESS_LIMIT
    assert attempt(client, "clerk_xikou", PASSWORD, "192.0.2.1").status_code == 302  # elsewhere: fine


def test_successes_from_one_address_count_nothing_against_it(app, role_users, db, cheap_hash):
    """A village office signs many clerks in from one address: only failures count."""
    for _ in range(ADDRESS_LIMIT + 3):
        assert attempt(app.test_client(), "clerk_xikou", PASSWORD, "198.51.100.10").status_code == 302
    assert db.scalar(text("SELECT failures FROM login_failures WHERE kind = 'address'")) == 0


def test_the_counts_are_shared_by_every_worker(app, role_users, settings, session_factory):
    from web.app import create_app

    other_worker = create_app(settings, session_factory, config={"TESTING": True})
    for _ in range(USER_LIMIT):
        attempt(app.test_client(), "clerk_xikou", "wrong-password")
    assert attempt(other_worker.test_client(), "clerk_xikou", PASSWORD).status_code == 429


def test_concurrent_attempts_cannot_slip_past_the_limit(app, role_users, cheap_hash):
    """Each attempt is counted and committed before its password is checked."""
    statuses: list[int] = []
    go = threading.Barrier(USER_LIMIT + 5)

    def one() -> None:
        client = app.test_client()
        go.wait()
        statuses.append(attempt(client, "clerk_xikou", "wrong-password").status_code)

    threads = [threading.Thread(target=one) for _ in range(USER_LIMIT + 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * USER_LIMIT + [429] * 5
    assert len(cheap_hash) == USER_LIMIT


def test_the_refusal_ends_with_its_window(app, role_users, db):
    client = app.test_client()
    for _ in range(USER_LIMIT):
        attempt(client, "clerk_xikou", "wrong-password")
    assert attempt(client, "clerk_xikou", PASSWORD).status_code == 429
    db.execute(text("UPDATE login_failures SET since = since - interval '15 minutes'"))
    db.commit()
    assert attempt(client, "clerk_xikou", PASSWORD).status_code == 302


def test_the_operator_lists_and_lifts_refusals(app, role_users, db, database_url, tmp_path, monkeypatch):
    from engine.db.models import AuditEntry

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    client = app.test_client()
    for _ in range(USER_LIMIT):
        attempt(client, "clerk_xikou", "wrong-password", "2001:db8:1:2::5")
    listed = run("users", "locked")
    assert listed.exit_code == 0
    assert f"用户名 clerk_xikou：失败 {USER_LIMIT}/{USER_LIMIT} 次，暂停登录，约 15 分钟后恢复" in listed.output
    assert f"网络地址 2001:db8:1:2::/64：失败 {USER_LIMIT}/{ADDRESS_LIMIT} 次，计数" in listed.output

    assert run("users", "unlock", "clerk_xikou").output.strip() == "已清除 1 项登录失败计数"
    assert attempt(client, "clerk_xikou", PASSWORD, "2001:db8:1:2::6").status_code == 302
    assert run("users", "unlock", "--address", "2001:db8:1:2::99").output.strip() == "已清除 1 项登录失败计数"
    assert "没有登录失败记录" in run("users", "locked").output
    attempt(client, "nobody", "wrong-password")
    assert run("users", "unlock", "--all").output.strip() == "已清除 2 项登录失败计数"
    assert "没有需要清除" in run("users", "unlock", "clerk_xikou").output
    refused = run("users", "unlock")
    assert refused.exit_code == 1 and "请给出用户名或 --address" in refused.output
    assert run("users", "unlock", "x", "--all").exit_code == 1
    audited = db.execute(select(AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id)
                         .order_by(AuditEntry.id)).all()
    assert [tuple(a) for a in audited if a[0] == "clear_login_failures"] == [
        ("clear_login_failures", "login_limit", "clerk_xikou"),
        ("clear_login_failures", "login_limit", "2001:db8:1:2::/64"),
        ("clear_login_failures", "login_limit", "*"),
    ]


def test_behind_a_proxy_the_forwarded_address_is_counted(settings, session_factory, role_users, db):
    """``grassroots serve`` trusts one proxy's X-Forwarded-For by default (nginx in front): without it
    every sign-in would come from 127.0.0.1 and one address's limit would hold everyone."""
    import dataclasses

    from web.app import create_app

    proxied = create_app(dataclasses.replace(settings, proxies=1), session_factory, config={"TESTING": True})
    client = proxied.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "x", "password": "wrong-password", "csrf_token": token},
                headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.50"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert db.scalar(text("SELECT subject FROM login_failures WHERE kind = 'address'")) == "203.0.113.50"


def test_serve_trusts_one_proxy_unless_told(monkeypatch, tmp_path):
    from web.settings import Settings

    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path))
    monkeypatch.delenv("GRASSROOTS_PROXIES", raising=False)
    assert Settings.from_env().proxies == 0
    assert Settings.from_env(proxies_default=1).proxies == 1
    monkeypatch.setenv("GRASSROOTS_PROXIES", "0")
    assert Settings.from_env(proxies_default=1).proxies == 0
