"""``grassroots tick``: fire the approval flows' due deadline timers (run it from cron or a systemd timer)."""

from __future__ import annotations

import datetime as dt
import sys

import click

from cli.context import open_runtime
from cli.main import cli


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@cli.command()
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="每批处理的流程实例数（每批一个事务）")
def tick(batch: int) -> None:
    """触发所有到期的计时器（每批一个事务），直到没有到期的为止；有实例失败时退出码为 1。"""
    from engine.tasks import tick as fire

    rt = open_runtime()
    # One "now" for the whole run: a fired instance's next timer lies after it, so the loop ends.
    now = now_utc()
    total = 0
    failed: set[int] = set()  # tried and failed in this run: not tried again, so they hold back no batch
    while True:
        failed_before = len(failed)
        with rt.session() as s:
            done = fire(s, now, limit=batch, failed=failed)
        total += done
        if done + len(failed) - failed_before < batch:
            break  # a short batch: nothing due is left (rows locked by a concurrent tick are its work)
    if failed:
        ids = "、".join(str(i) for i in sorted(failed))
        click.secho(f"已触发 {total} 个流程实例的到期计时器，{len(failed)} 个失败（实例 {ids}）", fg="red", err=True)
        sys.exit(1)
    click.echo(f"已触发 {total} 个流程实例的到期计时器" if total else "没有到期的计时器")
