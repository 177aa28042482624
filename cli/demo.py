"""What ``make demo`` prepares: sample province, published definitions, demo accounts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.context import Runtime
from engine.auth import Principal, create_user
from engine.db.models import User
from engine.orgs import load_sample_province
from engine.roles import ROLES

DEMO_PASSWORD = "grassroots2026"
DEMO_REPORT = "indicators/village_basic/examples/v1/valid-lingxia-2024.json"

# username, display name, role, org code (all in the fictional province 39)
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "省数据管理中心", "province_admin", "390000000000"),
    ("xikou", "溪口村填报员", "village_clerk", "390121101201"),
    ("shangjie", "上街村填报员", "village_clerk", "390121101202"),
    ("yunxi", "云溪镇审核员", "township_reviewer", "390121101000"),
    ("baishi", "白石乡审核员", "township_reviewer", "390121201000"),
    ("yunxixian", "云溪县审核员", "county_reviewer", "390121000000"),
    ("minzheng", "云溪县民政局", "county_department", "390121000000"),
    ("tongji", "省统计局(部门)", "department_viewer", "390000000000"),
)


@dataclass
class DemoAccounts:
    password: str
    rows: list[tuple[str, str]]


# Later steps (definitions, collections) register here; each runs in its own transaction.
DEMO_STEPS: list[Callable[[Runtime], None]] = []


def ensure_accounts(session: Session) -> None:
    existing = set(session.scalars(select(User.username)))
    for username, name, role, org in DEMO_ACCOUNTS:
        if username not in existing:
            create_user(session, username, DEMO_PASSWORD, display_name=name, roles=[(role, org)])


def demo_collections(session: Session, definitions: Path) -> None:
    """The 2025 annual village report over the whole sample province, with a few villages already
    moving through the flow so that every demo role finds work; idempotent like everything here."""
    from engine import submissions, tasks
    from engine.auth import principal_for
    from engine.collections import start_collection
    from engine.db.models import Submission
    from engine.publishing import find_indicator_set_version, find_process_version

    started = start_collection(
        session, title="2025年村级基本情况年报", period="2025", scope_org_code="390000000000",
        indicator_set_version_id=find_indicator_set_version(session, "village_basic", 1).id,
        process_version_id=find_process_version(session, "village_report", 1).id,
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 12, 31),
    )
    if not started.created:
        return
    example = json.loads((definitions / DEMO_REPORT).read_text(encoding="utf-8"))
    example["basic"]["report_year"] = 2025

    def user(name: str) -> Principal:
        return principal_for(session.scalar(select(User).where(User.username == name)))

    def submit(org: str, clerk: str) -> Submission:
        sub = session.scalar(select(Submission).where(Submission.collection_id == started.collection.id,
                                                      Submission.org_code == org))
        data = dict(example, basic={**example["basic"], "division_code": org})
        return submissions.submit(session, user(clerk), sub.id, data, revision=sub.revision).submission

    submit("390121101202", "shangjie")  # waits for 云溪镇's review
    approved = submit("390121101201", "xikou")
    task = next(t for t in tasks.history(session, approved.id) if t.state == "ready")
    tasks.complete_review(session, user("yunxi"), task.id, {"decision": "approve", "comment": "数据已核实"})


def prepare_demo(rt: Runtime) -> DemoAccounts:
    from engine.publishing import publish_tree

    with rt.session() as s:
        load_sample_province(s)
        ensure_accounts(s)
    with rt.session() as s:
        publish_tree(s, rt.settings.definitions_path)
    with rt.session() as s:
        demo_collections(s, rt.settings.definitions_path)
    for step in DEMO_STEPS:
        step(rt)
    return DemoAccounts(
        DEMO_PASSWORD, [(u, f"{ROLES[r].label} · {name}") for u, name, r, _ in DEMO_ACCOUNTS]
    )
