"""Service-layer CPU cost of checking a report: engine.validation.validate_submission (relevance,
calculations, JSON Schema, rules, Chinese messages) next to a bare compiled jsonschema validator on the
same documents — for the shipped village report and the synthetic 180-field set.
"""

from __future__ import annotations

import time
from typing import Any

from jsonschema import Draft202012Validator

from bench.context import Bench
from bench.registry import figure
from engine.definitions import IndicatorSet
from engine.validation import validate_submission


def _docs_per_second(docs: list[dict[str, Any]], check: Any) -> float:
    check(docs[0])  # compiles and caches the validator outside the clock
    start = time.perf_counter()
    for doc in docs:
        check(doc)
    return len(docs) / (time.perf_counter() - start)


def engine_rate(ind: IndicatorSet, docs: list[dict[str, Any]]) -> float:
    def check(doc: dict[str, Any]) -> None:
        result = validate_submission(ind, doc)
        if not result.ok:
            problems = [p.message for p in (result.errors + result.unexplained)[:3]]
            raise RuntimeError(f"generated {ind.code} report rejected: {problems}")

    return _docs_per_second(docs, check)


def jsonschema_rate(ind: IndicatorSet, docs: list[dict[str, Any]]) -> float:
    validator = Draft202012Validator(ind.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def check(doc: dict[str, Any]) -> None:
        error = next(validator.iter_errors(doc), None)
        if error is not None:
            raise RuntimeError(f"generated {ind.code} report fails its schema: {error.message}")

    return _docs_per_second(docs, check)


def _village_sample(bench: Bench) -> list[dict[str, Any]]:
    return [doc for _, doc in bench.village_docs[: bench.samples.validation_docs]]


def _synthetic_sample(bench: Bench) -> list[dict[str, Any]]:
    return [doc for _, doc in bench.synthetic_docs]


@figure("validate_village_docs_per_s", unit="docs/s", baseline="jsonschema_village_docs_per_s", higher_is_better=True)
def validate_village(bench: Bench) -> float:
    """validate_submission on the shipped village reports (village_basic v1), one core."""
    return engine_rate(bench.village_report, _village_sample(bench))


@figure("jsonschema_village_docs_per_s", unit="docs/s", higher_is_better=True)
def jsonschema_village(bench: Bench) -> float:
    """A compiled Draft202012Validator (format checks on) on the same village reports."""
    return jsonschema_rate(bench.village_report, _village_sample(bench))


@figure("validate_synthetic180_docs_per_s", unit="docs/s", baseline="jsonschema_synthetic180_docs_per_s",
        higher_is_better=True)
def validate_synthetic(bench: Bench) -> float:
    """validate_submission on the synthetic 180-field set, one core."""
    return engine_rate(bench.synthetic, _synthetic_sample(bench))


@figure("jsonschema_synthetic180_docs_per_s", unit="docs/s", higher_is_better=True)
def jsonschema_synthetic(bench: Bench) -> float:
    """A compiled Draft202012Validator on the same 180-field documents."""
    return jsonschema_rate(bench.synthetic, _synthetic_sample(bench))
