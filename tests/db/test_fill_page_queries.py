"""What a fill page costs the database: no definition content, BPMN or spec once the models are cached,
and the collection read once, without the version rows its relationships join by default."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from engine.db.models import Submission
from tests.conftest import login

XIKOU = "390121101201"


def test_fill_page_reads_no_definition_content(client, collection, db, db_engine):
    login(client, "clerk_xikou")
    sub_id = db.scalar(select(Submission.id).where(Submission.collection_id == collection.id,
                                                   Submission.org_code == XIKOU))
    url = f"/submissions/{sub_id}/page/2"
    assert client.get(url).status_code == 200  # models cached by content hash from here on
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        resp = client.get(url)
    finally:
        event.remove(db_engine, "before_cursor_execute", record)
    assert resp.status_code == 200 and "第 2 / " in resp.get_data(as_text=True)
    heavy = [s for s in seen if re.search(r"_versions(_\d+)?\.(content|bpmn|spec)\b", s)]
    assert heavy == []
    assert sum(1 for s in seen if re.search(r"FROM collections\b", s)) == 1


def test_the_problems_of_a_page_and_of_the_page_left_cost_no_statement(client, collection, db, db_engine):
    """A fill page shows what is wrong with its values and with the page just left: validation is plain
    Python over the document already read, not a statement per field or per problem."""
    from engine import submissions
    from tests.conftest import principal_of, statements_sent

    login(client, "clerk_xikou")
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id,
                                             Submission.org_code == XIKOU))
    url = f"/submissions/{sub.id}/page/2"
    assert client.get(url).status_code == 200  # models cached
    with statements_sent(db_engine) as clean_page:
        client.get(url)
    submissions.save_draft(db, principal_of(db, "clerk_xikou"), sub.id,
                           {"basic": {"division_code": "1", "villager_group_count": "一"},
                            "households": {"household_total": "12a", "hh_pure_farm": -1}}, revision=0)
    db.commit()
    with statements_sent(db_engine) as with_problems:
        body = client.get(f"{url}?saved=1").get_data(as_text=True)
    assert "gr-left" in body and "本页有 2 处需要修改" in body
    assert len(with_problems) == len(clean_page), (clean_page, with_problems)
