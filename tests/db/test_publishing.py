"""Published definitions keep their exact content, including the key order that is their field order."""

import json

from engine.publishing import indicator_set_model
from tests.conftest import ROOT


def test_field_and_section_order_survive_the_database(published, db):
    source = json.loads((ROOT / "definitions/indicators/village_basic/v1.json").read_text(encoding="utf-8"))
    model = indicator_set_model(db, published[("indicator_set", "village_basic", 1)])
    assert [s.name for s in model.sections] == list(source["properties"])
    population = next(s for s in model.sections if s.name == "population")
    assert [f.name for f in population.children] == list(source["properties"]["population"]["properties"])


def test_cached_model_is_shared_per_version(published, db):
    version_id = published[("indicator_set", "village_basic", 2)]
    assert indicator_set_model(db, version_id) is indicator_set_model(db, version_id)
