"""The generated province, imported through engine.orgs.import_units (the path `grassroots orgs import` takes)."""

from __future__ import annotations

import time

from bench.context import Bench
from bench.registry import figure
from engine.orgs import import_units


def import_province(bench: Bench) -> float:
    """Seconds to validate and insert every unit in one transaction; later engine steps need the units."""

    def run() -> float:
        units = bench.units
        start = time.perf_counter()
        with bench.session() as s:
            import_units(s, units, source="bench")
        return time.perf_counter() - start

    return bench.once("province_imported", run)


@figure("province_import_s", unit="s")
def province_import_seconds(bench: Bench) -> float:
    """Import of all org units (province..village) with engine.orgs.import_units, one transaction."""
    return import_province(bench)
