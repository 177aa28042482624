"""The whole reporting cycle: the measured steps as they ran, one after the other."""

from __future__ import annotations

from bench.context import Bench
from bench.figures.approval import county_approved, rollup_current, township_approved
from bench.figures.collection import started_collection
from bench.figures.http_submit import http_submitted
from bench.figures.submission import bulk_submitted
from bench.registry import Measured, figure


@figure("cycle_total_s", unit="s")
def cycle_total_s(bench: Bench) -> Measured:
    """Start + every submission (bulk, HTTP, left-overs) + township and county approvals + roll-up read,
    and the database maintenance done before each of those loads (``Bench.settle``)."""
    http = http_submitted(bench)
    steps = {
        "start": started_collection(bench).seconds,
        "bulk": bulk_submitted(bench).seconds,
        "http": http.seconds,
        "rest": http.rest.seconds,
        "township": township_approved(bench),
        "county": county_approved(bench),
        "rollup": rollup_current(bench),
    }
    # the minimal endpoint's two halves come between the bulk and the HTTP slice and between that and the
    # approvals (bench/figures/http_submit.py), so their settles do the vacuum of the bulk's and of the
    # HTTP slice's writes: that is the cycle's work too
    phases = ("bulk", "minimal_http", "http", "minimal_http_after", "township", "county")
    steps["vacuum"] = sum(bench.settled.get(phase, 0.0) for phase in phases)
    return Measured(sum(steps.values()), ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
