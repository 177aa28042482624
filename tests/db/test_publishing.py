"""Published definitions keep their exact content, including the key order that is their field order."""

import json

import pytest

from engine.db.models import IndicatorSetVersion
from engine.definitions import content_hash
from engine.errors import Conflict
from engine.publishing import indicator_set_model, publish_indicator_set
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


def test_a_published_version_sent_again_in_another_field_order_is_refused(published, db):
    path = ROOT / "definitions/indicators/village_basic/v1.json"
    source = json.loads(path.read_text(encoding="utf-8"))
    again = publish_indicator_set(db, source, code="village_basic", version=1, source=str(path))
    assert not again.created and again.id == published[("indicator_set", "village_basic", 1)]

    population = source["properties"]["population"]
    published_order = list(population["properties"])
    population["properties"] = dict(reversed(list(population["properties"].items())))
    with pytest.raises(Conflict, match="已发布，内容不能再改"):
        publish_indicator_set(db, source, code="village_basic", version=1, source=str(path))
    model = indicator_set_model(db, published[("indicator_set", "village_basic", 1)])
    shown = next(s for s in model.sections if s.name == "population")
    assert [f.name for f in shown.children] == published_order  # the published form keeps its order


def test_publishing_over_a_draft_stores_the_key_order_it_was_given(db):
    path = ROOT / "definitions/indicators/elderly_allowance/v1.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    drafted = dict(reversed(list(doc.items())))  # the same data, keys in another order
    db.add(IndicatorSetVersion(code="elderly_allowance", version=1, status="draft", title="草稿",
                               content=drafted, content_hash=content_hash(drafted)))
    db.flush()
    publish_indicator_set(db, doc, code="elderly_allowance", version=1, source=str(path))
    db.commit()
    db.expire_all()
    row = db.query(IndicatorSetVersion).filter_by(code="elderly_allowance", version=1).one()
    assert row.status == "published"
    assert list(row.content) == list(doc) and row.content_hash == content_hash(doc) == content_hash(row.content)
