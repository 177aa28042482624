"""The benchmark runs its figures in registration order: the HTTP ceiling comes right after the bulk
submit and right before the engine's HTTP run it is compared with (its load in two halves around that
run: tests/unit/test_bench_ceiling.py), the bulk floor right before the engine's bulk submit, and the
other ceilings first."""

from __future__ import annotations

import bench.figures  # noqa: F401  (registers every figure)
from bench.registry import REGISTRY, selected
from bench.runner import _with_baselines


def test_the_http_ceiling_runs_between_the_bulk_submit_and_the_engines_http_run():
    names = list(REGISTRY)
    minimal = [n for n in names if n.startswith("minimal_http_")]
    first, last = names.index(minimal[0]), names.index(minimal[-1])
    assert names[first:last + 1] == minimal  # one load run, its figures together
    assert names[first - 1] == "service_submit_docs_per_s"
    assert names[last + 1] == "http_submit_per_s"
    assert names.index("raw_copy_rows_per_s") < names.index("collection_start_s")


def test_the_bulk_floor_runs_right_before_the_engines_bulk_submit():
    # the floor copies the database as the start left it, before the engine's bulk writes into it
    names = list(REGISTRY)
    assert names.index("bulk_floor_docs_per_s") == names.index("service_submit_docs_per_s") - 1
    assert names.index("collection_start_s") < names.index("bulk_floor_docs_per_s")
    assert REGISTRY["bulk_floor_docs_per_s"].baseline == "raw_copy_rows_per_s"


def test_a_chosen_engine_figure_brings_its_baseline_measured_just_before_it():
    chosen = [s.name for s in _with_baselines(selected(["http_submit_per_s", "service_submit_docs_per_s"]))]
    assert chosen == ["raw_copy_rows_per_s", "service_submit_docs_per_s", "minimal_http_submit_per_s",
                      "http_submit_per_s"]
