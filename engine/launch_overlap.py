"""Before a collection is launched: the running collections it would duplicate, and whether its
indicator-set version is the newest published one.

A collection gives every unit of its scope an entry task for its period. A second collection of the same
indicator set (any version) for the same period over an overlapping scope (the same unit, one above it or
one below it) gives those clerks a second task for the same report: two sets of figures, two roll-ups,
and nobody can tell which one counts. So such a launch is refused while the other collection is still
running, unless the centre confirms it (the decision is ``start_collection``'s, for the form, the API and
the CLI alike). An exact repeat (same version, period and scope) is the same collection, not an overlap.

An older version than the newest published one is allowed (a late collection of a past year may want the
version of its time) but said, before the launch on the form and in every launch's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.db.models import Collection, IndicatorSetVersion, OrgUnit
from engine.errors import Conflict
from engine.orgs import overlaps

# Statuses in which a collection hands out no more work (closed: no filling, no review): launching
# beside one duplicates nothing. Every other status (open) is running.
ENDED_STATUSES = frozenset({"closed"})


@dataclass(frozen=True)
class Overlap:
    """A running collection of the same set and period whose scope overlaps the launch's."""

    id: int
    title: str
    version: int
    scope_org_code: str
    scope_name: str

    def describe(self) -> str:
        return (f"“{self.title}”（编号 {self.id}，第 {self.version} 版，"
                f"范围 {self.scope_name} {self.scope_org_code}）")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "indicator_set_version": self.version,
                "scope_org_code": self.scope_org_code, "scope_name": self.scope_name}


class OverlapRefused(Conflict):
    """A launch beside running collections of the same set and period, not confirmed."""

    code = "overlapping_collection"


CONFIRM_FIELD = "confirm_overlap"  # the confirmation's name in the API body, the form and (as --confirm-overlap) the CLI


def lock_launches(session: Session, set_code: str, period: str) -> None:
    """Serialise launches of one set and period until the transaction ends: two centres launching
    overlapping scopes at once would each find no other collection and both go ahead."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"collection-launch:{set_code}:{period}"})


def running_beside(session: Session, *, set_code: str, period: str, scope_org_code: str) -> list[Overlap]:
    """The running collections of ``set_code`` (any version) for ``period`` whose scope is
    ``scope_org_code``, above it or below it. Only a set's collections of one period are read (a few):
    the scopes are compared by their code prefixes here."""
    rows = session.execute(
        select(Collection.id, Collection.title, IndicatorSetVersion.version, Collection.scope_org_code, OrgUnit.name)
        .join(IndicatorSetVersion, IndicatorSetVersion.id == Collection.indicator_set_version_id)
        .join(OrgUnit, OrgUnit.code == Collection.scope_org_code)
        .where(IndicatorSetVersion.code == set_code, Collection.period == period,
               Collection.status.not_in(ENDED_STATUSES))
        .order_by(Collection.id)
    ).all()
    return [Overlap(*row) for row in rows if overlaps(row.scope_org_code, scope_org_code)]


def refusal(set_title: str, period: str, found: list[Overlap]) -> OverlapRefused:
    listed = "；".join(o.describe() for o in found)
    return OverlapRefused(
        f"“{set_title}”{period} 期已有未关闭的采集任务覆盖这一范围或其上下级：{listed}。"
        "再发起一次，范围重叠处的填报单位会同时收到同一期的两份填报任务。"
        "请先关闭原采集任务，或改选期别、范围；确需另行发起时，请确认重复发起后再提交。",
        data_path=CONFIRM_FIELD,
        details={"overlapping": [o.as_json() for o in found], "confirm_with": CONFIRM_FIELD},
    )


def newest_published(session: Session, set_code: str) -> int | None:
    return session.scalar(select(func.max(IndicatorSetVersion.version))
                          .where(IndicatorSetVersion.code == set_code, IndicatorSetVersion.status == "published"))


def older_version_warning(title: str, version: int, newest: int | None) -> str | None:
    if newest is None or version >= newest:
        return None
    return (f"所选指标集“{title}”是第 {version} 版，不是最新发布的第 {newest} 版。"
            "如非有意，请关闭本采集任务，按最新版本重新发起。")
