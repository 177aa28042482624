"""x-fill: a field's value taken from the report's context. Every misuse is a definition problem at load
time (Chinese message, pointer of the keyword); ``fill_document`` overrides whatever a client sent."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definitions import check_indicator_set, load_indicator_set
from engine.definitions.fill import FILL_SOURCES, FillContext, fill_document

Doc = dict[str, Any]
CONTEXT = FillContext("390121101201", "溪口村", "2025")


def doc(**basic_extra: Doc) -> Doc:
    """A small set with an identity section and a repeat; ``basic_extra``: keywords per basic field."""
    basic = {
        "year": {"type": "integer", "title": "报告年度", "minimum": 2000, "maximum": 2100},
        "code": {"type": "string", "title": "区划代码", "pattern": "^[0-9]{12}$"},
        "name": {"type": "string", "title": "名称", "minLength": 2},
        "period": {"type": "string", "title": "期别"},
        "kind": {"type": "string", "title": "类别", "enum": ["村", "社区"]},
    }
    for name, extra in basic_extra.items():
        basic[name] = {**basic[name], **extra}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "测试指标集",
        "type": "object",
        "x-code": "filled",
        "x-version": 1,
        "x-period": "year",
        "properties": {
            "basic": {"type": "object", "title": "基本信息", "properties": basic,
                      "required": ["year", "code", "name"]},
            "people": {"type": "array", "title": "名册", "items": {"type": "object", "properties": {
                "village": {"type": "string", "title": "所在村"}}}},
        },
    }


def problems(d: Doc) -> list[tuple[str, str, str]]:
    return [(p.code, p.message, p.definition.pointer if p.definition else "") for p in check_indicator_set(d, "t.json")]


def test_every_source_loads_on_a_field_of_its_kind():
    ind = load_indicator_set(doc(year={"x-fill": "period.year"}, code={"x-fill": "unit.code"},
                                 name={"x-fill": "unit.name"}, period={"x-fill": "period"}), "t.json")
    assert [(f.key, f.fill) for f in ind.filled] == [
        ("basic.year", "period.year"), ("basic.code", "unit.code"), ("basic.name", "unit.name"),
        ("basic.period", "period")]
    assert ind.fields["basic.kind"].fill is None
    assert load_indicator_set(doc(), "t.json").filled == ()


def test_an_unknown_source_is_refused_listing_the_allowed_ones():
    [(code, message, pointer)] = problems(doc(code={"x-fill": "unit.id"}))
    assert code == "definition" and pointer == "/properties/basic/properties/code/x-fill"
    assert "取值来源（x-fill）「unit.id」不是可用的取值来源" in message
    assert all(name in message for name in FILL_SOURCES)
    assert "本单位名称" in message


@pytest.mark.parametrize(("field", "source", "kind_text"), [
    ("code", "period.year", "只能用于整数字段，「basic.code」是单行文本"),
    ("year", "unit.code", "只能用于单行文本字段，「basic.year」是整数"),
    ("kind", "unit.name", "只能用于单行文本字段，「basic.kind」是单选"),
])
def test_a_source_on_a_field_of_another_kind_is_refused(field, source, kind_text):
    [(code, message, pointer)] = problems(doc(**{field: {"x-fill": source}}))
    assert code == "definition" and pointer == f"/properties/basic/properties/{field}/x-fill"
    assert kind_text in message


def test_fill_and_calculate_together_are_refused():
    [(_, message, pointer)] = problems(doc(year={"x-fill": "period.year", "x-calculate": "2025"}))
    assert "不能同时有取值来源（x-fill）和计算公式（x-calculate）" in message and pointer.endswith("/year/x-fill")


def test_fill_inside_a_repeat_is_refused():
    d = doc()
    d["properties"]["people"]["items"]["properties"]["village"]["x-fill"] = "unit.name"
    [(_, message, pointer)] = problems(d)
    assert "取值来源（x-fill）不能用于数组「people」的行内字段「people.village」" in message
    assert pointer == "/properties/people/items/properties/village/x-fill"


def test_fill_in_a_grid_cell_is_refused():
    d = doc()
    d["properties"]["land"] = {"type": "object", "title": "土地", "x-grid": {"row_total": False, "column_total": False}, "properties": {
        "row": {"type": "object", "title": "耕地", "properties": {
            "owner": {"type": "string", "title": "权属单位", "x-fill": "unit.name"}}}}}
    [(_, message, pointer)] = problems(d)
    assert "取值来源（x-fill）不能用于表格单元格「land.row.owner」" in message
    assert pointer == "/properties/land/properties/row/properties/owner/x-fill"


def test_period_year_needs_the_sets_period_type():
    d = doc(year={"x-fill": "period.year"})
    del d["x-period"]
    [(_, message, _)] = problems(d)
    assert "需要根节点写明报告期类型（x-period）" in message
    d = doc(period={"x-fill": "period"})
    del d["x-period"]
    assert problems(d) == []  # the period's text needs no known syntax


def test_a_misplaced_or_malformed_value_is_a_vocabulary_problem():
    d = doc(code={"x-fill": ""})
    [(code, message, pointer)] = problems(d)
    assert code == "x-keyword" and pointer.endswith("/code/x-fill") and "x-fill" in message
    d = doc()
    d["x-fill"] = "unit.code"
    [(code, message, _)] = problems(d)
    assert code == "x-keyword" and "不能用在根节点上" in message


def test_fill_document_overrides_what_was_sent_and_keeps_the_callers_document():
    ind = load_indicator_set(doc(year={"x-fill": "period.year"}, code={"x-fill": "unit.code"},
                                 name={"x-fill": "unit.name"}, period={"x-fill": "period"}), "t.json")
    sent = {"basic": {"year": 2024, "code": "390121201202", "name": "岭下村", "kind": "村"}, "people": []}
    filled = fill_document(ind.filled, sent, CONTEXT)
    assert filled == {"basic": {"year": 2025, "code": "390121101201", "name": "溪口村", "kind": "村",
                                "period": "2025"}, "people": []}
    assert sent["basic"]["year"] == 2024 and "period" not in sent["basic"]  # not modified
    assert fill_document(ind.filled, {}, CONTEXT)["basic"]["code"] == "390121101201"  # sections created
    # a list where the section belongs is left for the schema to report
    assert fill_document(ind.filled, {"basic": [1]}, CONTEXT) == {"basic": [1]}
    assert fill_document((), sent, CONTEXT) is sent


def test_every_source_describes_itself_in_chinese():
    for source in FILL_SOURCES.values():
        assert source.description and source.hint and source.kinds
        assert any("\u4e00" <= ch <= "\u9fff" for ch in source.description + source.hint)
    assert FILL_SOURCES["period.year"].value(FillContext("x", "y", "2025Q3")) == 2025


def test_the_form_renders_a_filled_field_read_only_and_never_reads_it_back():
    from werkzeug.datastructures import MultiDict

    from engine.forms import form_to_data, page_for, page_view

    ind = load_indicator_set(doc(code={"x-fill": "unit.code"}, year={"x-fill": "period.year"}), "t.json")
    posted = MultiDict({"basic-code": "390121201202", "basic-year": "2024", "basic-name": "岭下村"})
    assert form_to_data(ind, posted)["basic"] == {"name": "岭下村"}
    view = page_view(ind, {"basic": {"code": "390121101201", "year": 2025}}, page_for(ind, "basic").number)
    fields = {f.spec.name: f for f in view.fields[0]}
    code = fields["code"](**view.attrs(fields["code"]))
    assert "readonly" in code and 'value="390121101201"' in code and 'aria-describedby="basic-code-fill"' in code
    assert view.fill_hint(fields["code"]) == "由系统按本单位填写" and view.fill_hint(fields["year"]) == "按本期自动填写"
    assert view.fill_hint(fields["name"]) == "" and "readonly" not in fields["name"]()
    assert not view.required(fields["code"]) and view.required(fields["name"])
