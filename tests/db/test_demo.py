"""What `make demo` prepares, run twice against the test database (it must be idempotent)."""

from sqlalchemy import func, select

from cli.context import Runtime
from cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, prepare_demo
from engine.auth import authenticate
from engine.db.models import Collection, IndicatorSetVersion, ProcessVersion, Submission


def test_demo_prepares_everything_once(database_url, settings, db, clean_db):
    rt = Runtime(settings, database_url)
    accounts = prepare_demo(rt)
    prepare_demo(rt)  # again: nothing twice, no error
    assert accounts.password == DEMO_PASSWORD
    for username, *_ in DEMO_ACCOUNTS:
        assert authenticate(db, username, DEMO_PASSWORD) is not None
    assert db.scalar(select(func.count()).select_from(IndicatorSetVersion)) == 5  # every shipped version
    assert db.scalar(select(func.count()).select_from(ProcessVersion)) == 2
    [collection] = db.scalars(select(Collection)).all()
    version = collection.indicator_set_version  # pinned: the demo's reports are v1's example
    assert (version.code, version.version) == ("village_basic", 1)
    statuses = dict(db.execute(select(Submission.org_code, Submission.status)).all())
    assert len(statuses) == 30
    assert statuses["390121101201"] == "approved" and statuses["390121101202"] == "submitted"
    rt.engine.dispose()
