"""The ``grassroots`` console script."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import click
import psycopg
import sqlalchemy.exc

from cli.chinese import ChineseGroup
from cli.context import Runtime, open_runtime
from engine.errors import GrassrootsError

PROBLEMS_SHOWN = 50  # a file in the wrong format has a problem on every line: the first ones tell


def fail(err: GrassrootsError) -> None:
    click.secho(f"错误：{err.message}", fg="red", err=True)
    for p in err.problems[:PROBLEMS_SHOWN]:
        where = f"{p.definition}: " if p.definition else ""
        click.echo(f"  - {where}{p.message}", err=True)
    if len(err.problems) > PROBLEMS_SHOWN:
        click.echo(f"  …… 另有 {len(err.problems) - PROBLEMS_SHOWN} 处错误未列出", err=True)
    sys.exit(1)


def _first_line(err: BaseException) -> str:
    cause = getattr(err, "orig", None) or err  # SQLAlchemy's wrapper: the driver's own message
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


# Failures of what a command runs on rather than of its input, most specific first: what happened and
# what to check, in one line. Nothing is half-done: the command's transaction was rolled back.
_DB_HINT = "请检查环境变量 DATABASE_URL（服务器是否运行、地址、端口、用户名和密码）；不设置它则使用实例目录中的内置数据库"
INFRASTRUCTURE_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (sqlalchemy.exc.OperationalError, "无法连接数据库或连接中断（{detail}）。" + _DB_HINT),
    (psycopg.OperationalError, "无法连接数据库或连接中断（{detail}）。" + _DB_HINT),
    (sqlalchemy.exc.DBAPIError, "数据库拒绝了这次操作，未保存任何改动（{detail}）"),
)


class EngineErrorsGroup(ChineseGroup):
    """Engine and database errors end a command with a Chinese message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GrassrootsError as err:
            fail(err)
        except (click.Abort, KeyboardInterrupt):  # Ctrl-C or end of input at a prompt: click says "Aborted!"
            click.echo("\n已取消（未完成的操作没有保存）", err=True)
            sys.exit(1)
        except tuple(kind for kind, _ in INFRASTRUCTURE_ERRORS) as err:
            message = next(text for kind, text in INFRASTRUCTURE_ERRORS if isinstance(err, kind))
            fail(GrassrootsError(message.format(detail=_first_line(err))))


@click.group(cls=EngineErrorsGroup)
def cli() -> None:
    """基层数据采集引擎 grassroots."""


@cli.group()
def db() -> None:
    """数据库."""


