"""Compare two versions of a definition.

Indicator sets: fields added / removed / changed (each change named by an aspect from ``ASPECTS``),
rules added / removed / changed, the mappings the newer version declares, and a proposed mapping for
every removed, moved, retitled, re-typed or re-united field the mappings do not mention yet
(``engine.definitions.proposals``: the checker refuses to publish a version while one is open).

Processes: steps (flow nodes) and flows added / removed / changed, read from the BPMN XML itself, so a
draft that does not pass the checker can still be compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.definitions import FieldSpec, IndicatorSet, RuleSpec
from engine.definitions.proposals import Proposal, mentioned_keys, propose, value_shape
from engine.draft_edits import AGGREGATE_LABELS, FILL_LABELS, SENSITIVITY_LABELS, SEVERITY_LABELS
from engine.workflows.checks import properties_of
from engine.workflows.durations import duration_text
from engine.workflows.vocabulary import BPMN_NS
from engine.workflows.xml_input import parse_xml


def _range(spec: FieldSpec) -> str | None:
    low = spec.schema.get("minimum", spec.schema.get("exclusiveMinimum"))
    high = spec.schema.get("maximum", spec.schema.get("exclusiveMaximum"))
    if low is None and high is None:
        return None
    return f"{'' if low is None else low} ~ {'' if high is None else high}"


def _options(spec: FieldSpec) -> str | None:
    return "；".join(f"{value}={label}" for value, label in spec.options) or None


# aspect -> (Chinese label, how to read it from a field)
ASPECTS: dict[str, tuple[str, Callable[[FieldSpec], Any]]] = {
    "label": ("名称", lambda f: f.title),
    "type": ("类型", value_shape),
    "unit": ("单位", lambda f: f.unit),
    "range": ("取值范围", _range),
    "options": ("选项", _options),
    "required": ("必填", lambda f: "是" if f.required else "否"),
    "relevant": ("显示条件", lambda f: f.relevant),
    "calculate": ("计算公式", lambda f: f.calculate),
    "fill": ("取值来源", lambda f: FILL_LABELS.get(f.fill, f.fill) if f.fill else None),
    "sensitive": ("敏感类别", lambda f: SENSITIVITY_LABELS.get(f.sensitive, f.sensitive)),
    "aggregate": ("汇总方式", lambda f: AGGREGATE_LABELS.get(f.aggregate, f.aggregate)),
}

RULE_ASPECTS: dict[str, tuple[str, Callable[[RuleSpec], Any]]] = {
    "expr": ("表达式", lambda r: r.expr),
    "message": ("提示信息", lambda r: r.message),
    "severity": ("严重程度", lambda r: SEVERITY_LABELS.get(r.severity, r.severity)),
    "fields": ("显示字段", lambda r: "、".join(r.fields)),
}

@dataclass(frozen=True)
class Change:
    aspect: str
    label: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Item:
    """One field, rule or process step that differs."""

    key: str
    title: str
    status: str  # added | removed | changed
    changes: tuple[Change, ...] = ()


@dataclass
class IndicatorSetDiff:
    old_version: int
    new_version: int
    fields: list[Item] = field(default_factory=list)
    rules: list[Item] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)  # declared by the newer version
    proposals: list[Proposal] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def items(rows: list[Item]) -> list[dict[str, Any]]:
            return [{"key": i.key, "title": i.title, "status": i.status,
                     "changes": [{"aspect": c.aspect, "label": c.label, "old": c.old, "new": c.new}
                                 for c in i.changes]} for i in rows]

        return {"from_version": self.old_version, "to_version": self.new_version,
                "fields": items(self.fields), "rules": items(self.rules), "mappings": self.mappings,
                "proposals": [p.to_json() for p in self.proposals]}


def _compare(old: Any, new: Any, aspects: dict[str, tuple[str, Callable[[Any], Any]]]) -> tuple[Change, ...]:
    return tuple(Change(name, label, read(old), read(new))
                 for name, (label, read) in aspects.items() if read(old) != read(new))


def diff_indicator_sets(old: IndicatorSet, new: IndicatorSet) -> IndicatorSetDiff:
    result = IndicatorSetDiff(old.version, new.version)
    for key, spec in new.fields.items():
        if key not in old.fields:
            result.fields.append(Item(key, spec.title, "added"))
        elif changes := _compare(old.fields[key], spec, ASPECTS):
            result.fields.append(Item(key, spec.title, "changed", changes))
    result.fields += [Item(k, s.title, "removed") for k, s in old.fields.items() if k not in new.fields]
    old_rules, new_rules = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    for rule_id, rule in new_rules.items():
        if rule_id not in old_rules:
            result.rules.append(Item(rule_id, rule.message, "added"))
        elif changes := _compare(old_rules[rule_id], rule, RULE_ASPECTS):
            result.rules.append(Item(rule_id, rule.message, "changed", changes))
    result.rules += [Item(i, r.message, "removed") for i, r in old_rules.items() if i not in new_rules]
    declared = new.mappings if new.mappings and new.mappings.from_version == old.version else None
    result.mappings = [_mapping_json(m) for m in declared.fields] if declared else []
    result.proposals = propose_mappings(old, new, mentioned_keys(declared))
    return result


def _mapping_json(m: Any) -> dict[str, Any]:
    one: dict[str, Any] = {"kind": m.kind}
    if m.from_keys:
        one["from"] = list(m.from_keys) if len(m.from_keys) > 1 else m.from_keys[0]
    if m.to_keys:
        one["to"] = list(m.to_keys) if len(m.to_keys) > 1 else m.to_keys[0]
    if m.kind == "unit":
        one["factor"] = m.factor
    if m.note:
        one["note"] = m.note
    return one


def propose_mappings(old: IndicatorSet, new: IndicatorSet, mentioned: frozenset[str]) -> list[Proposal]:
    """A mapping for every field of ``old`` the declared mappings do not mention and ``new`` changed."""
    return propose(old.fields, new.fields, mentioned)


# --- processes -----------------------------------------------------------------------------------

STEP_TAGS = {
    "startEvent": "开始事件", "endEvent": "结束事件", "userTask": "人工任务", "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关", "boundaryEvent": "边界事件", "intermediateCatchEvent": "中间事件",
    "intermediateThrowEvent": "中间事件",
}


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    name: str
    lane: str
    kind: str  # the user task's grassroots kind, or the end event's outcome
    due: str
    timer: str = ""  # a timer event's duration, date or cycle (its expression, as written)
    attached_to: str = ""  # a boundary event's task


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    condition: str
    name: str


STEP_ASPECTS: dict[str, tuple[str, Callable[[Step], Any]]] = {
    "type": ("类型", lambda s: STEP_TAGS.get(s.type, s.type)),
    "name": ("名称", lambda s: s.name),
    "lane": ("泳道（角色）", lambda s: s.lane),
    "kind": ("任务类别/结果", lambda s: s.kind),
    "due": ("期限", lambda s: duration_text(s.due) if s.due else ""),
    "timer": ("定时", lambda s: duration_text(s.timer) if s.timer else ""),
    "attached_to": ("附着于任务", lambda s: s.attached_to),
}
FLOW_ASPECTS: dict[str, tuple[str, Callable[[Flow], Any]]] = {
    "source": ("起点", lambda f: f.source),
    "target": ("终点", lambda f: f.target),
    "condition": ("条件", lambda f: f.condition),
    "name": ("名称", lambda f: f.name),
}


@dataclass
class ProcessDiff:
    steps: list[Item] = field(default_factory=list)
    flows: list[Item] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {part: [{"key": i.key, "title": i.title, "status": i.status,
                        "changes": [{"aspect": c.aspect, "label": c.label, "old": c.old, "new": c.new}
                                    for c in i.changes]} for i in getattr(self, part)]
                for part in ("steps", "flows")}


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def read_process(bpmn: bytes) -> tuple[dict[str, Step], dict[str, Flow]]:
    """Steps and flows of the (first) executable process; empty when the XML does not parse."""
    try:
        root = parse_xml(bpmn)
    except etree.XMLSyntaxError:
        return {}, {}
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") == "true"), None)
    if process is None:
        return {}, {}
    lane_of = {ref.text.strip(): lane.get("name", "")
               for lane in process.iter(f"{{{BPMN_NS}}}lane")
               for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    steps, flows = {}, {}
    for el in process:
        name = _local(el)
        if name in STEP_TAGS:
            props = properties_of(el)
            steps[el.get("id")] = Step(el.get("id"), name, el.get("name") or "", lane_of.get(el.get("id"), ""),
                                       props.get("kind") or props.get("outcome") or "", props.get("due") or "",
                                       _timer(el), el.get("attachedToRef") or "")
        elif name == "sequenceFlow":
            cond = el.find(f"{{{BPMN_NS}}}conditionExpression")
            flows[el.get("id")] = Flow(el.get("id"), el.get("sourceRef", ""), el.get("targetRef", ""),
                                       (cond.text or "").strip() if cond is not None else "", el.get("name") or "")
    return steps, flows


def _timer(el: Any) -> str:
    timer = el.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if timer is None:
        return ""
    when = next((child for child in timer if _local(child) in ("timeDuration", "timeDate", "timeCycle")), None)
    return (when.text or "").strip().strip('"') if when is not None else ""


def _diff_map(old: dict[str, Any], new: dict[str, Any], aspects: dict[str, tuple[str, Callable[[Any], Any]]],
              title: Callable[[Any], str]) -> list[Item]:
    items = []
    for key, value in new.items():
        if key not in old:
            items.append(Item(key, title(value), "added"))
        elif changes := _compare(old[key], value, aspects):
            items.append(Item(key, title(value), "changed", changes))
    items += [Item(k, title(v), "removed") for k, v in old.items() if k not in new]
    return items


def diff_processes(old_bpmn: bytes, new_bpmn: bytes) -> ProcessDiff:
    old_steps, old_flows = read_process(old_bpmn)
    new_steps, new_flows = read_process(new_bpmn)
    return ProcessDiff(
        steps=_diff_map(old_steps, new_steps, STEP_ASPECTS, lambda s: s.name or STEP_TAGS.get(s.type, s.type)),
        flows=_diff_map(old_flows, new_flows, FLOW_ASPECTS,
                        lambda f: f.name or f"{f.source} → {f.target}"),
    )
