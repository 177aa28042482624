"""Step 6: the whole province's approved reports exported to XLSX (engine.exports, openpyxl write-only) in a
child process (bench/export_child.py), so its peak RSS is the export's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.context import Bench
from bench.figures.approval import county_approved, reviewed_villages
from bench.figures.collection import started_collection
from bench.registry import Measured, figure
from bench.servers import PROJECT_ROOT


def exported(bench: Bench) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        county_approved(bench)
        out = bench.workdir / "province.xlsx"
        done = subprocess.run(
            [sys.executable, "-m", "bench.export_child", str(started_collection(bench).collection_id), str(out)],
            cwd=PROJECT_ROOT, env={**os.environ, "DATABASE_URL": bench.url}, capture_output=True, text=True,
            timeout=1800, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"export failed ({done.returncode}): {done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["rows"] != reviewed_villages(bench):
            raise RuntimeError(f"the export holds {result['rows']} reports of {reviewed_villages(bench)} approved")
        out.unlink()
        return result

    return bench.once("exported", run)


@figure("export_xlsx_s", unit="s")
def export_xlsx_s(bench: Bench) -> Measured:
    """Every final report of the province written to one XLSX file (child process)."""
    result = exported(bench)
    return Measured(result["seconds"], f"{result['rows']} rows, {result['bytes'] / 2**20:.1f} MiB file")


@figure("export_peak_rss_mib", unit="MiB")
def export_peak_rss_mib(bench: Bench) -> Measured:
    """Peak RSS (VmHWM) of the exporting process; flat when the export streams."""
    result = exported(bench)
    before = result["rss_before_kib"] / 1024
    return Measured(result["peak_rss_kib"] / 1024, f"{before:.0f} MiB before the export started")
