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
@click.option("--quick", is_flag=True, help="smaller samples (the test suite's smoke run)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="write the results here")
@click.option("--only", multiple=True, metavar="NAME", help="figure name or glob (repeatable); baselines follow")
@click.option("--concurrency", default=16, show_default=True, help="HTTP load: concurrent keep-alive connections")
@click.option("--bulk-jobs", type=click.IntRange(min=1), default=None,
              help="processes for the bulk submission [default: one per core]")
@click.option("--database-name", default="grassroots_bench", show_default=True, help="the benchmark's own database")
@click.option("--keep-database", is_flag=True, help="leave the benchmark database for inspection")
@click.option("--list", "list_figures", is_flag=True, help="list the figures and exit")
def bench(
    villages: int, quick: bool, json_path: Path | None, only: tuple[str, ...], concurrency: int,
    bulk_jobs: int | None, database_name: str, keep_database: bool, list_figures: bool,
) -> None:
    """性能基准：generate a province, measure the engine and its baselines, print a table."""
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

