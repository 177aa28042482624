"""The export measured in a process of its own: ``python -m bench.export_child COLLECTION_ID OUT.xlsx``.

Runs what `grassroots export COLLECTION_ID --format xlsx` runs (engine.exports.plan_export +
export_to_file, as the province administrator) against ``DATABASE_URL`` and prints one JSON line:
rows, seconds, file size, and the process's RSS before the export and its peak (VmHWM) after — a fresh
interpreter, so the peak is the export's own and not the benchmark's generated documents.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from bench.memory import peak_rss_kib
from engine.auth import Assignment, Principal
from engine.db.embedded import normalise_url
from engine.db.models import Collection
from engine.db.session import make_engine, make_sessionmaker
from engine.exports import export_to_file, format_for, plan_export


def main(collection_id: int, out: Path) -> dict[str, float]:
    engine = make_engine(normalise_url(os.environ["DATABASE_URL"]))
    with make_sessionmaker(engine)() as s:
        collection = s.get(Collection, collection_id)
        assert collection is not None
        # The CLI's default caller: the province administrator of the collection's province.
        province = collection.scope_org_code[:2].ljust(12, "0")
        principal = Principal(0, "bench", "基准测试", (Assignment("province_admin", province),))
        rss_before = _vm_hwm_kib()
        start = time.perf_counter()
        plan = plan_export(s, principal, collection_id)
        rows = plan.selection.count(s)
        export_to_file(s, plan, format_for("xlsx"), out)
        seconds = time.perf_counter() - start
    engine.dispose()
    return {"rows": rows, "seconds": seconds, "bytes": out.stat().st_size, "rss_before_kib": rss_before,
            "peak_rss_kib": _vm_hwm_kib()}


def _vm_hwm_kib() -> int:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child started by a large parent
    # would report the parent's peak.
    return peak_rss_kib(os.getpid()) or 0


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), Path(sys.argv[2]))))
