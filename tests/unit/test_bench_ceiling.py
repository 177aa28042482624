"""The HTTP ceiling's load runs in two halves around the engine's HTTP run, and counts as one load."""

from __future__ import annotations

from collections import Counter

import pytest

import bench.figures.http_submit as http_submit
from bench.load import LoadResult


class _Bench:
    """Just ``once`` and ``done``, as bench.context.Bench has them."""

    def __init__(self) -> None:
        self._once: dict[str, object] = {}

    def done(self, key: str) -> bool:
        return key in self._once

    def once(self, key, fn):
        if key not in self._once:
            self._once[key] = fn()
        return self._once[key]


def _load(sent: int, seconds: float, latency: float, error: str | None = None) -> LoadResult:
    return LoadResult(sent, 1 if error else 0, seconds, [latency] * (sent - (1 if error else 0)),
                      Counter({200: sent - (1 if error else 0)}), error)


def test_the_halves_run_right_before_and_right_after_the_engines_http_run(monkeypatch):
    bench, ran = _Bench(), []
    halves = {"before": _load(600, 1.0, 0.010), "after": _load(400, 1.0, 0.030, "HTTP 500")}

    def half(b, which):
        return b.once(f"minimal_http_{which}", lambda: ran.append(which) or halves[which])

    monkeypatch.setattr(http_submit, "minimal_endpoint_half", half)
    monkeypatch.setattr(http_submit, "http_submitted", lambda b: b.once("http_submitted", lambda: ran.append("engine")))

    measured = http_submit.minimal_http_submit_per_s(bench)
    http_submit.minimal_http_submit_p99_ms(bench)  # the same load, not run again
    assert ran == ["before", "engine", "after"]
    assert measured.value == pytest.approx(999 / 2.0)  # both halves' successes over both halves' time
    assert measured.note == "halves around the engine's HTTP run: before 600.0, after 399.0 req/s"
    assert http_submit.minimal_http_submit_p50_ms(bench) == pytest.approx(10.0)  # 600 at 10 ms, 399 at 30 ms
    assert http_submit.minimal_http_submit_p99_ms(bench) == pytest.approx(30.0)
    errors = http_submit.minimal_http_submit_errors(bench)
    assert (errors.value, errors.note) == (1, "HTTP 500")


def test_a_ceiling_asked_for_after_the_engines_run_is_refused(monkeypatch):
    bench = _Bench()
    bench.once("http_submitted", lambda: None)
    monkeypatch.setattr(http_submit, "minimal_endpoint_half", lambda b, which: pytest.fail("no half may run"))
    with pytest.raises(RuntimeError, match="around the engine's HTTP run"):
        http_submit.http_ceiling(bench)


def test_joined_loads_add_up():
    joined = LoadResult.joined(_load(10, 2.0, 0.001), _load(5, 3.0, 0.002, "timeout"))
    assert (joined.sent, joined.errors, joined.seconds) == (15, 1, 5.0)
    assert joined.throughput == pytest.approx(14 / 5.0)
    assert sorted(joined.latencies) == [0.001] * 10 + [0.002] * 4
    assert joined.statuses == Counter({200: 14})
    assert joined.first_error == "timeout"
