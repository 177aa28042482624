"""`grassroots bench --villages 2000 --quick` completes on the test server and reports every figure.

Speed is not asserted (the figures are goals for docs/performance.md); completeness and shape are:
every registered figure — the whole reporting cycle from starting the collection to the export — has a
finite numeric value, and every submit and approval went through (the run fails otherwise).
"""

from __future__ import annotations

import json
import math
import os

import psycopg
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from bench.registry import REGISTRY
from cli.bench import bench

SMOKE_DB = f"grassroots_bench_smoke_{os.getpid()}"  # parallel test runs on one server must not collide


def test_quick_bench_produces_every_figure(database_url, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        bench,
        # two bulk processes even on a one-core runner: the parallel path is what the full run uses
        ["--villages", "2000", "--quick", "--json", str(out), "--database-name", SMOKE_DB, "--bulk-jobs", "2"],
        env={"DATABASE_URL": database_url, "GRASSROOTS_INSTANCE": str(tmp_path / "instance")},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {"machine", "scale", "figures"}
    assert {"cores", "memory_gib", "cpu_model", "python", "postgresql"} <= set(report["machine"])
    assert report["scale"]["villages"] == 2000 and report["scale"]["quick"] is True
    assert report["scale"]["bulk_jobs"] == 2

    figures = {f["name"]: f for f in report["figures"]}
    assert list(figures) == list(REGISTRY)
    for f in report["figures"]:
        assert set(f) == {"name", "value", "unit", "baseline", "ratio"}
        assert isinstance(f["value"], int | float) and math.isfinite(f["value"]), f
        assert f["unit"]
        if f["baseline"] is not None:
            assert f["baseline"] in figures
            assert isinstance(f["ratio"], int | float) and f["ratio"] > 0, f
        else:
            assert f["ratio"] is None
    for name, f in figures.items():
        if name.endswith("_errors"):
            assert f["value"] == 0, name
    cycle_steps = ("collection_start_s", "township_approve_s", "county_approve_s")
    assert figures["cycle_total_s"]["value"] >= sum(figures[n]["value"] for n in cycle_steps)
    # the database maintenance before each load is counted in the cycle, and said so
    assert "vacuum " in next(line for line in result.output.splitlines() if line.strip().startswith("cycle_total_s:"))
    # the HTTP ceiling's two halves, around the engine's HTTP run, each with its own rate
    assert "minimal_http_submit_per_s: halves around the engine's HTTP run: before " in result.output
    assert "ratio" in result.output  # the table was printed


def test_bench_database_is_dropped_afterwards(database_url):
    admin = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin) as conn:
        # the database and the copy the bulk floor ran in (bench/figures/submission.py)
        for name in (SMOKE_DB, f"{SMOKE_DB}_floor"):
            assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
