"""The `grassroots` console script against the test database (DATABASE_URL points at it)."""

import datetime as dt
import json
import os
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import cli
from engine.db.models import IndicatorSetVersion, OrgUnit, User
from tests.conftest import ROOT


@pytest.fixture
def run(database_url, tmp_path, monkeypatch, clean_db):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_orgs_import_all_or_nothing(run, db, tmp_path):
    good = tmp_path / "units.csv"
    shutil.copy(ROOT / "data/sample_province.csv", good)
    result = run("orgs", "import", str(good))
    assert result.exit_code == 0 and "已导入 42 个单位" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n390121101299,新村\n390199101201,无主村\n", encoding="utf-8")
    result = run("orgs", "import", str(bad))
    assert result.exit_code == 1
    assert "第3行" in result.output and "上级单位 390199101000 不存在" in result.output  # the file's line 3
    assert db.scalar(select(func.count()).select_from(OrgUnit)) == 42


def test_users_add_with_roles(run, sample_province, db):
    result = run("users", "add", "zhang", "--name", "张三", "--role", "township_reviewer@390121101000",
                 "--password", "secret-pass-1")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.username == "zhang"))
    assert [(r.role, r.org_code) for r in user.roles] == [("township_reviewer", "390121101000")]
    result = run("users", "add", "li", "--role", "township_reviewer@390121101201", "--password", "secret-pass-1")
    assert result.exit_code == 1 and "乡镇级" in result.output


def test_definitions_check_reports_file_and_pointer(run, tmp_path):
    assert run("definitions", "check", str(ROOT / "definitions")).exit_code == 0
    broken = tmp_path / "indicators" / "demo_set" / "v1.json"
    broken.parent.mkdir(parents=True)
    doc = json.loads((ROOT / "definitions/indicators/village_basic/v1.json").read_text(encoding="utf-8"))
    doc["properties"]["basic"]["properties"]["report_year"]["x-unti"] = "年"
    broken.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = run("definitions", "check", str(broken))
    assert result.exit_code == 1
    assert "x-unti" in result.output and "/properties/basic/properties/report_year" in result.output


