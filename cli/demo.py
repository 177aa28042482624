"""What ``make demo`` prepares: sample province, published definitions, demo accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.context import Runtime
from engine.auth import create_user
from engine.db.models import User
from engine.orgs import load_sample_province
from engine.roles import ROLES

DEMO_PASSWORD = "grassroots2026"

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


def prepare_demo(rt: Runtime) -> DemoAccounts:
    from engine.publishing import publish_tree

    with rt.session() as s:
        load_sample_province(s)
        ensure_accounts(s)
    with rt.session() as s:
        publish_tree(s, rt.settings.definitions_path)
    for step in DEMO_STEPS:
        step(rt)
    return DemoAccounts(
        DEMO_PASSWORD, [(u, f"{ROLES[r].label} · {name}") for u, name, r, _ in DEMO_ACCOUNTS]
    )
