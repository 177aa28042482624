"""Step 1 of the reporting cycle: publishing the shipped definitions and starting the annual village
collection over the whole province through engine.collections.start_collection (one submission, one
process instance and one entry task per village)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from bench.context import Bench
from bench.documents import VILLAGE_REPORT_FILE
from bench.figures.province import import_province
from bench.registry import figure
from engine.collections import start_collection
from engine.publishing import publish_indicator_file, publish_process_file

REPORT_PROCESS_FILE = Path(__file__).resolve().parents[2] / "definitions" / "processes" / "village_report" / "v1.bpmn"
PERIOD = "2024"


@dataclass(frozen=True)
class StartedCollection:
    collection_id: int
    submissions: int
    seconds: float


def published_versions(bench: Bench) -> tuple[int, int]:
    """(indicator-set version id, process version id) of village_basic v1 and village_report v1."""

    def run() -> tuple[int, int]:
        with bench.session() as s:
            ind = publish_indicator_file(s, VILLAGE_REPORT_FILE)
            proc = publish_process_file(s, REPORT_PROCESS_FILE)
        return ind.id, proc.id

    return bench.once("published_versions", run)


def started_collection(bench: Bench) -> StartedCollection:
    def run() -> StartedCollection:
        import_province(bench)
        ind_id, proc_id = published_versions(bench)
        province = bench.units[0].code
        start = time.perf_counter()
        with bench.session() as s:
            started = start_collection(
                s, title=f"{PERIOD}年村级基本情况年报", indicator_set_version_id=ind_id, process_version_id=proc_id,
                period=PERIOD, scope_org_code=province, opens_on=dt.date(int(PERIOD) + 1, 1, 1),
                deadline=dt.date(int(PERIOD) + 1, 3, 31),
            )
            collection_id = started.collection.id
        elapsed = time.perf_counter() - start
        if started.submissions != bench.scale.villages:
            raise RuntimeError(f"collection created {started.submissions} submissions for {bench.scale.villages} villages")
        return StartedCollection(collection_id, started.submissions, elapsed)

    return bench.once("collection_started", run)


@figure("collection_start_s", unit="s")
def collection_start_seconds(bench: Bench) -> float:
    """start_collection over every village of the province, commit included."""
    return started_collection(bench).seconds