@db.command("upgrade")
def db_upgrade() -> None:
    """把数据库升级到最新版本（未设置 DATABASE_URL 时使用内置数据库）。"""
    rt = open_runtime(migrate=True)
    click.echo(f"数据库已升级到最新版本：{rt.url.split('@')[-1]}")


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the ones shipped with the embedded server (pgserver's wheel), whose version
    is the server's (a distribution's older pg_dump refuses a newer server: "server version mismatch"),
    else the first on PATH."""
    import shutil

    import pgserver

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    found = str(bundled) if bundled.exists() else shutil.which(name)
    if found is None:
        from engine.errors import NotFound

        raise NotFound(f"找不到 {name}：请安装 PostgreSQL 客户端（与服务器同一主版本）")
    return found


def _run_pg_tool(rt: Runtime, name: str, *args: str) -> None:
    """Run a PostgreSQL client on the runtime's database; the password goes in the environment, not on
    the command line where ``ps`` shows it."""
    import subprocess

    from sqlalchemy.engine import make_url

    from engine.errors import BadInput

    url = make_url(rt.url)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([_pg_tool(name), *args, f"--dbname={target}"], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"退出码 {done.returncode}"])[-1]
        raise BadInput(f"{name} 失败：{detail}")


@db.command("dump")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_dump(file: Path) -> None:
    """备份整个数据库到 FILE（PostgreSQL 自定义格式，压缩；可在系统使用中进行）。"""
    from engine.errors import BadInput

    if not file.parent.is_dir():
        raise BadInput(f"目录 {file.parent} 不存在")
    rt = open_runtime()  # the embedded server runs while this command runs
    try:
        _run_pg_tool(rt, "pg_dump", "--format=custom", "--no-owner", f"--file={file}")
    except BaseException:
        file.unlink(missing_ok=True)  # no partial file that looks like a backup
        raise
    click.echo(f"已备份到 {file}（{file.stat().st_size / 1024 / 1024:.1f} MiB）")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def db_restore(file: Path) -> None:
    """从 db dump 的备份恢复到一个空数据库（一个事务：失败则什么也不写），然后升级到最新版本。"""
    from sqlalchemy import text

    from engine.db.migrate import upgrade
    from engine.errors import Conflict

    rt = open_runtime(migrate=False)  # into the empty database as it is; migrated after the restore
    with rt.session() as s:
        tables = s.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
    if tables:
        raise Conflict("数据库不是空的，未恢复：请恢复到一个空数据库（新的实例目录 GRASSROOTS_INSTANCE，"
                       "或新建的 DATABASE_URL 数据库）")
    rt.engine.dispose()
    _run_pg_tool(rt, "pg_restore", "--no-owner", "--single-transaction", "--exit-on-error", str(file))
    upgrade(rt.url)
    click.echo(f"已从 {file} 恢复")


@cli.group()
def orgs() -> None:
    """区划（组织层级）."""


@orgs.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def orgs_import(file: Path) -> None:
    """从 CSV 导入单位（code,name[,parent[,urban_rural_class]]，UTF-8 或 GBK 编码）；全部导入或全不导入。"""
    from engine.orgs import import_units, read_units_file

    rows = read_units_file(file)
    rt = open_runtime()
    with rt.session() as s:
        n = import_units(s, rows, source=str(file))
    click.echo(f"已导入 {n} 个单位")


@orgs.command("generate")
@click.option("--villages", default=35065, show_default=True, help="村级单位数")
@click.option("--townships", default=1500, show_default=True, help="乡级单位数")
@click.option("--counties", default=90, show_default=True, help="县级单位数")
@click.option("--cities", default=11, show_default=True, help="市级单位数")
@click.option("--province", default="39", show_default=True, help="省级代码（前两位）")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="输出文件")
def orgs_generate(villages: int, townships: int, counties: int, cities: int, province: str, output: Path) -> None:
    """生成一个全省规模的模拟区划 CSV（供性能基准使用）。"""
    from engine.orgs import generate_province, generated_rows_csv

    rows = list(generate_province(province=province, cities=cities, counties=counties,
                                  townships=townships, villages=villages))
    output.write_text(generated_rows_csv(rows), encoding="utf-8")
    click.echo(f"已生成 {len(rows)} 个单位 → {output}")


@orgs.command("close")
@click.argument("code")
@click.option("--on", "on_date", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="撤销日期（YYYY-MM-DD）")
@click.option("--replaced-by", default=None, help="合并后的单位代码")
def orgs_close(code: str, on_date, replaced_by: str | None) -> None:
    """撤销或合并单位（历史数据保留）。"""
    from engine.orgs import close_unit

    rt = open_runtime()
    with rt.session() as s:
        close_unit(s, code, on=on_date.date(), replaced_by=replaced_by)
    click.echo(f"{code} 已于 {on_date.date()} 撤销" + (f"，并入 {replaced_by}" if replaced_by else ""))


@cli.group()
def users() -> None:
    """用户与角色."""


ROLE_HELP = "角色@区划代码，可多次给出，如 township_reviewer@390121101000 或 乡镇审核员@390121101000"


def _role_pairs(specs: tuple[str, ...]) -> list[tuple[str, str]]:
    from engine.errors import BadInput

    pairs = []
    for spec in specs:
        role, sep, org = spec.partition("@")
        if not sep or not role.strip() or not org.strip():
            raise BadInput(f"角色格式应为 角色@区划代码（如 township_reviewer@390121101000）：{spec}")
        pairs.append((role.strip(), org.strip()))
    return pairs


def _ask_password() -> str:
    """The new password, typed twice without echo (click's own prompts are English)."""
    while True:
        first = click.prompt("密码", hide_input=True, prompt_suffix="：")
        if first == click.prompt("再次输入密码", hide_input=True, prompt_suffix="："):
            return first
        click.echo("两次输入的密码不一致，请重新输入", err=True)


def _user(session, username: str):
    from sqlalchemy import select

    from engine.db.models import User
    from engine.errors import NotFound

    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="显示名称（默认同用户名）")
