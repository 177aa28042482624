"""Migration 0003 moves workflow states into ``workflow_states`` and back without losing one.

Runs in a database of its own (the shared test database stays at head): flows are started and stepped
at head, the schema goes down to 0002 (states back on the instance rows) and up again, and every
instance must come back on the same state — same digest, same content — and go on working.
"""

import datetime as dt
from collections import Counter

from alembic import command
from sqlalchemy import select, text

from engine import tasks
from engine.auth import create_user
from engine.collections import start_collection
from engine.db.migrate import alembic_config, upgrade
from engine.db.models import ProcessInstance, Submission, WorkflowState
from engine.db.session import make_engine, make_sessionmaker
from engine.instances import lock_and_load
from engine.orgs import load_sample_province
from engine.publishing import publish_tree
from engine.submissions import submit
from engine.tasks import InboxFilter, inbox_query
from engine.workflows import ready_tasks
from tests.conftest import PASSWORD, ROOT, principal_of, valid_report


def states_by_instance(session):
    return {row.id: (row.state_digest, session.get(WorkflowState, row.state_digest).state)
            for row in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id))}


def test_states_survive_a_downgrade_and_upgrade(migration_db):
    engine = make_engine(migration_db)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            load_sample_province(db)
            create_user(db, "clerk", PASSWORD, roles=[("village_clerk", "390121101201")])
            create_user(db, "rev", PASSWORD, roles=[("township_reviewer", "390121101000")])
            published = {(r.kind, r.code, r.version): r.id for r in publish_tree(db, ROOT / "definitions")}
            collection = start_collection(
                db, title="迁移", period="2024", scope_org_code="390121000000",
                indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
                process_version_id=published[("process", "village_report", 1)],
                opens_on=dt.date(2025, 1, 1), deadline=dt.date(2025, 3, 31),
            ).collection
            db.commit()
            sub = db.scalar(select(Submission).where(Submission.org_code == "390121101201"))
            assert submit(db, principal_of(db, "clerk"), sub.id, valid_report(), revision=sub.revision).submitted
            db.commit()
            before = states_by_instance(db)
            assert len(before) == 10 and len({digest for digest, _ in before.values()}) == 2

        command.downgrade(alembic_config(migration_db), "0002")
        with engine.connect() as conn:  # 0002's shape: every state back on its instance row
            rows = dict(conn.execute(text("SELECT id, state FROM process_instances")).all())
            assert {i: state for i, state in rows.items()} == {i: state for i, (_, state) in before.items()}
            # and as 0002 kept them: the untouched instances' shared state on the collection, theirs NULL
            [(initial, _)] = Counter(digest for digest, _ in before.values()).most_common(1)
            untouched = [i for i, (digest, _) in before.items() if digest == initial]
            assert len(untouched) == 9
            conn.execute(text("UPDATE collections SET initial_state = p.state FROM process_instances p"
                              " WHERE p.id = :i"), {"i": untouched[0]})
            conn.execute(text("UPDATE process_instances SET state = NULL WHERE id = ANY(:ids)"), {"ids": untouched})
            conn.commit()
        upgrade(migration_db)

        with factory() as db:
            assert states_by_instance(db) == before
            assert db.query(WorkflowState).count() == 2
            for instance_id in before:
                loaded = lock_and_load(db, instance_id)
                assert ready_tasks(loaded.definition, loaded.workflow)
            db.rollback()
            [task] = [row[0] for row in db.execute(inbox_query(principal_of(db, "rev"), InboxFilter(kind="review")))]
            tasks.complete_review(db, principal_of(db, "rev"), task.id,
                                  {"decision": "approve", "comment": "", "field_comments": {}})
            db.commit()
            assert db.get(Submission, task.submission_id).status == "approved"
            assert collection.id == task.collection_id
    finally:
        engine.dispose()
