"""Roles and org levels: lookup tables shared by auth, scope and workflow lanes.

A BPMN lane names a role either by its code or by its Chinese label (both are keys of
``ROLE_BY_LANE``), so a modeller can write the lane as people say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """Depth in the 5-level hierarchy; the value is the depth (province = 1)."""

    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    TOWNSHIP = 4
    VILLAGE = 5


LEVEL_LABELS: dict[Level, str] = {
    Level.PROVINCE: "省",
    Level.CITY: "市",
    Level.COUNTY: "县",
    Level.TOWNSHIP: "乡镇",
    Level.VILLAGE: "村(社区)",
}

LEVEL_BY_NAME: dict[str, Level] = {lv.name.lower(): lv for lv in Level}


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    level: Level | None  # the org level a holder of this role sits at (None: any level)
    sees_sensitive: bool = False  # may read personal fields (ID numbers, names, bank accounts, health)
    # An "approve" by this role approves the report at this level (roll-up stages, status); a check
    # role (e.g. a county line department) passes the flow on without approving at its level.
    approves_at: Level | None = None
    # Reads reports before they are approved (drafts, submitted reports, their tasks, revisions and
    # review comments): the roles that take part in the flow. A line department's viewer reads
    # approved reports only.
    reads_in_progress: bool = True


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("village_clerk", "村级填报员", Level.VILLAGE, sees_sensitive=True),
        Role("township_reviewer", "乡镇审核员", Level.TOWNSHIP, sees_sensitive=True, approves_at=Level.TOWNSHIP),
        Role("county_reviewer", "县级审核员", Level.COUNTY, sees_sensitive=True, approves_at=Level.COUNTY),
        Role("county_department", "县级业务部门", Level.COUNTY, sees_sensitive=True),
        Role("city_reviewer", "市级审核员", Level.CITY, approves_at=Level.CITY),
        # the province's own review (报省, after the county or city): its approval is the province's
        Role("province_admin", "省级管理员", Level.PROVINCE, approves_at=Level.PROVINCE),
        Role("department_viewer", "部门查看员", None, reads_in_progress=False),
    )
}

# Role codes by what their holders read of a report in their subtree.
IN_PROGRESS_READERS: frozenset[str] = frozenset(code for code, r in ROLES.items() if r.reads_in_progress)
APPROVED_READERS: frozenset[str] = frozenset(ROLES) - IN_PROGRESS_READERS

ROLE_BY_LANE: dict[str, Role] = {**ROLES, **{r.label: r for r in ROLES.values()}}


def role_for_lane(lane: str | None) -> Role | None:
    """The role a BPMN lane names, or None when the lane is unknown (a check error at publish time)."""
    if lane is None:
        return None
    return ROLE_BY_LANE.get(lane.strip())
