"""``grassroots tick``: fire the approval flows' due deadline timers (run it from cron or a systemd timer)."""

from __future__ import annotations

import datetime as dt

import click

from cli.context import open_runtime
from cli.main import cli


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@cli.command()
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="每批处理的流程实例数（每批一个事务）")
def tick(batch: int) -> None:
    """Fire every due timer, in batches of one transaction each, until none is due."""
    from engine.tasks import tick as fire

    rt = open_runtime()
    # One "now" for the whole run: a fired instance's next timer lies after it, so the loop ends.
    now = now_utc()
    total = 0
    while True:
        with rt.session() as s:
            done = fire(s, now, limit=batch)
        total += done
        if done < batch:  # a short batch: nothing due is left (rows locked by a concurrent tick are its work)
            break
    click.echo(f"已触发 {total} 个流程实例的到期计时器" if total else "没有到期的计时器")