def test_publish_is_immutable_and_idempotent(run, db, tmp_path):
    source = ROOT / "definitions/indicators/village_basic/v1.json"
    first = run("definitions", "publish", str(source))
    assert first.exit_code == 0 and "已发布" in first.output
    again = run("definitions", "publish", str(source))
    assert "内容相同" in again.output
    changed = tmp_path / "village_basic" / "v1.json"
    changed.parent.mkdir()
    doc = json.loads(source.read_text(encoding="utf-8"))
    doc["title"] = doc["title"] + "（修订）"
    changed.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused = run("definitions", "publish", str(changed))
    assert refused.exit_code == 1 and "已发布，内容不能再改" in refused.output
    assert db.scalar(select(func.count()).select_from(IndicatorSetVersion)) == 1
    out = tmp_path / "export.json"
    assert run("definitions", "export", "village_basic", "1", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(source.read_text(encoding="utf-8"))


def test_the_next_shipped_versions_check_and_publish_as_the_readme_says(run, db, tmp_path):
    """The centre's way to a new version, no code: check the file, publish it over the ones before it."""
    indicators = ROOT / "definitions/indicators"
    for version in (1, 2):
        assert run("definitions", "publish", str(indicators / f"village_basic/v{version}.json")).exit_code == 0
    v3 = indicators / "village_basic/v3.json"
    checked = run("definitions", "check", str(v3))
    assert checked.exit_code == 0 and f"✓ {v3}" in checked.output
    result = run("definitions", "publish", str(v3), "--note", "报告年度、区划代码、村名由系统填写")
    assert result.exit_code == 0 and result.output == "indicator_set village_basic v3: 已发布\n", result.output
    # the whole folder, as `make demo` publishes it: elderly_allowance v1 and v2 are new, the rest unchanged
    result = run("definitions", "publish", str(ROOT / "definitions"))
    assert result.exit_code == 0, result.output
    assert "indicator_set elderly_allowance v2: 已发布" in result.output
    assert "indicator_set village_basic v3: 内容相同，无需重复发布" in result.output
    rows = db.execute(select(IndicatorSetVersion.code, IndicatorSetVersion.version, IndicatorSetVersion.status)
                      .order_by(IndicatorSetVersion.code, IndicatorSetVersion.version)).all()
    assert [tuple(r) for r in rows] == [("elderly_allowance", 1, "published"), ("elderly_allowance", 2, "published"),
                                        ("village_basic", 1, "published"), ("village_basic", 2, "published"),
                                        ("village_basic", 3, "published")]
    out = tmp_path / "v3.json"
    assert run("definitions", "export", "village_basic", "3", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == v3.read_text(encoding="utf-8")


def test_a_serve_worker_freezes_what_it_loads_at_start(database_url, tmp_path):
    import gc

    from cli.context import Runtime
    from cli.serve import GunicornApp
    from web.settings import PROJECT_ROOT, Settings

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    worker = GunicornApp.__new__(GunicornApp)  # load() is what a worker runs after the fork
    worker.runtime = Runtime(Settings(tmp_path, "test-secret", 0, False, PROJECT_ROOT / "definitions"), database_url)
    try:
        app = worker.load()
        # the app and everything loaded with it are out of the cyclic collector's full collections
        assert app.name and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_serve_worker_loads_the_open_collections_definitions_before_its_first_request(
        database_url, collection, db, tmp_path, monkeypatch):
    import gc

    from cli.context import Runtime
    from cli.serve import GunicornApp
    from engine import publishing
    from engine.collections import close_collection, load_open_definitions
    from engine.forms import classes
    from web.settings import PROJECT_ROOT, Settings

    for name in ("_INDICATOR_CACHE", "_PROCESS_CACHE"):  # as in a fresh worker process
        monkeypatch.setattr(publishing, name, publishing._HashCache())
    monkeypatch.setattr(classes, "_cache", {})
    worker = GunicornApp.__new__(GunicornApp)
    worker.runtime = Runtime(Settings(tmp_path, "test-secret", 0, False, PROJECT_ROOT / "definitions"), database_url)
    try:
        worker.load()
    finally:
        gc.unfreeze()
    ind, proc = collection.indicator_set_version, collection.process_version
    assert ("ind", ind.code, ind.version, ind.content_hash) in publishing._INDICATOR_CACHE._items
    assert [key for key in publishing._PROCESS_CACHE._items if key[1:3] == (proc.code, proc.version)]
    assert any(key[0] == ind.code for key in classes._cache)  # the form classes too
    # a closed collection's versions are not loaded
    close_collection(db, collection.id)
    db.commit()
    assert load_open_definitions(db) == 0


def test_serve_runs_one_threaded_worker_per_core_unless_told(monkeypatch, tmp_path):
    from cli import serve as serve_module
    from cli.context import Runtime
    from web.settings import PROJECT_ROOT, Settings

    started: list[dict] = []
    monkeypatch.setattr(serve_module.GunicornApp, "run", lambda self: started.append(self.options))
    runtime = Runtime(Settings(tmp_path, "test-secret", 0, False, PROJECT_ROOT / "definitions"), "postgresql://x/y")
    monkeypatch.delenv("GRASSROOTS_WORKERS", raising=False)
    monkeypatch.delenv("GRASSROOTS_THREADS", raising=False)
    for cores, workers in ((1, 2), (2, 2), (4, 4), (32, 8), (None, 2)):
        monkeypatch.setattr(serve_module.os, "cpu_count", lambda cores=cores: cores)
        serve_module.serve(runtime, host="127.0.0.1", port=5000)
        assert (started[-1]["workers"], started[-1]["threads"], started[-1]["worker_class"]) == (workers, 8, "gthread")
    monkeypatch.setenv("GRASSROOTS_WORKERS", "3")
    monkeypatch.setenv("GRASSROOTS_THREADS", "6")
    serve_module.serve(runtime, host="127.0.0.1", port=5000)
    assert (started[-1]["workers"], started[-1]["threads"]) == (3, 6)
    serve_module.serve(runtime, host="127.0.0.1", port=5000, workers=5, threads=2)  # the command's options win
    assert (started[-1]["workers"], started[-1]["threads"]) == (5, 2)


def test_closing_a_closed_collection_says_so_and_audits_once(run, collection, db):
    from engine.db.models import AuditEntry

    first = run("collections", "close", str(collection.id))
    assert first.exit_code == 0 and f"采集任务 {collection.id} 已关闭" in first.output
    again = run("collections", "close", str(collection.id))
    assert again.exit_code == 0 and "早已关闭" in again.output
    closes = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "close")
    assert db.scalar(closes) == 1


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/nowhere", "无法连接数据库"),
    ("DATABASE_URL", "not a url", "DATABASE_URL 格式不正确"),
    ("DATABASE_URL", "mysql://u:p@localhost/db", "只能指向 PostgreSQL"),
    ("PORT", "abc", "环境变量 PORT 应为 1–65535 之间的整数"),
    ("GRASSROOTS_INSTANCE", "{tmp}/a-file", "实例目录"),
])
def test_a_bad_environment_is_one_chinese_line_not_a_traceback(run, tmp_path, monkeypatch, variable, value, says):
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv(variable, value.format(tmp=tmp_path))
    result = run("tick")  # any command: each reads the environment and opens the database
    assert result.exit_code == 1 and says in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_serve_with_a_bad_worker_count_says_which_variable(run, monkeypatch):
    monkeypatch.setenv("GRASSROOTS_WORKERS", "abc")
    result = run("serve", "--port", "0")
    assert result.exit_code == 1 and "环境变量 GRASSROOTS_WORKERS 应为" in result.output, result.output


