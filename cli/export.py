"""``grassroots export COLLECTION_ID --format xlsx --org-unit CODE -o FILE [--as USERNAME]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.context import open_runtime
from cli.main import cli
from engine.auth import Assignment, Principal, principal_for
from engine.db.models import Collection, OrgUnit, User
from engine.errors import BadInput, NotFound
from engine.exports import DEFAULT_BATCH, FORMATS, export_to_file, parse_level, plan_export, record_export
from engine.orgs import code_problem, is_within
from engine.roles import Level


def _principal(session: Session, username: str | None, collection_id: int, org_unit: str | None) -> Principal:
    """The named user's rights; without one, the province administrator's over the collection (which
    exclude personal fields). The command line may know why a unit cannot be exported: it says so,
    where a user only learns that it is unknown or out of reach."""
    if username:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        return principal_for(user)
    collection = session.get(Collection, collection_id)
    if collection is None:
        raise NotFound(f"采集任务 {collection_id} 不存在")
    if org_unit is not None:
        reason = code_problem(org_unit)
        if reason:
            raise BadInput(f"--org-unit {org_unit}：{reason}")
        if session.get(OrgUnit, org_unit) is None:
            raise NotFound(f"--org-unit：区划代码 {org_unit} 不存在")
        scope = collection.scope_org_code
        if not (is_within(org_unit, scope) or is_within(scope, org_unit)):
            raise BadInput(f"--org-unit：单位 {org_unit} 不在采集任务 {collection_id} 的范围（{scope}）内")
    province = collection.scope_org_code[:2].ljust(12, "0")
    return Principal(0, "cli", "命令行", (Assignment("province_admin", province),))


@cli.command("export")
@click.argument("collection_id", type=int)
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="xlsx", show_default=True,
              help="文件格式")
@click.option("--org-unit", default=None, help="导出哪个单位的下辖数据（默认为采集范围）")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="输出文件")
@click.option("--as", "username", default=None, help="按该用户的权限导出（默认：省级管理员权限，不含个人信息）")
@click.option("--table", default=None, help="只导出一个表（明细表的键，如 elders）；CSV 默认主表")
@click.option("--approved-at", default="township", show_default=True,
              help="审核层级：终审通过，或已由该层级（或更高）审核通过的数据")
@click.option("--all-units", is_flag=True, help="列出全部单位及其状态（未审核的单位不含数据）")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="每批读取的单位数")
def export(collection_id: int, fmt: str, org_unit: str | None, output: Path, username: str | None,
           table: str | None, approved_at: str, all_units: bool, batch_size: int) -> None:
    """导出采集任务的已审核数据为 XLSX 或 CSV（分批流式写出）。"""
    if not output.parent.is_dir():  # before the database is opened and the export read
        raise BadInput(f"输出目录 {output.parent} 不存在，请先创建它或换一个 -o 路径")
    rt = open_runtime()
    with rt.session() as s:
        principal = _principal(s, username, collection_id, org_unit)
        plan = plan_export(s, principal, collection_id, org_unit, all_units=all_units, batch_size=batch_size,
                           approved_at=parse_level(approved_at, Level.TOWNSHIP, "审核层级"))
        plan.table(table)  # an unknown table fails before the file is created
        total = plan.selection.count(s)
        with click.progressbar(length=total, label="导出中（单位）", show_pos=True, file=sys.stderr) as bar:
            try:
                export_to_file(s, plan, FORMATS[fmt], output, table=table, on_batch=bar.update)
            except OSError as err:  # no permission, disk full: the partial file is gone already
                raise BadInput(f"无法写入 {output}：{err.strerror}") from None
        record_export(s, plan, fmt, table)
    personal = "含个人信息" if plan.show_sensitive else "不含个人信息"
    click.echo(f"已导出 {total} 个单位（{plan.selection.root_name}，{personal}）→ {output}")
