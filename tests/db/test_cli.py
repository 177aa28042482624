"""The `grassroots` console script against the test database (DATABASE_URL points at it)."""

import json
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
