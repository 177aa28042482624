"""Every example document shipped with an indicator set gives exactly the findings it declares.

``valid-*.json`` must pass with no errors; each ``invalid-*.json`` has a sibling ``*.expected.json``
listing {data_path, code, rule_id, severity} of every error and warning, compared as a multiset. The
example sets the docs point to (docs/examples, not published) are held to the same.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from engine.definitions import load_indicator_file
from engine.validation import validate_submission

ROOT = Path(__file__).resolve().parents[2] / "definitions" / "indicators"
DOC_SETS = Path(__file__).resolve().parents[2] / "docs" / "examples"
EXAMPLES = sorted(
    p for base in (ROOT, DOC_SETS) for p in base.glob("*/examples/v*/*.json") if not p.name.endswith(".expected.json")
)


def _definition(example: Path):
    version_dir = example.parent.name  # "v1"
    return load_indicator_file(example.parents[2] / f"{version_dir}.json")


def _findings(result) -> Counter:
    return Counter(
        (p.data_path, p.code, p.rule_id, p.severity) for p in [*result.errors, *result.warnings]
    )


def test_every_set_ships_examples():
    sets = [p.parent for p in ROOT.glob("*/v*.json")]
    assert sets, "no indicator sets shipped under definitions/indicators"
    sets += [p.parent for p in DOC_SETS.glob("*/v*.json")]
    for set_dir in sets:
        assert list(set_dir.glob("examples/v*/valid-*.json")), f"{set_dir.name} has no valid example"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parents[2].name}/{p.parent.name}/{p.name}")
def test_example_findings(example: Path):
    ind = _definition(example)
    data = json.loads(example.read_text(encoding="utf-8"))
    result = validate_submission(ind, data)
    if example.name.startswith("valid-"):
        assert result.errors == [], [p.to_json() for p in result.errors]
        assert result.ok, [p.to_json() for p in result.unexplained]
        return
    expected_file = example.with_name(example.stem + ".expected.json")
    assert expected_file.is_file(), f"{example.name} has no {expected_file.name}"
    expected = Counter(
        (e["data_path"], e["code"], e.get("rule_id"), e.get("severity", "hard"))
        for e in json.loads(expected_file.read_text(encoding="utf-8"))
    )
    assert _findings(result) == expected, [p.to_json() for p in [*result.errors, *result.warnings]]
    assert not result.ok
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.message) for p in result.errors + result.warnings)
