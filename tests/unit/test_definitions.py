"""The shipped indicator sets load, have what they promise, and their examples mean what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.definitions import (
    IndicatorSet,
    carry_forward,
    content_hash,
    correspondence,
    discover,
    load_all,
    load_indicator_file,
    load_indicator_set,
)
from engine.expressions import compile_expression

ROOT = Path(__file__).resolve().parents[2] / "definitions" / "indicators"
EXAMPLE_DIRS = sorted(p for p in ROOT.glob("*/examples/v*") if p.is_dir())


def load(code: str, version: int) -> IndicatorSet:
    return load_indicator_file(ROOT / code / f"v{version}.json")


def test_discover_lists_every_version_in_order() -> None:
    names = [f"{p.parent.name}/{p.name}" for p in discover()]
    assert names == ["elderly_allowance/v1.json", "elderly_allowance/v2.json",
                     "village_basic/v1.json", "village_basic/v2.json", "village_basic/v3.json"]


def test_every_shipped_definition_loads_against_its_predecessor() -> None:
    loaded = load_all()
    assert {code: [s.version for s in sets] for code, sets in loaded.items()} == {
        "elderly_allowance": [1, 2],
        "village_basic": [1, 2, 3],
    }
    for sets in loaded.values():
        for indicator_set in sets:
            assert indicator_set.content_hash == content_hash(
                json.loads(Path(indicator_set.source).read_text("utf-8"))
            )


def test_village_basic_v1_has_the_promised_features() -> None:
    v1 = load("village_basic", 1)
    assert (v1.code, v1.version, v1.period, v1.title) == ("village_basic", 1, "year", "村级基本情况年报")
    assert len(list(v1.leaves())) >= 60
    assert [s.title for s in v1.sections] == [
        "基本信息", "户数", "人口", "劳动力", "土地", "土地流转", "经营规模", "党员与低保", "集体经济", "填报人",
    ]  # fmt: skip
    grid = v1.fields["land_transfer"]
    assert grid.kind == "grid" and grid.schema["x-grid"] == {"row_total": True, "column_total": True}
    assert [r.title for r in grid.children] == ["耕地", "园地", "林地"]  # sibling title over the shared $def
    assert [c.title for c in grid.children[0].children] == ["出租", "转包", "入股", "其他方式"]
    assert v1.fields["land_transfer.cultivated.lease"].pointer == "/$defs/transfer_modes/properties/lease"
    assert v1.fields["households.avg_household_size"].calculate
    assert v1.fields["labour.migrant_year_round"].relevant == "migrant_workers > 0"
    assert {f.key for f in v1.leaves() if f.sensitive == "contact"} >= {
        "filler.filler_name",
        "filler.filler_phone",
    }
    assert all(f.title and f.unit for f in v1.leaves() if f.kind in ("integer", "number"))
    severities = {r.id: r.severity for r in v1.rules}
    assert severities["pop_sex_sum"] == "hard"
    assert {severities[r] for r in ("households_le_pop", "household_size_range", "resident_within_half")} == {
        "soft"
    }
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.message) for r in v1.rules)


def test_field_model_and_name_resolution() -> None:
    v1 = load("village_basic", 1)
    pop_total = v1.resolve("pop_total")
    assert pop_total is v1.resolve("population.pop_total")
    assert (pop_total.kind, pop_total.unit, pop_total.aggregate, pop_total.required) == (
        "integer",
        "人",
        "sum",
        True,
    )
    assert pop_total.path == ("population", "pop_total") and pop_total.array_key is None
    assert v1.fields["basic.urban_rural_class"].options[-1] == ("220", "220 村庄")
    assert v1.fields["basic.unit_kind"].kind == "choice" and v1.fields["filler.report_date"].kind == "date"
    assert v1.fields["filler.remarks"].kind == "text" and v1.fields["basic.village_name"].aggregate == "none"
    with pytest.raises(KeyError):
        v1.resolve("lease")  # one per grid row: ambiguous
    scope = v1.scope({"population": {"pop_total": 12}})
    assert scope.lookup("pop_total") == 12 and scope.lookup("population.pop_total") == 12


def test_elderly_allowance_roster() -> None:
    ind = load("elderly_allowance", 1)
    assert ind.period == "month"
    elders = ind.fields["elders"]
    assert elders.kind == "array" and elders.schema["minItems"] == 0
    assert [c.name for c in elders.children][:4] == ["seq", "name", "id_number", "gender"]
    row = {c.name: c for c in elders.children}
    assert all(c.array_key == "elders" and c.key == f"elders.{c.name}" for c in row.values())
    assert {n: row[n].sensitive for n in ("name", "id_number", "bank_account", "health_note")} == {
        "name": "personal", "id_number": "id_number", "bank_account": "financial", "health_note": "health",
    }  # fmt: skip
    assert {n for n, c in row.items() if c.calculate} == {"gender", "birth_date", "age", "age_band"}
    assert row["status"].options == (
        ("新增", "新增"),
        ("续发", "续发"),
        ("死亡核减", "死亡核减"),
        ("迁出", "迁出"),
    )
    scopes = {r.id: r.scope for r in ind.rules}
    assert scopes["unique_id_number"] is None
    assert {
        scopes[r]
        for r in ("id_number_valid", "age_at_least_80", "amount_matches_band", "change_date_required")
    } == {"elders"}


def test_v2_mappings_resolve_against_v1() -> None:
    v1, v2 = load("village_basic", 1), load("village_basic", 2)
    assert v2.mappings is not None and v2.mappings.from_version == 1
    kinds = {m.kind: m for m in v2.mappings.fields}
    assert set(kinds) == {"rename", "split"}
    for m in v2.mappings.fields:
        assert all(k in v1.fields for k in m.from_keys) and all(k in v2.fields for k in m.to_keys)
    assert kinds["split"].to_keys == ("population.pop_age_18_34", "population.pop_age_35_59")
    assert (
        "households.broadband_households" in v2.fields and "households.broadband_households" not in v1.fields
    )


def test_carry_forward_v1_to_v2() -> None:
    v1, v2 = load("village_basic", 1), load("village_basic", 2)
    last_year = json.loads((ROOT / "village_basic/examples/v1/valid-lingxia-2024.json").read_text("utf-8"))
    draft = carry_forward(v1, last_year, v2)
    assert draft["population"]["pop_total"] == 1350
    assert draft["labour"]["working_age_labour"] == 800  # renamed: moved
    assert "labour_resource" not in draft["labour"]
    assert "pop_age_18_34" not in draft["population"] and "pop_age_18_59" not in draft["population"]  # split
    assert "broadband_households" not in draft["households"]  # new in v2
    assert "avg_household_size" not in draft["households"]  # calculated: recomputed, not carried
    assert draft["land_transfer"]["cultivated"]["lease"] == 200


def test_carry_forward_copies_repeat_rows() -> None:
    roster = load("elderly_allowance", 1)
    last_month = json.loads(
        (ROOT / "elderly_allowance/examples/v1/valid-lingxia-2024-10.json").read_text("utf-8")
    )
    draft = carry_forward(roster, last_month, roster)
    assert [r["id_number"] for r in draft["elders"]] == [r["id_number"] for r in last_month["elders"]]
    assert "age" not in draft["elders"][0]  # recomputed at the new cut-off date


def test_correspondence_v1_to_v2() -> None:
    v1, v2 = load("village_basic", 1), load("village_basic", 2)
    table = correspondence(v1, v2)
    same = table["population.pop_total"]
    assert (same.old_keys, same.factor, same.comparable) == (("population.pop_total",), 1.0, True)
    renamed = table["labour.working_age_labour"]
    assert (renamed.old_keys, renamed.comparable) == (("labour.labour_resource",), True)
    for part in ("population.pop_age_18_34", "population.pop_age_35_59"):
        split = table[part]
        assert split.old_keys == ("population.pop_age_18_59",) and not split.comparable
        assert split.split_parts == ("population.pop_age_18_34", "population.pop_age_35_59")
    added = table["households.broadband_households"]
    assert added.old_keys == () and not added.comparable
    assert set(table) == {f.key for f in v2.leaves()}


# The versions that take a report's identity from its context (x-fill) instead of the clerk: field -> source.
IDENTITY_FILLS = {
    ("village_basic", 3): {"basic.report_year": "period.year", "basic.division_code": "unit.code",
                           "basic.village_name": "unit.name"},
    ("elderly_allowance", 2): {"header.division_code": "unit.code", "header.period": "period"},
}


def _without_fills(doc: dict) -> dict:
    """``doc`` less its x-fill keywords and the readOnly that comes with them."""
    if not isinstance(doc, dict):
        return [_without_fills(d) for d in doc] if isinstance(doc, list) else doc
    filled = "x-fill" in doc
    return {k: _without_fills(v) for k, v in doc.items() if k != "x-fill" and not (filled and k == "readOnly")}


@pytest.mark.parametrize(("code", "version"), list(IDENTITY_FILLS), ids=lambda v: str(v))
def test_the_identity_versions_are_their_predecessor_plus_x_fill(code: str, version: int) -> None:
    """Nothing but the filled fields (and the version's own number, note and mappings) changed, so last
    period's reports carry over whole and every figure stays comparable."""
    old, new = load(code, version - 1), load(code, version)
    assert {f.key: f.fill for f in new.filled} == IDENTITY_FILLS[(code, version)]
    assert all(f.schema.get("readOnly") is True and f.aggregate == "none" for f in new.filled)
    assert old.filled == ()
    assert new.description.startswith(old.description) and f"第 {version} 版：" in new.description
    assert new.mappings is not None and (new.mappings.from_version, new.mappings.fields) == (version - 1, ())
    rest = {"$id", "description", "x-version", "x-mappings"}
    assert {k: v for k, v in _without_fills(new.schema).items() if k not in rest} == {
        k: v for k, v in old.schema.items() if k not in rest}
    table = correspondence(old, new)
    assert set(table) == {f.key for f in new.leaves()} and all(c.comparable for c in table.values())


def test_carry_forward_v2_to_v3_keeps_everything() -> None:
    """Last year's values carry over, identity included: the collection's start then fills those."""
    v2, v3 = load("village_basic", 2), load("village_basic", 3)
    last_year = json.loads((ROOT / "village_basic/examples/v2/valid-lingxia-2025.json").read_text("utf-8"))
    draft = carry_forward(v2, last_year, v3)
    households = dict(last_year["households"])
    del households["avg_household_size"]  # calculated: recomputed, not carried
    assert draft == {**last_year, "households": households}


# -- examples: an independent oracle for what the validator must report on them --------------------------


def _example_findings(ind: IndicatorSet, data: dict) -> list[dict]:
    findings = [
        {
            "data_path": ".".join(map(str, e.absolute_path)),
            "code": e.validator,
            "rule_id": None,
            "severity": "hard",
        }
        for e in Draft202012Validator(ind.schema).iter_errors(data)
    ]
    scope = ind.scope(data)
    for spec in ind.fields.values():
        rows = _rows(data, spec)
        for container in rows:
            row_scope = scope.row(container) if spec.array_key else scope
            if spec.calculate:
                container[spec.name] = compile_expression(spec.calculate).evaluate(row_scope)
            if spec.relevant and compile_expression(spec.relevant).evaluate(row_scope) is False:
                container.pop(spec.name, None)
    for rule in ind.rules:
        expr = compile_expression(rule.expr)
        targets = [(None, scope)] if rule.scope is None else [
            (i, scope.row(r)) for i, r in enumerate(data.get(rule.scope, []))
        ]  # fmt: skip
        for index, where in targets:
            if expr.evaluate(where) is False:
                path = rule.fields[0]
                if index is not None:
                    path = path.replace(f"{rule.scope}.", f"{rule.scope}.{index}.", 1)
                findings.append(
                    {"data_path": path, "code": "rule", "rule_id": rule.id, "severity": rule.severity}
                )
    return sorted(findings, key=lambda f: (f["data_path"], f["rule_id"] or ""))


def _rows(data: dict, spec) -> list[dict]:
    """The dicts that hold ``spec``'s value: one per repeat row, or its parent object."""
    if spec.array_key:
        return [r for r in data.get(spec.array_key, []) if isinstance(r, dict)]
    parent = data
    for part in spec.path[:-1]:
        parent = parent.setdefault(part, {})
    return [parent]


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: f"{p.parents[1].name}-{p.name}")
def test_examples_have_the_expected_findings(folder: Path) -> None:
    code, version = folder.parents[1].name, int(folder.name[1:])
    ind = load(code, version)
    valid = sorted(folder.glob("valid-*.json"))
    invalid = sorted(p for p in folder.glob("invalid-*.json") if not p.name.endswith(".expected.json"))
    assert len(valid) >= 1 and len(invalid) >= 2
    for path in valid:
        assert _example_findings(ind, json.loads(path.read_text("utf-8"))) == [], path.name
    for path in invalid:
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
        assert expected, path.name
        assert _example_findings(ind, json.loads(path.read_text("utf-8"))) == expected, path.name


def test_the_complete_example_in_the_docs_loads() -> None:
    text = (ROOT.parents[1] / "docs" / "definitions.md").read_text("utf-8")
    block = text.split("## Complete example", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    ind = load_indicator_set(json.loads(block), "docs/definitions.md")
    assert ind.fields["elders.age"].calculate and ind.fields["elders.change_date"].relevant