def test_database_errors_never_show_statement_values(run, db, monkeypatch):
    """A refused statement's message names no parameter (it printed an argon2 hash of users add)."""
    from engine import auth

    monkeypatch.setattr(auth, "hash_password", lambda password: "secret-hash-" + "x" * 300)  # too long
    result = run("users", "add", "wang", "--password", "secret-pass-1")
    assert result.exit_code == 1 and "数据库拒绝了这次操作" in result.output, result.output
    assert "secret-hash" not in result.output and "Traceback" not in result.output
    assert db.get_bind().hide_parameters  # nor in a log's traceback (the web server's)


def test_orgs_import_lists_the_first_fifty_problems_and_counts_the_rest(run, sample_province, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n" + "".join(f"1{i:03d},村\n" for i in range(80)), encoding="utf-8")
    result = run("orgs", "import", str(bad))
    assert result.exit_code == 1 and "80 行有错误" in result.output
    assert result.output.count("区划代码必须是12位数字") == 50 and "另有 30 处错误未列出" in result.output


def test_orgs_import_reads_a_gbk_file_from_excel(run, sample_province, tmp_path):
    gbk = tmp_path / "excel.csv"
    gbk.write_bytes("区划代码,名称\r\n390121101205,新村委会\r\n".encode("gbk"))
    result = run("orgs", "import", str(gbk))
    assert result.exit_code == 0 and "已导入 1 个单位" in result.output, result.output
    assert sample_province.get(OrgUnit, "390121101205").name == "新村委会"


def test_users_add_refuses_bad_input_in_chinese(run, sample_province, db):
    township = "township_reviewer@390121101000"
    cases = [
        (("zhang", "--role", township, "--role", township), None),  # the same role twice: once
        ((" li", "--role", township), "用户名只能由字母、数字、汉字"),
        (("li\tli",), "用户名只能由"),
        (("li", "--name", "名" * 101), "显示名称不能超过100个字符"),
        (("wang", "--role", "mayor@390121101000"), "未知角色 mayor（可用：village_clerk（村级填报员）"),
        (("wang", "--role", "township_reviewer"), "角色格式应为 角色@区划代码"),
    ]
    for args, says in cases:
        result = run("users", "add", *args, "--password", "secret-pass-1")
        assert result.exit_code == (1 if says else 0), result.output
        assert "Traceback" not in result.output and (says or "已创建用户") in result.output, (args, result.output)
    assert run("users", "add", "wu", "--password", " " * 10).exit_code == 1
    zhang = db.scalar(select(User).where(User.username == "zhang"))
    assert [(r.role, r.org_code) for r in zhang.roles] == [("township_reviewer", "390121101000")]
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_users_add_takes_the_chinese_role_label_and_refuses_closed_units(run, sample_province):
    from engine.orgs import close_unit

    ok = run("users", "add", "zhao", "--role", "乡镇审核员@390121101000", "--password", "secret-pass-1")
    assert ok.exit_code == 0, ok.output
    close_unit(sample_province, "390121201203", on=dt.date(2021, 1, 1))
    sample_province.commit()
    closed = run("users", "add", "qian", "--role", "村级填报员@390121201203", "--password", "secret-pass-1")
    assert closed.exit_code == 1 and "已于 2021-01-01 撤销，不能再分配角色" in closed.output


def test_the_password_prompt_is_chinese(run, sample_province):
    result = run("users", "add", "sun", input="secret-pass-1\nother-pass-1\nsecret-pass-1\nsecret-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "密码：" in result.output and "再次输入密码：" in result.output and "两次输入的密码不一致" in result.output
    assert "Repeat" not in result.output and "Error" not in result.output
    aborted = run("users", "add", "zhou", input="")
    assert aborted.exit_code == 1 and "已取消" in aborted.output and "Aborted" not in aborted.output


def test_user_maintenance_commands_are_audited(run, sample_province, db):
    from engine.db.models import ApiToken, AuditEntry

    assert run("users", "add", "ops", "--password", "secret-pass-1").exit_code == 0
    granted = run("users", "grant", "ops", "--role", "county_reviewer@390121000000")
    assert granted.exit_code == 0 and "已授予 ops：county_reviewer@390121000000" in granted.output
    assert "已有这些角色" in run("users", "grant", "ops", "--role", "县级审核员@390121000000").output
    assert run("users", "token", "ops", "--name", "x" * 101).exit_code == 1
    run("users", "token", "ops", "--name", "民政")
    run("users", "token", "ops")
    revoked = run("users", "revoke-token", "ops", "--name", "民政")
    assert revoked.exit_code == 0 and "已吊销用户 ops 的 1 个令牌" in revoked.output
    assert run("users", "revoke-token", "ops", "--name", "民政").exit_code == 1  # none left of that name
    assert run("users", "password", "ops", "--password", "new-secret-2").exit_code == 0
    assert "已停用用户 ops" in run("users", "deactivate", "ops").output
    assert "早已停用" in run("users", "deactivate", "ops").output
    assert run("users", "deactivate", "nobody").exit_code == 1
    db.expire_all()
    user = db.scalar(select(User).where(User.username == "ops"))
    assert not user.active
    assert sorted((t.name, t.revoked_at is not None) for t in db.scalars(select(ApiToken))) == [("api", False), ("民政", True)]
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "user").order_by(AuditEntry.id)).all()
    assert actions == ["create_user", "grant_role", "issue_token", "issue_token", "revoke_token",
                       "reset_password", "deactivate_user"]
    assert all(db.scalars(select(AuditEntry.actor_id.is_(None))))  # the command line