@click.option("--role", "roles", multiple=True, help=ROLE_HELP)
@click.option("--password", default=None, help="密码（不给则提示输入两次；写在命令行会留在 shell 历史中）")
def users_add(username: str, display_name: str | None, roles: tuple[str, ...], password: str | None) -> None:
    """新建用户，并授予其在各单位的角色。"""
    from engine.auth import create_user

    pairs = _role_pairs(roles)
    password = password if password is not None else _ask_password()
    rt = open_runtime()
    with rt.session() as s:
        create_user(s, username, password, display_name=display_name, roles=pairs)
    click.echo(f"已创建用户 {username}")


@users.command("grant")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help=ROLE_HELP)
def users_grant(username: str, roles: tuple[str, ...]) -> None:
    """授予已有用户角色（已有的角色不重复授予）。"""
    from engine.auth import grant_role

    pairs = _role_pairs(roles)
    rt = open_runtime()
    with rt.session() as s:
        user = _user(s, username)
        granted = [f"{role}@{org}" for role, org in pairs if grant_role(s, user, role, org)]
    held = len(pairs) - len(granted)
    click.echo((f"已授予 {username}：{'、'.join(granted)}" if granted else f"{username} 已有这些角色，未做改动")
               + (f"（{held} 个角色原已拥有）" if granted and held else ""))


@users.command("deactivate")
@click.argument("username")
def users_deactivate(username: str) -> None:
    """停用用户：不能再登录，已登录的会话和接口令牌也不再有效（数据与记录保留）。"""
    from engine.auth import deactivate_user

    rt = open_runtime()
    with rt.session() as s:
        changed = deactivate_user(s, _user(s, username))
    click.echo(f"已停用用户 {username}" if changed else f"用户 {username} 早已停用")


@users.command("password")
@click.argument("username")
@click.option("--password", default=None, help="新密码（不给则提示输入两次）")
def users_password(username: str, password: str | None) -> None:
    """重设用户的密码（其已登录的会话随之失效）。"""
    from engine.auth import reset_password

    password = password if password is not None else _ask_password()
    rt = open_runtime()
    with rt.session() as s:
        reset_password(s, _user(s, username), password)
    click.echo(f"已重设用户 {username} 的密码，其已登录的会话均已失效")


@users.command("locked")
def users_locked() -> None:
    """列出登录失败计数（正在暂停登录的在前）。"""
    from engine.login_throttle import KIND_LABELS, LIMITS, held_counts

    rt = open_runtime()
    with rt.session() as s:
        held = held_counts(s)
    if not held:
        click.echo("没有登录失败记录")
    for h in held:
        minutes = max(1, -(-int(h.retry_after.total_seconds()) // 60))
        state = f"暂停登录，约 {minutes} 分钟后恢复" if h.refusing else f"计数 {minutes} 分钟后清零"
        click.echo(f"{KIND_LABELS[h.kind]} {h.subject}：失败 {h.failures}/{LIMITS[h.kind].failures} 次，{state}")


@users.command("unlock")
@click.argument("username", required=False)
@click.option("--address", default=None, help="解除这个网络地址（IPv6 按所在 /64 网段）的登录限制")
@click.option("--all", "everything", is_flag=True, help="清除全部登录失败计数")
def users_unlock(username: str | None, address: str | None, everything: bool) -> None:
    """解除登录限制：清除用户名或网络地址的登录失败计数。"""
    from engine.errors import BadInput
    from engine.login_throttle import clear_counts

    if everything == (username is not None or address is not None):
        raise BadInput("请给出用户名或 --address 网络地址，或只用 --all 清除全部")
    rt = open_runtime()
    with rt.session() as s:
        n = clear_counts(s, username=username, address=address)
    click.echo(f"已清除 {n} 项登录失败计数" if n else "没有需要清除的登录失败计数")


@users.command("token")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="令牌名称（吊销时用）")
# engine.auth's TOKEN_DAYS_MAX and TOKEN_VALIDITY, written out: importing it here would load argon2 and
# psycopg for every command's --help
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True, help="有效天数，到期后令牌失效")
def users_token(username: str, name: str, days: int) -> None:
    """为部门系统发放接口令牌（只显示这一次）：令牌单独一行输出到标准输出，有效期输出到标准错误。"""
    import datetime as dt

    from engine.auth import create_api_token
    from engine.review import local_time

    now = dt.datetime.now(dt.UTC)
    rt = open_runtime()
    with rt.session() as s:
        token = create_api_token(s, _user(s, username), name, valid_for=dt.timedelta(days=days), now=now)
    click.echo(token)
    click.echo(f"有效期至 {local_time(now + dt.timedelta(days=days))}（北京时间）", err=True)


