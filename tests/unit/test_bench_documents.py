"""The benchmark's generated documents pass the engine's own validation, so it measures acceptance."""

from __future__ import annotations

from bench.documents import load_village_report, village_reports
from bench.scale import Scale
from bench.synthetic import load_synthetic, synthetic_documents
from engine.orgs import generate_province, level_of
from engine.roles import Level
from engine.validation import validate_submission


def _villages(n: int):
    s = Scale.for_villages(n)
    rows = generate_province(cities=s.cities, counties=s.counties, townships=s.townships, villages=s.villages)
    return [r for r in rows if level_of(r.code) == Level.VILLAGE]


def test_village_reports_satisfy_every_rule_and_are_stored_as_sent():
    ind = load_village_report()
    assert sum(1 for _ in ind.leaves()) >= 60
    for code, doc in village_reports(ind, _villages(400)):
        result = validate_submission(ind, doc)
        assert result.ok and not result.warnings, (code, result.errors, result.warnings)
        assert result.data == doc, code  # calculated fields already hold what the engine computes


def test_village_reports_are_deterministic():
    ind = load_village_report()
    villages = _villages(20)
    assert village_reports(ind, villages) == village_reports(ind, villages)


def test_synthetic_set_has_180_fields_and_valid_documents():
    ind = load_synthetic()
    assert sum(1 for _ in ind.leaves()) == 180
    assert any(r.severity == "hard" for r in ind.rules) and any(r.severity == "soft" for r in ind.rules)
    for code, doc in synthetic_documents([f"v{i}" for i in range(100)]):
        result = validate_submission(ind, doc)
        assert result.ok and not result.warnings, (code, result.errors, result.warnings)


def test_scale_follows_the_reference_province():
    assert Scale.for_villages(35065) == Scale(villages=35065, townships=1500, counties=90, cities=11)
    small = Scale.for_villages(2000)
    assert small.villages == 2000 and small.cities >= 1 and small.counties >= small.cities
    assert small.townships * 200 >= small.villages  # the generator's village code block per township
