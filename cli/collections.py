"""``grassroots collections start|close|list|rebuild-rollups``."""

from __future__ import annotations

import datetime as dt

import click

import engine.rollups  # noqa: F401 (registers the approval listener: CLI approvals keep roll-ups current)
from cli.context import open_runtime
from cli.main import cli
from engine.roles import LEVEL_BY_NAME


@cli.group()
def collections() -> None:
    """采集任务."""


def _day(value: dt.datetime) -> dt.date:
    return value.date()


@collections.command("start")
@click.option("--set", "set_code", required=True, help="指标集代码，如 village_basic")
@click.option("--set-version", type=int, default=None, help="指标集版本（缺省为最新发布版本）")
@click.option("--process", "process_code", required=True, help="审批流程代码，如 village_report")
@click.option("--process-version", type=int, default=None, help="流程版本（缺省为最新发布版本）")
@click.option("--period", required=True, help="期别：2025、2025Q3 或 2025-10")
@click.option("--scope", required=True, help="采集范围（区划代码），如 390000000000")
@click.option("--level", type=click.Choice(list(LEVEL_BY_NAME)), default="village", show_default=True,
              help="填报层级")
@click.option("--opens", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="开始日期")
@click.option("--deadline", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="截止日期")
@click.option("--title", required=True, help="采集任务名称")
@click.option("--confirm-overlap", is_flag=True,
              help="确认重复发起：同一指标集、同一期别已有未关闭的采集任务覆盖该范围或其上下级时仍发起")
def collections_start(set_code: str, set_version: int | None, process_code: str, process_version: int | None,
                      period: str, scope: str, level: str, opens: dt.datetime, deadline: dt.datetime,
                      title: str, confirm_overlap: bool) -> None:
    """对一个区划发起采集任务（幂等：同一指标集版本、期别和范围只建一次；与同期未关闭的采集任务范围重叠时须确认）。"""
    from engine.collections import start_collection
    from engine.launch_overlap import OverlapRefused
    from engine.publishing import find_indicator_set_version, find_process_version

    rt = open_runtime()
    try:
        with rt.session() as s:
            ind = find_indicator_set_version(s, set_code, set_version)
            proc = find_process_version(s, process_code, process_version)
            started = start_collection(
                s, title=title, indicator_set_version_id=ind.id, process_version_id=proc.id, period=period,
                scope_org_code=scope, opens_on=_day(opens), deadline=_day(deadline),
                reporting_level=LEVEL_BY_NAME[level], confirm_overlap=confirm_overlap,
            )
            cid = started.collection.id
    except OverlapRefused as err:  # the engine's words, and how to confirm here
        raise OverlapRefused(f"{err.message}（确认时加 --confirm-overlap）", data_path=err.data_path,
                             details=err.details) from None
    for warning in started.warnings:
        click.secho(f"提醒：{warning}", fg="yellow")
    if started.overlapping:
        click.echo("已确认重复发起，范围与以下进行中的采集任务重叠：" + "；".join(o.describe() for o in started.overlapping))
    if started.created:
        click.echo(f"已发起采集任务 {cid}：{title}（{started.submissions} 个填报单位，"
                   f"其中 {started.prefilled} 个已用上期数据预填）")
    else:
        click.echo(f"采集任务 {cid} 已存在（同一指标集版本、期别和范围），未重复创建")


@collections.command("close")
@click.argument("collection_id", type=int)
def collections_close(collection_id: int) -> None:
    """关闭采集任务：不能再填报或审核。"""
    from engine.collections import close_collection

    rt = open_runtime()
    with rt.session() as s:
        closed_now = close_collection(s, collection_id)
    click.echo(f"采集任务 {collection_id} 已关闭" if closed_now else f"采集任务 {collection_id} 早已关闭，无需再关")


@collections.command("list")
def collections_list() -> None:
    """列出采集任务及其在采集范围上的完成情况。"""
    from sqlalchemy import select

    from engine.collections import STATUS_LABELS
    from engine.completeness import completeness
    from engine.db.models import Collection

    rt = open_runtime()
    with rt.session() as s:
        for c in s.scalars(select(Collection).order_by(Collection.id)):
            unit = completeness(s, c, c.scope_org_code, with_children=False).unit
            click.echo(f"{c.id:>4}  {c.title}  期别 {c.period}  范围 {c.scope_org_code}  "
                       f"{STATUS_LABELS.get(c.status, c.status)}  应报 {unit.expected}  "
                       f"终审 {unit.by_status['final']}  逾期 {unit.overdue}")


@collections.command("rebuild-rollups")
@click.argument("collection_id", type=int)
def collections_rebuild(collection_id: int) -> None:
    """根据已审核的报表重算采集任务的汇总（修复用）。"""
    from engine.rollups import rebuild_rollups

    rt = open_runtime()
    with rt.session() as s:
        n = rebuild_rollups(s, collection_id)
    click.echo(f"采集任务 {collection_id} 的汇总已重算（含 {n} 份已审核报表）")

