"""Models of published versions: remembered within a transaction (no query), otherwise found by content
hash from a small row head (the content is read only when no cached model has that hash), never
confused by a version id that now means other content, and never remembered past a rollback."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from engine.db.models import IndicatorSetVersion
from engine.errors import NotFound
from engine.publishing import Head, indicator_set_model, process_model, publish_indicator_set, publish_process
from tests.conftest import ROOT
from tests.unit.test_forms_definition import SAMPLE

CODE = "village_test"  # SAMPLE's x-code
BPMN = ROOT / "definitions/processes/village_report/v1.bpmn"


@contextmanager
def statements(db) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def doc(title: str = SAMPLE["title"], version: int = 1) -> dict:
    return {**copy.deepcopy(SAMPLE), "title": title, "x-version": version}


@pytest.fixture
def version_id(db) -> int:
    published = publish_indicator_set(db, doc(), code=CODE, version=1)
    db.commit()
    return published.id


def test_within_a_transaction_the_model_costs_no_query(db, version_id):
    first = indicator_set_model(db, version_id)
    with statements(db) as seen:
        again = indicator_set_model(db, version_id)
    assert again is first and seen == []


def test_a_new_transaction_reads_the_row_head_not_the_content(db, version_id):
    first = indicator_set_model(db, version_id)
    db.commit()
    with statements(db) as seen:
        again = indicator_set_model(db, version_id)
    assert again is first  # the process-wide cache, by content hash
    assert len(seen) == 1 and "content_hash" in seen[0]
    assert not re.search(r"indicator_set_versions\.content\b", seen[0])  # the head only


def test_process_models_are_remembered_the_same_way(db):
    proc_id = publish_process(db, BPMN.read_bytes(), code="village_report", version=1).id
    db.commit()
    first = process_model(db, proc_id)
    with statements(db) as seen:
        assert process_model(db, proc_id) is first
    assert seen == []
    db.commit()
    with statements(db) as seen:
        assert process_model(db, proc_id) is first
    assert len(seen) == 1 and "bpmn" not in seen[0] and "spec" not in seen[0]


def test_a_head_read_along_by_another_query_saves_the_lookup(db, version_id):
    first = indicator_set_model(db, version_id)
    db.commit()
    row = db.get(IndicatorSetVersion, version_id)
    head = Head(row.code, row.version, row.content_hash, row.status)
    with statements(db) as seen:
        assert indicator_set_model(db, version_id, head) is first
    assert seen == []
    # a head naming other content is believed: the model for that content is built, not the cached one
    db.commit()
    other = Head(row.code, row.version, "other-hash", row.status)
    assert indicator_set_model(db, version_id, other) is not first


def test_an_id_that_now_means_other_content_gets_that_content(db):
    """As when a database is dropped and created again: same code, version and id, other content."""
    old_id = publish_indicator_set(db, doc("第一套内容"), code=CODE, version=1).id
    assert indicator_set_model(db, old_id).title == "第一套内容"
    db.rollback()
    other = indicator_set_model(db, publish_indicator_set(db, doc("第二套内容"), code=CODE, version=1).id)
    db.rollback()
    db.add(IndicatorSetVersion(id=old_id, code=CODE, version=1, title=other.title, status="published",
                               content_hash=other.content_hash, content=other.schema, source="x/v1.json"))
    db.flush()
    assert indicator_set_model(db, old_id).title == "第二套内容"


def test_a_rolled_back_version_is_not_remembered(db):
    gone = publish_indicator_set(db, doc(), code=CODE, version=1).id
    indicator_set_model(db, gone)
    db.rollback()
    with pytest.raises(NotFound):
        indicator_set_model(db, gone)


def test_a_rolled_back_savepoint_is_not_remembered(db, version_id):
    kept = indicator_set_model(db, version_id)
    with db.begin_nested() as savepoint:
        gone = publish_indicator_set(db, doc("第二版", 2), code=CODE, version=2).id
        indicator_set_model(db, gone)
        savepoint.rollback()
    with pytest.raises(NotFound):
        indicator_set_model(db, gone)
    assert indicator_set_model(db, version_id) is kept


def test_a_draft_is_read_afresh_each_time(db):
    first = doc("草稿一")
    row = IndicatorSetVersion(code=CODE, version=1, title="草稿", status="draft", content=first, source="x/v1.json",
                              content_hash="draft-1")
    db.add(row)
    db.flush()
    assert indicator_set_model(db, row.id).title == "草稿一"
    row.content, row.content_hash = doc("草稿二"), "draft-2"
    db.flush()
    assert indicator_set_model(db, row.id).title == "草稿二"


def test_a_version_published_before_a_stricter_check_still_loads(db):
    """A version stored when the checker allowed minimum > maximum and a relevance that never holds
    (as versions published before those checks were) loads to run its collections; publishing it now
    is refused. The gate is publishing, not every later load."""
    from engine.definitions import load_indicator_set
    from engine.errors import DefinitionError

    older = doc(title="较早发布的版本")
    older["properties"]["report_year"].update(minimum=2100, maximum=2000)
    older["properties"]["dibao_households"]["x-relevant"] = "has_dibao == '是'"
    with pytest.raises(DefinitionError) as refused:
        publish_indicator_set(db, older, code=CODE, version=1)
    assert {p.code for p in refused.value.problems} == {"bounds", "relevance"}
    strict = load_indicator_set(older, "x.json", code=CODE, version=1, stored=True)  # what publishing stored
    row = IndicatorSetVersion(code=CODE, version=1, title=older["title"], content=older, status="published",
                              content_hash=strict.content_hash, source=f"{CODE}/v1.json")
    db.add(row)
    db.commit()
    model = indicator_set_model(db, row.id)
    assert model.fields["report_year"].title == "报告年度" and model.content_hash == strict.content_hash
