"""A read-only SVG of a BPMN file, drawn from its own diagram data (bpmndi shapes and edges).

The modeller's layout is kept exactly: every ``BPMNShape`` has bounds, every ``BPMNEdge`` waypoints.
Shapes are drawn by the element they show, looked up in ``DRAWERS`` (tag -> function); each gets
``data-element-id`` so a page can find it, and the ids passed as ``highlight`` are drawn emphasised
(where a submission stands). The SVG is built as an lxml tree, so names from the file are escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from engine.errors import BadInput
from engine.workflows.xml_input import parse_xml, syntax_message

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SVG_NS = "http://www.w3.org/2000/svg"

FONT = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
STYLE = f"""
text {{ font-family: {FONT}; font-size: 12px; fill: #1f2933; }}
.pool, .lane {{ fill: #fff; stroke: #66727f; stroke-width: 1; }}
.lane:nth-of-type(even) {{ fill: #f6f7f9; }}
.task {{ fill: #fff; stroke: #1f2933; stroke-width: 1.5; }}
.gateway, .event {{ fill: #fff; stroke: #1f2933; stroke-width: 1.5; }}
.end {{ stroke-width: 3.5; }}
.marker {{ stroke: #1f2933; stroke-width: 3; fill: none; }}
.flow {{ fill: none; stroke: #1f2933; stroke-width: 1.2; }}
.highlight .task, .highlight .gateway, .highlight .event {{ stroke: #d97706; stroke-width: 4; fill: #fff7e6; }}
.highlight text {{ font-weight: 700; }}
"""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _sub(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    el = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attrs.items():
        el.set(key.rstrip("_").replace("_", "-"), _num(value) if isinstance(value, float | int) else str(value))
    return el


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(parent: etree._Element, x: float, y: float, text: str, *, width: float | None = None,
          anchor: str = "middle", downward: bool = False) -> None:
    """Text centred on ``y`` (or starting there, ``downward``), wrapped by character (Chinese has no
    spaces) to fit ``width``."""
    per_line = max(int((width or 1e6) // 12), 1)
    lines = [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]
    top = y if downward else y - (len(lines) - 1) * 8
    el = _sub(parent, "text", x=x, y=top, text_anchor=anchor, dominant_baseline="middle")
    for i, line in enumerate(lines):
        span = _sub(el, "tspan", x=x, dy=0 if i == 0 else 16)
        span.text = line


def _lane(g: etree._Element, box: Box, name: str, css: str) -> None:
    _sub(g, "rect", x=box.x, y=box.y, width=box.w, height=box.h, class_=css)
    _sub(g, "line", x1=box.x + 30, y1=box.y, x2=box.x + 30, y2=box.y + box.h, class_=css)
    label = _sub(g, "text", x=box.x + 15, y=box.cy, text_anchor="middle", dominant_baseline="middle",
                 transform=f"rotate(-90 {_num(box.x + 15)} {_num(box.cy)})")
    label.text = name


def draw_pool(g: etree._Element, box: Box, name: str) -> None:
    _lane(g, box, name, "pool")


def draw_lane(g: etree._Element, box: Box, name: str) -> None:
    _lane(g, box, name, "lane")


def draw_task(g: etree._Element, box: Box, name: str) -> None:
    _sub(g, "rect", x=box.x, y=box.y, width=box.w, height=box.h, rx=10, ry=10, class_="task")
    _text(g, box.cx, box.cy, name, width=box.w - 8)


def _diamond(g: etree._Element, box: Box) -> None:
    points = f"{_num(box.cx)},{_num(box.y)} {_num(box.x + box.w)},{_num(box.cy)} " \
             f"{_num(box.cx)},{_num(box.y + box.h)} {_num(box.x)},{_num(box.cy)}"
    _sub(g, "polygon", points=points, class_="gateway")


def _caption(g: etree._Element, box: Box, name: str) -> None:
    if name:
        _text(g, box.cx, box.y + box.h + 14, name, width=max(box.w * 2.5, 90), downward=True)


def draw_exclusive(g: etree._Element, box: Box, name: str) -> None:
    _diamond(g, box)
    d = box.w * 0.18
    _sub(g, "path", d=f"M{_num(box.cx - d)},{_num(box.cy - d)} L{_num(box.cx + d)},{_num(box.cy + d)} "
                      f"M{_num(box.cx + d)},{_num(box.cy - d)} L{_num(box.cx - d)},{_num(box.cy + d)}",
         class_="marker")
    _caption(g, box, name)


def draw_parallel(g: etree._Element, box: Box, name: str) -> None:
    _diamond(g, box)
    d = box.w * 0.25
    _sub(g, "path", d=f"M{_num(box.cx - d)},{_num(box.cy)} L{_num(box.cx + d)},{_num(box.cy)} "
                      f"M{_num(box.cx)},{_num(box.cy - d)} L{_num(box.cx)},{_num(box.cy + d)}", class_="marker")
    _caption(g, box, name)


def _circle(g: etree._Element, box: Box, css: str) -> None:
    _sub(g, "circle", cx=box.cx, cy=box.cy, r=box.w / 2, class_=css)


def draw_start(g: etree._Element, box: Box, name: str) -> None:
    _circle(g, box, "event")
    _caption(g, box, name)


def draw_end(g: etree._Element, box: Box, name: str) -> None:
    _circle(g, box, "event end")
    _caption(g, box, name)


def _clock(g: etree._Element, box: Box) -> None:
    """A double circle with a clock: the only boundary and intermediate events allowed are timers."""
    _circle(g, box, "event")
    _sub(g, "circle", cx=box.cx, cy=box.cy, r=box.w / 2 - 3, class_="event")
    r = box.w / 2 - 8
    _sub(g, "path", d=f"M{_num(box.cx)},{_num(box.cy - r)} L{_num(box.cx)},{_num(box.cy)} "
                      f"L{_num(box.cx + r * 0.7)},{_num(box.cy)}", class_="flow")


def draw_timer(g: etree._Element, box: Box, name: str) -> None:
    _clock(g, box)
    _caption(g, box, name)


def draw_boundary(g: etree._Element, box: Box, name: str) -> None:
    """On a task's edge: the caption goes outside, away from the task's own name."""
    _clock(g, box)
    if name:
        _text(g, box.x + box.w + 4, box.y - 6, name, anchor="start")


def draw_note(g: etree._Element, box: Box, name: str) -> None:
    _sub(g, "path", d=f"M{_num(box.x + 15)},{_num(box.y)} L{_num(box.x)},{_num(box.y)} "
                      f"L{_num(box.x)},{_num(box.y + box.h)} L{_num(box.x + 15)},{_num(box.y + box.h)}",
         class_="flow")
    _text(g, box.x + 6, box.cy, name, width=box.w, anchor="start")


# BPMN element (local name) -> how its shape is drawn; pools and lanes first so they lie underneath.
DRAWERS: dict[str, Callable[[etree._Element, Box, str], None]] = {
    "participant": draw_pool,
    "lane": draw_lane,
    "userTask": draw_task,
    "task": draw_task,
    "manualTask": draw_task,
    "exclusiveGateway": draw_exclusive,
    "parallelGateway": draw_parallel,
    "startEvent": draw_start,
    "endEvent": draw_end,
    "boundaryEvent": draw_boundary,
    "intermediateCatchEvent": draw_timer,
    "intermediateThrowEvent": draw_start,
    "textAnnotation": draw_note,
}
LAYER = {"participant": 0, "lane": 1}


def _parse(bpmn: bytes) -> etree._Element:
    try:
        return parse_xml(bpmn)
    except etree.XMLSyntaxError as err:
        raise BadInput(f"BPMN 文件无法解析，不能绘制流程图：{syntax_message(err, bpmn)}") from None


def _box(shape: etree._Element) -> Box | None:
    bounds = shape.find(f"{{{DC_NS}}}Bounds")
    if bounds is None:
        return None
    try:
        return Box(*(float(bounds.get(k, "0")) for k in ("x", "y", "width", "height")))
    except ValueError:
        return None


def _arrow(g: etree._Element, points: list[tuple[float, float]], name: str) -> None:
    _sub(g, "polyline", points=" ".join(f"{_num(x)},{_num(y)}" for x, y in points), class_="flow",
         marker_end="url(#arrow)")
    if name and len(points) >= 2:
        (x1, y1), (x2, y2) = points[len(points) // 2 - 1], points[len(points) // 2]
        _text(g, (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 8, name, anchor="start")


def render_svg(bpmn: bytes, highlight: Iterable[str] = ()) -> str:
    """The diagram as an SVG document; raises BadInput when the file has no diagram to draw."""
    root = _parse(bpmn)
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        raise BadInput("BPMN 文件没有图形信息（BPMNDiagram），请用建模工具保存后再上传")
    marked = set(highlight)
    shapes = []
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        element, box = elements.get(shape.get("bpmnElement", "")), _box(shape)
        if element is not None and box is not None and etree.QName(element).localname in DRAWERS:
            shapes.append((element, box))
    if not shapes:
        raise BadInput("BPMN 文件的图形信息中没有可绘制的元素")
    boxes = [b for _, b in shapes]
    left, top = min(b.x for b in boxes) - 20, min(b.y for b in boxes) - 20
    right, bottom = max(b.x + b.w for b in boxes) + 20, max(b.y + b.h for b in boxes) + 40
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    for key, value in {"viewBox": f"{_num(left)} {_num(top)} {_num(right - left)} {_num(bottom - top)}",
                       "width": _num(right - left), "height": _num(bottom - top), "role": "img",
                       "class": "bpmn-diagram"}.items():
        svg.set(key, value)
    title = _sub(svg, "title")
    title.text = "流程图"
    defs = _sub(svg, "defs")
    _sub(defs, "style").text = STYLE
    marker = _sub(defs, "marker", id="arrow", viewBox="0 0 10 10", refX=10, refY=5, markerWidth=8,
                  markerHeight=8, orient="auto-start-reverse")
    _sub(marker, "path", d="M0,0 L10,5 L0,10 z", fill="#1f2933")
    for element, box in sorted(shapes, key=lambda s: LAYER.get(etree.QName(s[0]).localname, 2)):
        tag = etree.QName(element).localname
        element_id = element.get("id")
        css = f"shape bpmn-{tag}" + (" highlight" if element_id in marked else "")
        g = _sub(svg, "g", class_=css, data_element_id=element_id)
        _sub(g, "title").text = element.get("name") or element_id
        DRAWERS[tag](g, box, element.get("name") or "")
    for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        points = [(float(p.get("x", "0")), float(p.get("y", "0"))) for p in edge.findall(f"{{{DI_NS}}}waypoint")]
        element = elements.get(edge.get("bpmnElement", ""))
        if len(points) < 2 or element is None or not all(map(math.isfinite, (c for p in points for c in p))):
            continue
        g = _sub(svg, "g", class_="edge", data_element_id=element.get("id"))
        _arrow(g, points, element.get("name") or "")
    return etree.tostring(svg, encoding="unicode")
