"""What the figures were measured on: they mean little without the machine next to them."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import psycopg

from cli.serve import default_threads


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def describe_machine(conninfo: str, *, database_mode: str, web_workers: int) -> dict[str, Any]:
    with psycopg.connect(conninfo) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    return {
        "cores": usable_cores(),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_shared_buffers": shared_buffers,
        "database": database_mode,
        "web_workers": web_workers,
        "web_threads": default_threads(),  # grassroots serve's; the minimal endpoint's: baselines.MINIMAL_THREADS
    }
