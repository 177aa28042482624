"""QA's yearly change as the provincial centre makes it, without any x-mappings: a scratch set whose
version 1 is the shipped village_basic v2, and a version 2 that moves the 60+/80+/90+/100+ counts to a
new section 老年人口, renames party_members to cpc_members, removes land_grass and retitles land_other
to 其他农用地（含草地）. Seven correspondences are left unsaid (``PROPOSED``)."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import ROOT

CODE = "scratch_basic"
SHIPPED_V2 = ROOT / "definitions/indicators/village_basic/v2.json"
MOVED = ("pop_age_60p", "pop_age_80p", "pop_age_90p", "pop_age_100p")
# the previous version's field of each open proposal -> the mapping accepting it adds
PROPOSED: dict[str, dict[str, Any]] = {
    **{f"population.{name}": {"kind": "rename", "from": f"population.{name}", "to": f"elderly.{name}"}
       for name in MOVED},
    "party_welfare.party_members": {"kind": "rename", "from": "party_welfare.party_members",
                                    "to": "party_welfare.cpc_members"},
    "land.land_grass": {"kind": "removed", "from": "land.land_grass"},
    "land.land_other": {"kind": "not_comparable", "from": "land.land_other", "to": "land.land_other",
                        "note": "名称由「其他农用地」改为「其他农用地（含草地）」，口径改变"},
}


def version_1() -> dict[str, Any]:
    doc = json.loads(SHIPPED_V2.read_text(encoding="utf-8"))
    doc.pop("x-mappings")
    doc.pop("$id", None)
    doc.update({"x-code": CODE, "x-version": 1, "title": "村级基本情况（演练）"})
    return doc


def version_2() -> dict[str, Any]:
    doc = copy.deepcopy(version_1())
    doc["x-version"] = 2
    population = doc["properties"]["population"]["properties"]
    elderly = {"type": "object", "title": "老年人口", "properties": {n: population.pop(n) for n in MOVED}}
    sections: dict[str, Any] = {}
    for key, section in doc["properties"].items():
        sections[key] = section
        if key == "population":  # the new page right after 人口
            sections["elderly"] = elderly
    doc["properties"] = sections
    party = doc["properties"]["party_welfare"]["properties"]
    doc["properties"]["party_welfare"]["properties"] = {
        ("cpc_members" if k == "party_members" else k): v for k, v in party.items()}
    land = doc["properties"]["land"]["properties"]
    del land["land_grass"]
    land["land_other"]["title"] = "其他农用地（含草地）"
    for rule in doc["x-rules"]:
        rule["expr"] = rule["expr"].replace("party_members", "cpc_members").replace(" + land_grass", "")
        rule["fields"] = [f.replace("party_welfare.party_members", "party_welfare.cpc_members")
                          .replace("population.pop_age_", "elderly.pop_age_") for f in rule["fields"]]
    return doc
