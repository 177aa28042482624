"""`grassroots bench`: province-scale benchmark of the engine next to its baselines (docs/performance.md).

Runs on the embedded PostgreSQL (instance/pgdata) or the server in DATABASE_URL, always in its own
freshly created database (``grassroots_bench``), never in the demo or test database.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from bench.scale import DEFAULT_VILLAGES
from cli.main import cli


def server_url() -> tuple[str, str]:
    """A URL on the server to benchmark on, and how it was chosen (for the machine description)."""
    from engine.db.embedded import normalise_url, start_embedded
    from web.settings import Settings

    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        return normalise_url(explicit), "DATABASE_URL"
    # The maintenance database: starting the embedded server must not create or touch the demo database.
    pgdata = Settings.from_env().instance_path / "pgdata"
    return start_embedded(pgdata, "postgres"), f"embedded pgserver ({pgdata})"


@cli.command("bench")
@click.option("--villages", default=DEFAULT_VILLAGES, show_default=True, help="村数（乡镇、县、市按比例）")
@click.option("--quick", is_flag=True, help="较小的样本（测试套件的冒烟运行）")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="把结果写入该 JSON 文件")
@click.option("--only", multiple=True, metavar="NAME", help="只测这些指标（名称或通配符，可多次给出）；其基线随之运行")
@click.option("--concurrency", default=16, show_default=True, help="HTTP 压测的并发长连接数")
@click.option("--bulk-jobs", type=click.IntRange(min=1), default=None,
              help="批量提交的进程数 [默认：每核一个]")
@click.option("--database-name", default="grassroots_bench", show_default=True, help="基准测试专用的数据库名")
@click.option("--keep-database", is_flag=True, help="保留基准数据库以便检查")
@click.option("--list", "list_figures", is_flag=True, help="列出所有指标后退出")
def bench(
    villages: int, quick: bool, json_path: Path | None, only: tuple[str, ...], concurrency: int,
    bulk_jobs: int | None, database_name: str, keep_database: bool, list_figures: bool,
) -> None:
    """性能基准：生成一个省的数据，测量引擎及其基线，输出结果表。"""
    from bench.registry import REGISTRY
    from bench.runner import BenchOptions, run_bench

    if list_figures:
        for spec in REGISTRY.values():
            vs = f"  (vs {spec.baseline})" if spec.baseline else ""
            click.echo(f"{spec.name:<40} {spec.unit:<8} {spec.description}{vs}")
        return
    url, mode = server_url()
    options = BenchOptions(villages=villages, quick=quick, only=only, concurrency=concurrency,
                           database_name=database_name, keep_database=keep_database,
                           **({"bulk_jobs": bulk_jobs} if bulk_jobs else {}))
    report = run_bench(url, options, database_mode=mode, progress=lambda line: click.echo(line, err=True))
    click.echo(report.table())
    if json_path is not None:
        report.write_json(json_path)
        click.echo(f"\n结果已写入 {json_path}")
    if not report.complete:
        raise click.ClickException("有指标未能测出（见上表）")

