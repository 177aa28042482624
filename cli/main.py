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


class EngineErrorsGroup(click.Group):
    """Engine and database errors end a command with a Chinese message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GrassrootsError as err:
            fail(err)
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
    """Apply the Alembic migrations (embedded PostgreSQL unless DATABASE_URL is set)."""
    rt = open_runtime(migrate=True)
    click.echo(f"数据库已升级到最新版本：{rt.url.split('@')[-1]}")


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
@click.option("--villages", default=35065, show_default=True)
@click.option("--townships", default=1500, show_default=True)
@click.option("--counties", default=90, show_default=True)
@click.option("--cities", default=11, show_default=True)
@click.option("--province", default="39", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def orgs_generate(villages: int, townships: int, counties: int, cities: int, province: str, output: Path) -> None:
    """Write a synthetic province-scale hierarchy as CSV (for the benchmark)."""
    from engine.orgs import generate_province, generated_rows_csv

    rows = list(generate_province(province=province, cities=cities, counties=counties,
                                  townships=townships, villages=villages))
    output.write_text(generated_rows_csv(rows), encoding="utf-8")
    click.echo(f"已生成 {len(rows)} 个单位 → {output}")


@orgs.command("close")
@click.argument("code")
@click.option("--on", "on_date", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--replaced-by", default=None, help="合并后的单位代码")
def orgs_close(code: str, on_date, replaced_by: str | None) -> None:
    """Close or merge a unit (history is kept)."""
    from engine.orgs import close_unit

    rt = open_runtime()
    with rt.session() as s:
        close_unit(s, code, on=on_date.date(), replaced_by=replaced_by)
    click.echo(f"{code} 已于 {on_date.date()} 撤销" + (f"，并入 {replaced_by}" if replaced_by else ""))


@cli.group()
def users() -> None:
    """用户与角色."""


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="显示名称")
@click.option("--role", "roles", multiple=True, help="ROLE@ORG_CODE, e.g. township_reviewer@390121101000")
@click.password_option("--password", prompt="密码", confirmation_prompt=True)
def users_add(username: str, display_name: str | None, roles: tuple[str, ...], password: str) -> None:
    """Create a user with roles at org units."""
    from engine.auth import create_user
    from engine.errors import BadInput

    pairs = []
    for spec in roles:
        role, sep, org = spec.partition("@")
        if not sep:
            raise BadInput(f"角色格式应为 ROLE@ORG_CODE：{spec}")
        pairs.append((role, org))
    rt = open_runtime()
    with rt.session() as s:
        create_user(s, username, password, display_name=display_name, roles=pairs)
    click.echo(f"已创建用户 {username}")


@users.command("token")
@click.argument("username")
@click.option("--name", default="api", show_default=True)
def users_token(username: str, name: str) -> None:
    """Create an API bearer token for a department system (shown once)."""
    from sqlalchemy import select

    from engine.auth import create_api_token
    from engine.db.models import User
    from engine.errors import NotFound

    rt = open_runtime()
    with rt.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        token = create_api_token(s, user, name)
    click.echo(token)


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 (a server is meant to listen)
@click.option("--port", type=int, default=None, help="默认取环境变量 PORT 或 5000")
@click.option("--workers", type=int, default=None, help="默认取环境变量 GRASSROOTS_WORKERS")
@click.option("--threads", type=int, default=None, help="每个进程的线程数，默认取环境变量 GRASSROOTS_THREADS")
def serve(host: str, port: int | None, workers: int | None, threads: int | None) -> None:
    """Production server (gunicorn, several workers)."""
    from cli.serve import serve as run

    rt = open_runtime(secure_cookies_default=True)
    run(rt, host=host, port=port or rt.settings.port, workers=workers, threads=threads)


def where_data_live(rt: Runtime) -> str:
    """Where the demo's data are, in the banner's words: the instance folder actually used (the
    embedded database), or the server of ``DATABASE_URL``."""
    if os.environ.get("DATABASE_URL"):
        return "数据保存在 DATABASE_URL 所指的数据库中"
    return f"数据保存在 {rt.settings.instance_path} 目录（内置数据库）"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None)
@click.option("--no-serve", is_flag=True, help="只准备数据，不启动网站")
def demo(host: str, port: int | None, no_serve: bool) -> None:
    """Prepare the demo (database, definitions, sample province, accounts) and serve it."""
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
