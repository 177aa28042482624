"""The server-rendered diagram: drawn from the file's own BPMN DI, with highlights, safely."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpmn_svg import render_svg
from engine.errors import BadInput
from tests.conftest import ROOT

V2 = (ROOT / "definitions/processes/village_report/v2.bpmn").read_bytes()
SVG = "{http://www.w3.org/2000/svg}"


def _shapes(svg: str) -> dict[str, etree._Element]:
    root = etree.fromstring(svg.encode())
    return {g.get("data-element-id"): g for g in root.iter(f"{SVG}g")}


def test_every_shape_and_edge_of_the_diagram_is_drawn_where_the_modeller_put_it():
    shapes = _shapes(render_svg(V2))
    for element in ("village_report_pool", "lane_village", "lane_department", "start", "village_entry",
                    "entry_deadline", "township_decision", "department_check", "approved", "flow_township_approve"):
        assert element in shapes, element
    task = shapes["department_check"]
    rect = task.find(f"{SVG}rect")
    assert (rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height")) == ("720", "580", "100", "80")
    assert "".join(task.find(f"{SVG}text").itertext()) == "县级业务部门核查"
    assert task.get("class") == "shape bpmn-userTask"
    assert shapes["township_decision"].find(f"{SVG}polygon") is not None
    assert shapes["approved"].find(f"{SVG}circle").get("class") == "event end"
    lane_label = shapes["lane_county"].find(f"{SVG}text")
    assert lane_label.text == "县级审核员" and lane_label.get("transform").startswith("rotate(-90")
    edge = shapes["flow_township_approve"].find(f"{SVG}polyline")
    assert edge.get("points") == "645,445 645,620 720,620" and edge.get("marker-end") == "url(#arrow)"


def test_highlighted_elements_are_marked():
    shapes = _shapes(render_svg(V2, highlight=["township_review"]))
    assert "highlight" in shapes["township_review"].get("class")
    assert "highlight" not in shapes["county_review"].get("class")


def test_names_are_escaped_and_entities_never_expanded():
    hostile = V2.replace("村级填报".encode(), b"&lt;script&gt;alert(1)&lt;/script&gt;")
    svg = render_svg(hostile)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + V2.split(b"?>", 1)[1]
    with pytest.raises(BadInput, match="引用了外部实体"):
        render_svg(doctype.replace("开始填报".encode(), b"&x;"))


def test_a_file_without_diagram_data_is_a_chinese_error():
    plain = V2.split(b"<bpmndi:BPMNDiagram")[0] + b"</bpmn:definitions>"
    with pytest.raises(BadInput, match="没有图形信息"):
        render_svg(plain)
    with pytest.raises(BadInput, match="无法解析"):
        render_svg(b"<bpmn")