@users.command("tokens")
@click.argument("username")
def users_tokens(username: str) -> None:
    """列出用户的接口令牌及其有效期（时间为北京时间）。"""
    from sqlalchemy import func, select

    from engine.auth import api_tokens_of, token_state
    from engine.review import local_time

    rt = open_runtime()
    with rt.session() as s:
        tokens = api_tokens_of(s, _user(s, username))
        now = s.scalar(select(func.now()))
    if not tokens:
        click.echo(f"用户 {username} 没有接口令牌")
        return
    click.echo("名称\t发放时间\t有效期至\t最近使用\t状态")
    for t in tokens:
        click.echo(f"{t.name}\t{local_time(t.created_at)}\t{local_time(t.expires_at)}\t"
                   f"{local_time(t.last_used_at) or '从未'}\t{token_state(t, now)}")


@users.command("revoke-token")
@click.argument("username")
@click.option("--name", default=None, help="只吊销这个名称的令牌（默认：该用户的全部令牌）")
def users_revoke_token(username: str, name: str | None) -> None:
    """吊销用户的接口令牌：之后的请求即被拒绝。"""
    from engine.auth import revoke_api_tokens
    from engine.errors import NotFound

    rt = open_runtime()
    with rt.session() as s:
        n = revoke_api_tokens(s, _user(s, username), name)
        if not n:
            which = f"名为 {name} 的" if name is not None else ""
            raise NotFound(f"用户 {username} 没有{which}有效令牌")
    click.echo(f"已吊销用户 {username} 的 {n} 个令牌")


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="监听地址")  # noqa: S104 (a server is meant to listen)
@click.option("--port", type=int, default=None, help="默认取环境变量 PORT 或 5000")
@click.option("--workers", type=int, default=None, help="默认取环境变量 GRASSROOTS_WORKERS")
@click.option("--threads", type=int, default=None, help="每个进程的线程数，默认取环境变量 GRASSROOTS_THREADS")
def serve(host: str, port: int | None, workers: int | None, threads: int | None) -> None:
    """生产环境网站服务（gunicorn，多进程）。"""
    from cli.serve import serve as run

    rt = open_runtime(secure_cookies_default=True, proxies_default=1)  # behind nginx (docs/operations.md)
    run(rt, host=host, port=port or rt.settings.port, workers=workers, threads=threads)


def where_data_live(rt: Runtime) -> str:
    """Where the demo's data are, in the banner's words: the instance folder actually used (the
    embedded database), or the server of ``DATABASE_URL``."""
    if os.environ.get("DATABASE_URL"):
        return "数据保存在 DATABASE_URL 所指的数据库中"
    return f"数据保存在 {rt.settings.instance_path} 目录（内置数据库）"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", type=int, default=None, help="默认取环境变量 PORT 或 5000")
@click.option("--no-serve", is_flag=True, help="只准备数据，不启动网站")
def demo(host: str, port: int | None, no_serve: bool) -> None:
    """准备演示（数据库、定义、示范省、演示账号）并启动网站。"""
    from cli.demo import prepare_demo
    from cli.serve import serve as run

    rt = open_runtime()
    accounts = prepare_demo(rt)
    port = port or rt.settings.port
    click.echo("")
    click.secho(f"基层数据采集平台：http://{host}:{port}/", fg="green", bold=True)
    click.echo(f"演示账号（密码均为 {accounts.password}）：")
    for username, label in accounts.rows:
        click.echo(f"  {username:<12} {label}")
    click.echo(f"按 Ctrl-C 停止；{where_data_live(rt)}，重新启动后仍在。")
    if not no_serve:
        run(rt, host=host, port=port, workers=2)


# Every other module of this package adds its commands to the group on import.
_MACHINERY = {"main", "context", "serve", "demo"}
for _module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _module.name not in _MACHINERY:
        importlib.import_module(f"cli.{_module.name}")