def test_orgs_import_and_close_are_audited(run, db, tmp_path):
    from engine.db.models import AuditEntry

    good = tmp_path / "units.csv"
    shutil.copy(ROOT / "data/sample_province.csv", good)
    assert run("orgs", "import", str(good)).exit_code == 0
    assert run("orgs", "close", "390121201203", "--on", "2021-01-01", "--replaced-by", "390121201204").exit_code == 0
    refused = run("orgs", "close", "390121201203", "--on", "2022-01-01")
    assert refused.exit_code == 1 and "不能再次撤销" in refused.output
    rows = db.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.details).order_by(AuditEntry.id)).all()
    assert [(a, o) for a, o, _ in rows] == [("import_units", "390000000000"), ("close_unit", "390121201203")]
    assert rows[0].details["units"] == 42 and rows[1].details["replaced_by"] == "390121201204"


def test_publish_reports_nothing_as_published_when_a_later_file_fails(run, db, tmp_path):
    good = ROOT / "definitions/indicators/village_basic/v1.json"
    broken = tmp_path / "processes" / "village_report" / "v1.bpmn"
    broken.parent.mkdir(parents=True)
    broken.write_text("<definitions>not a flow", encoding="utf-8")
    result = run("definitions", "publish", str(good), str(broken))
    assert result.exit_code == 1 and "已发布" not in result.output, result.output
    assert db.scalar(select(func.count()).select_from(IndicatorSetVersion)) == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("说明", encoding="utf-8")
    result = run("definitions", "publish", str(good), str(notes))
    assert result.exit_code == 1 and f"不是定义文件（应为 .json 或 .bpmn），未发布任何文件：{notes}" in result.output
    assert "Traceback" not in result.output


def test_db_dump_and_restore_into_an_empty_database(run, sample_province, database_url, tmp_path, monkeypatch):
    """With the embedded server's own pg_dump (Debian's older one refuses a newer server)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from engine.db.embedded import drop_database, ensure_database

    backup = tmp_path / "backup.dump"
    dumped = run("db", "dump", str(backup))
    assert dumped.exit_code == 0 and "已备份到" in dumped.output, dumped.output
    url = make_url(database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"grassroots_restoretest_{os.getpid()}"
    ensure_database(admin, name)
    try:
        target = url.set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("DATABASE_URL", target)
        restored = run("db", "restore", str(backup))
        assert restored.exit_code == 0 and "已从" in restored.output, restored.output
        engine = create_engine(target)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(OrgUnit)) == 42
        engine.dispose()
        again = run("db", "restore", str(backup))
        assert again.exit_code == 1 and "数据库不是空的" in again.output
    finally:
        drop_database(admin, name)
    assert run("db", "dump", str(tmp_path / "nowhere" / "x.dump")).exit_code == 1


def test_collections_start_refuses_a_flow_whose_entry_lane_is_at_another_level(run, published, db):
    """QA: the shipped flow launched over a county for township reports gave 村级填报 to the townships."""
    from engine.db.models import Collection

    args = ["collections", "start", "--set", "village_basic", "--set-version", "2", "--process", "village_report",
            "--process-version", "1", "--period", "2025", "--scope", "390121000000", "--opens", "2026-01-01",
            "--deadline", "2026-03-31", "--title", "2025年乡镇年报"]
    for level, says in (("township", "而填报层级是乡镇级"), ("county", "低于填报层级（县级）")):
        result = run(*args, "--level", level)
        assert result.exit_code == 1 and "泳道「村级填报员」" in result.output and says in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Collection)) == 0
