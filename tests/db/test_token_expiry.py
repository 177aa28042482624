"""API bearer tokens expire: issued for a validity (365 days unless told), refused after it with a 401
that says so in Chinese, listed with their expiry. Replays the security QA's finding (tokens never
expired)."""

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cli.main import cli
from engine.auth import TOKEN_VALIDITY, create_api_token
from engine.db.models import ApiToken, User


@pytest.fixture
def run_cli(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def user(db, name: str) -> User:
    return db.scalar(select(User).where(User.username == name))


def me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_token_is_refused_once_it_has_expired(client, role_users, db):
    token = create_api_token(db, user(db, "viewer"), "民政")
    db.commit()
    row = db.scalar(select(ApiToken))
    assert TOKEN_VALIDITY == dt.timedelta(days=365)
    assert abs(row.expires_at - row.created_at - TOKEN_VALIDITY) < dt.timedelta(minutes=1)
    assert me(client, token).status_code == 200
    uses = client.application.extensions["grassroots.token_use_log"]
    uses.flush()  # that use stamped now, not by the timer after the line below

    db.execute(text("UPDATE api_tokens SET expires_at = TIMESTAMPTZ '2026-03-01 12:30+08', last_used_at = NULL"))
    db.commit()
    resp = me(client, token)
    assert resp.status_code == 401
    error = resp.get_json()["error"]
    assert error["code"] == "token_expired"
    assert error["message"] == "访问令牌已于 2026-03-01 12:30（北京时间）过期，请联系管理员重新发放"
    uses.flush()
    db.expire_all()
    assert db.scalar(select(ApiToken.last_used_at)) is None  # a refused token was not used
    # an unknown token still reads as one
    assert me(client, "gr_nope").get_json()["error"]["code"] == "unauthenticated"


def test_a_token_issued_for_a_shorter_time_expires_then(client, role_users, db):
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    create_api_token(db, user(db, "viewer"), "短期", valid_for=dt.timedelta(days=30), now=now)
    db.commit()
    assert db.scalar(select(ApiToken.expires_at)) == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)


def test_the_command_line_issues_for_a_validity_and_lists_expiry(run_cli, role_users, db, client):
    issued = run_cli("users", "token", "viewer", "--name", "民政")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()  # the token alone on stdout, for scripts: $(grassroots users token …)
    assert token.startswith("gr_") and "\n" not in token
    expires = db.scalar(select(ApiToken.expires_at).where(ApiToken.name == "民政"))
    beijing = expires.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert f"有效期至 {beijing}（北京时间）" in issued.stderr
    assert me(client, token).status_code == 200

    short = run_cli("users", "token", "viewer", "--name", "统计", "--days", "7")
    assert short.exit_code == 0
    db.expire_all()
    row = db.scalar(select(ApiToken).where(ApiToken.name == "统计"))
    assert abs(row.expires_at - row.created_at - dt.timedelta(days=7)) < dt.timedelta(minutes=1)
    for bad in ("0", "3651", "x"):
        assert run_cli("users", "token", "viewer", "--days", bad).exit_code == 2

    run_cli("users", "revoke-token", "viewer", "--name", "统计")
    db.execute(text("UPDATE api_tokens SET created_at = now() - interval '400 days',"
                    " expires_at = now() - interval '35 days' WHERE name = '民政'"))
    db.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, expires_at)"
                    " SELECT id, 'api', repeat('b', 64), now() + interval '3 days' FROM users WHERE username = 'viewer'"))
    db.commit()
    listed = run_cli("users", "tokens", "viewer")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert lines[0].split() == ["名称", "发放时间", "有效期至", "最近使用", "状态"]
    states = {line.split()[0]: line.split()[-1] for line in lines[1:]}
    assert states == {"民政": "已过期", "统计": "已吊销", "api": "有效（3天内到期）"}
    assert beijing not in listed.output  # moved back above
    assert run_cli("users", "tokens", "rev_yunxi").output.strip() == "用户 rev_yunxi 没有接口令牌"


def test_expiry_is_in_the_audit_of_an_issue(role_users, db):
    from engine.db.models import AuditEntry

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    create_api_token(db, user(db, "viewer"), "民政", now=now)
    db.commit()
    details = db.scalar(select(AuditEntry.details).where(AuditEntry.action == "issue_token"))
    assert details["expires_at"] == "2027-01-01T00:00:00+00:00"


def test_the_api_document_tells_clients_tokens_expire(client):
    bearer = client.get("/api/v1/openapi.json").get_json()["components"]["securitySchemes"]["bearer"]
    assert "365" in bearer["description"] and "token_expired" in bearer["description"]
