"""Publish-time rules for a BPMN process definition, one function per rule.

Each rule reads the parsed document and yields Problems addressed by BPMN element id. The XML rules run
on the lxml tree (they need tags, attributes and expression bodies); the user-task rules run on the spec
SpiffWorkflow built, so they see exactly the lane and extension values the runtime will see.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from engine.errors import DefinitionRef, ExpressionError, Problem
from engine.expressions import compile_expression
from engine.roles import LEVEL_LABELS, ROLES, Level, role_for_lane
from engine.workflows.durations import duration_format_problem, duration_problem
from engine.workflows.vocabulary import (
    APPROVED,
    BPMN_NS,
    DECISION_VARIABLES,
    DECISIONS,
    DUE_PROPERTY,
    KIND_PROPERTY,
    NSMAP,
    OUTCOME_PROPERTY,
    OUTCOMES,
    REPORT_NAMESPACE,
    SPIFF_NS,
    TASK_KINDS,
)


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def is_bpmn(element: etree._Element, *names: str) -> bool:
    qname = etree.QName(element)
    return qname.namespace == BPMN_NS and (not names or qname.localname in names)


def properties_of(element: etree._Element) -> dict[str, str]:
    """spiffworkflow:property name/value pairs of an element (same reading as SpiffTaskParser)."""
    nodes = element.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NSMAP
    )
    return {n.get("name", ""): n.get("value", "") for n in nodes}


@dataclass
class Document:
    """One BPMN file being checked; ``spec`` is None when SpiffWorkflow could not build it."""

    file: str
    root: etree._Element
    process: etree._Element
    spec: Any = None
    by_id: dict[str, etree._Element] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {el.get("id"): el for el in self.root.iter() if isinstance(el.tag, str) and el.get("id")}

    def problem(self, message: str, element_id: str | None, code: str) -> Problem:
        return Problem(message, definition=DefinitionRef(self.file, element_id=element_id), code=code)

    def flow_elements(self, *names: str) -> list[etree._Element]:
        return [el for el in self.process if isinstance(el.tag, str) and is_bpmn(el, *names)]

    def label(self, element_id: str | None) -> str:
        element = self.by_id.get(element_id or "")
        name = element.get("name") if element is not None else None
        return f"「{name}」({element_id})" if name else f"「{element_id}」"

    @cached_property
    def graph(self) -> FlowGraph:
        return FlowGraph.of(self)


def owner_id(element: etree._Element) -> str | None:
    """The id of the element itself or of its nearest ancestor that has one."""
    while element is not None:
        if isinstance(element.tag, str) and element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


# -- what may appear in a process ------------------------------------------------------------------

ALLOWED_FLOW_ELEMENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "userTask",
        "exclusiveGateway",
        "parallelGateway",
        "boundaryEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "sequenceFlow",
        "laneSet",
        "textAnnotation",
        "association",
        "documentation",
        "extensionElements",
        "group",
    }
)

REFUSED_ELEMENTS = {
    "scriptTask": "不允许脚本任务：流程定义不能在服务器上执行代码",
    "serviceTask": "不支持服务任务：流程不调用外部服务",
    "sendTask": "不支持发送任务（消息）",
    "receiveTask": "不支持接收任务（消息）",
    "businessRuleTask": "不支持业务规则任务（DMN）",
    "manualTask": "不支持手工任务：需要人处理的步骤请用用户任务（userTask）并声明 kind",
    "task": "不支持无类型任务：需要人处理的步骤请用用户任务（userTask）并声明 kind",
    "callActivity": "不支持调用活动：一个流程版本只能是一个可执行流程",
    "subProcess": "不支持子流程：请把步骤直接画在流程中",
    "transaction": "不支持事务子流程",
    "adHocSubProcess": "不支持临时子流程",
    "inclusiveGateway": "不支持包容网关：请用排他网关（exclusiveGateway）",
    "eventBasedGateway": "不支持事件网关：期限请用挂在用户任务上的计时器边界事件",
    "complexGateway": "不支持复杂网关",
    "dataObject": "不支持数据对象：填报数据保存在表单与审核记录中",
    "dataObjectReference": "不支持数据对象：填报数据保存在表单与审核记录中",
    "dataStoreReference": "不支持数据存储",
}

# Elements that carry Python code or expressions SpiffWorkflow would run (or shapes we do not run),
# wherever they sit in the file: name -> (message, problem code).
NESTED_REFUSALS = {
    (BPMN_NS, "script"): ("不允许脚本：流程定义不能在服务器上执行代码", "script_refused"),
    (SPIFF_NS, "preScript"): (
        "不允许 preScript（任务开始前脚本）：流程定义不能在服务器上执行代码",
        "script_refused",
    ),
    (SPIFF_NS, "postScript"): (
        "不允许 postScript（任务完成后脚本）：流程定义不能在服务器上执行代码",
        "script_refused",
    ),
    (SPIFF_NS, "serviceTaskOperator"): ("不允许服务调用配置", "script_refused"),
    (BPMN_NS, "multiInstanceLoopCharacteristics"): (
        "不支持多实例任务（其基数和完成条件是表达式）",
        "element_refused",
    ),
    (BPMN_NS, "standardLoopCharacteristics"): (
        "不支持循环任务：退回修改请用网关连线画出回路",
        "element_refused",
    ),
    (BPMN_NS, "completionCondition"): ("不支持完成条件表达式", "element_refused"),
    (BPMN_NS, "childLaneSet"): ("不支持嵌套泳道：每条泳道直接对应一个角色", "element_refused"),
}


def check_nested_refusals(doc: Document) -> Iterator[Problem]:
    for element in doc.root.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        refusal = NESTED_REFUSALS.get((qname.namespace, qname.localname))
        parent = element.getparent()
        if refusal is None or (qname.localname == "script" and is_bpmn(parent, "scriptTask")):
            continue  # a script task's body is reported once, by check_elements
        message, code = refusal
        element_id = owner_id(parent)
        yield doc.problem(f"{message}：{doc.label(element_id)}", element_id, code)


def check_elements(doc: Document) -> Iterator[Problem]:
    for element in doc.process:
        if not isinstance(element.tag, str) or (is_bpmn(element) and local(element) in ALLOWED_FLOW_ELEMENTS):
            continue
        name = local(element)
        message = REFUSED_ELEMENTS.get(name, f"不支持的 BPMN 元素 <{name}>")
        code = "script_refused" if name == "scriptTask" else "element_refused"
        yield doc.problem(f"{message}：{doc.label(element.get('id'))}", element.get("id"), code)


# -- events: only none events and duration timers ----------------------------------------------------

TIMER_EVENTS = frozenset({"boundaryEvent", "intermediateCatchEvent"})
EVENT_TAGS = ("startEvent", "endEvent", "intermediateThrowEvent", "boundaryEvent", "intermediateCatchEvent")


def event_definitions(element: etree._Element) -> list[etree._Element]:
    return [
        c
        for c in element
        if isinstance(c.tag, str) and local(c).endswith(("EventDefinition", "EventDefinitionRef"))
    ]


def check_events(doc: Document) -> Iterator[Problem]:
    for event in doc.flow_elements(*EVENT_TAGS):
        kinds = [local(d) for d in event_definitions(event)]
        event_id = event.get("id")
        if local(event) in TIMER_EVENTS:
            if kinds != ["timerEventDefinition"]:
                yield doc.problem(
                    f"{doc.label(event_id)} 只能是计时器事件（timerEventDefinition）：本系统只支持期限计时器",
                    event_id,
                    "event_refused",
                )
        elif kinds:
            yield doc.problem(
                f"{doc.label(event_id)} 不能带事件定义（{'、'.join(kinds)}）：开始、结束和抛出事件只能是空事件",
                event_id,
                "event_refused",
            )
    for boundary in doc.flow_elements("boundaryEvent"):
        target = doc.by_id.get(boundary.get("attachedToRef", ""))
        if target is None or not is_bpmn(target, "userTask"):
            yield doc.problem(
                f"边界事件 {doc.label(boundary.get('id'))} 只能挂在用户任务上",
                boundary.get("id"),
                "event_refused",
            )


def check_timers(doc: Document) -> Iterator[Problem]:
    for definition in doc.process.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        event_id = owner_id(definition.getparent())
        bodies = [
            c
            for c in definition
            if isinstance(c.tag, str) and is_bpmn(c, "timeDuration", "timeDate", "timeCycle")
        ]
        if [local(b) for b in bodies] != ["timeDuration"]:
            yield doc.problem(
                f"计时器 {doc.label(event_id)} 必须且只能写一个 timeDuration（时长），不支持 timeDate/timeCycle",
                event_id,
                "timer_invalid",
            )
            continue
        reason = timer_body_problem(bodies[0].text or "")
        if reason:
            yield doc.problem(f"计时器 {doc.label(event_id)}：{reason}", event_id, "timer_invalid")


def timer_body_problem(body: str) -> str | None:
    """A timer body must be a quoted duration literal: SpiffWorkflow evaluates it as an expression."""
    try:
        expr = compile_expression(body.strip())
    except ExpressionError as err:
        return f"时长表达式无法解析：{err.message}"
    if expr.names:
        return f'时长必须是带引号的文本常量，如 "P14D"，不能引用变量（{"、".join(sorted(expr.names))}）'
    return duration_problem(expr.evaluate({}))


def timer_literal(body: str) -> str | None:
    """The duration a timer body names, when it is a readable literal (whether or not a rule of today
    accepts it: a published version's timers are shown as they are)."""
    try:
        expr = compile_expression(body.strip())
    except ExpressionError:
        return None
    value = None if expr.names else expr.evaluate({})
    return value if duration_format_problem(value) is None else None


# -- sequence flows and gateways --------------------------------------------------------------------


def check_flow_references(doc: Document) -> Iterator[Problem]:
    nodes = {
        el.get("id") for el in doc.process if isinstance(el.tag, str) and not is_bpmn(el, "sequenceFlow")
    }
    for flow in doc.flow_elements("sequenceFlow"):
        for end in ("sourceRef", "targetRef"):
            if flow.get(end) not in nodes:
                yield doc.problem(
                    f"连线 {doc.label(flow.get('id'))} 的 {end}「{flow.get(end)}」不是本流程中的节点",
                    flow.get("id"),
                    "flow_invalid",
                )


def check_conditions(doc: Document) -> Iterator[Problem]:
    task_ids = frozenset(task.get("id") for task in doc.flow_elements("userTask"))
    for flow in doc.flow_elements("sequenceFlow"):
        condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
        if condition is None:
            continue
        flow_id = flow.get("id")
        source = doc.by_id.get(flow.get("sourceRef", ""))
        if source is None or not is_bpmn(source, "exclusiveGateway"):
            yield doc.problem(
                f"连线 {doc.label(flow_id)} 带了条件，但条件只能写在排他网关的出口连线上",
                flow_id,
                "condition_invalid",
            )
            continue
        reason = condition_problem(condition.text or "", task_ids)
        if reason:
            yield doc.problem(f"连线 {doc.label(flow_id)} 的条件：{reason}", flow_id, "condition_invalid")


REPORT_PREFIX = REPORT_NAMESPACE + "."


def report_field(name: str) -> str | None:
    """The report field a condition's name reads (``report.pop_total`` -> ``pop_total``), else None."""
    return name[len(REPORT_PREFIX):] if name.startswith(REPORT_PREFIX) else None


CONDITION_NAMES = (f"网关条件只能使用审核结论变量（{'、'.join(DECISION_VARIABLES)}）"
                   f"和报表字段（写作 {REPORT_PREFIX}字段名，如 {REPORT_PREFIX}pop_total）")


def condition_problem(source: str, task_ids: frozenset[str] = frozenset()) -> str | None:
    """Why a gateway condition cannot be published, or None. Only its syntax and the shape of its names
    are judged here: the flow is published without an indicator set, so whether ``report.<name>`` is a
    field of the report is checked when a collection is launched with it (engine.flow_fields)."""
    if not source.strip():
        return "条件为空"
    try:
        expr = compile_expression(source.strip())
    except ExpressionError as err:
        return err.message
    per_row = [r.name for r in expr.references if r.row_of is not None]
    if per_row:
        return (f"不能逐行计算重复表（{'、'.join(dict.fromkeys(per_row))} 是 sum、count 等的行表达式）："
                f"网关条件只能读取报表中单个字段的值")
    if REPORT_NAMESPACE in expr.names:
        return f"「{REPORT_NAMESPACE}」后面要写报表字段名，如 {REPORT_PREFIX}pop_total"
    unknown = sorted(n for n in expr.names if n not in DECISION_VARIABLES and report_field(n) is None)
    if unknown:
        return f"引用了未知变量 {'、'.join(unknown)}：{CONDITION_NAMES}{_name_hint(unknown[0], task_ids)}"
    return None


def _name_hint(name: str, task_ids: frozenset[str]) -> str:
    """What the modeller probably meant by an unknown name: a decision variable, or a report field."""
    if name in DECISIONS:
        return f'；审核结论是文本，要加引号：decision == "{name}"'
    near = difflib.get_close_matches(name, list(DECISION_VARIABLES), n=1, cutoff=0.75)
    if near:
        return f"；是不是 {near[0]}？"
    if name.split(".")[0] in task_ids:
        return (f"；「{name}」读的是任务 {name.split('.')[0]} 的办理记录，条件中不能读取；"
                f"刚完成的审核的结论请直接写 {'、'.join(DECISION_VARIABLES)}")
    return f"；读取报表字段请写 {REPORT_PREFIX}{name}"


def report_fields_read(source: str | None) -> list[str]:
    """The report fields a condition reads (``pop_total`` for ``report.pop_total``), in order; none when it
    does not compile (check_conditions reports that)."""
    try:
        references = compile_expression((source or "").strip()).references
    except ExpressionError:
        return []
    found = (report_field(r.name) for r in references if r.row_of is None)
    return [name for name in dict.fromkeys(found) if name]


def has_condition(flow: etree._Element) -> bool:
    return flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None


def check_exclusive_gateways(doc: Document) -> Iterator[Problem]:
    flows = doc.flow_elements("sequenceFlow")
    for gateway in doc.flow_elements("exclusiveGateway"):
        gateway_id = gateway.get("id")
        outgoing = [f for f in flows if f.get("sourceRef") == gateway_id]
        # one plain exit: a merging gateway; one conditioned exit is a choice that can find nothing true
        if len(outgoing) < 2 and not any(has_condition(f) for f in outgoing):
            continue
        default = gateway.get("default")
        if default is None:
            yield doc.problem(
                f"排他网关 {doc.label(gateway_id)} 没有默认连线：没有条件成立时流程会停住，请把「退回」等连线设为默认",
                gateway_id,
                "gateway_default_missing",
            )
        elif default not in {f.get("id") for f in outgoing}:
            yield doc.problem(
                f"排他网关 {doc.label(gateway_id)} 的默认连线「{default}」不是它的出口",
                gateway_id,
                "gateway_invalid",
            )
        for flow in outgoing:
            if flow.get("id") != default and not has_condition(flow):
                yield doc.problem(
                    f"排他网关 {doc.label(gateway_id)} 的出口 {doc.label(flow.get('id'))} 既没有条件也不是默认连线",
                    flow.get("id"),
                    "condition_invalid",
                )


def decision_names(flow: etree._Element) -> set[str]:
    """The decision variables a flow's condition reads (none when it does not compile: check_conditions)."""
    condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    try:
        names = compile_expression((condition.text or "").strip()).names if condition is not None else set()
    except ExpressionError:
        return set()
    return set(names) & set(DECISION_VARIABLES)


def leaves_no_decision(node: etree._Element) -> bool:
    """A node after which no review's own decision is current. A task with an unknown kind, or a refused
    element, is not judged here: it has its own finding."""
    if local(node) not in NODE_KINDS:
        return False
    kind = kind_of(node)
    return not is_bpmn(node, "userTask") or (kind in TASK_KINDS and kind != "review")


def check_decision_gateways(doc: Document) -> Iterator[Problem]:
    """Decision variables hold the review that completed last, and only until the next user task: a gateway
    reading them must follow a review directly. After a parallel join it would see only the later of two
    reviews (a return overridden by an approval); after an entry task there is no decision at all."""
    flows = doc.flow_elements("sequenceFlow")
    for gateway in doc.flow_elements("exclusiveGateway"):
        gateway_id = gateway.get("id")
        read = set().union(*(decision_names(f) for f in flows if f.get("sourceRef") == gateway_id))
        sources = [doc.by_id.get(f.get("sourceRef", "")) for f in flows if f.get("targetRef") == gateway_id]
        others = [el for el in sources if el is not None and leaves_no_decision(el)]
        if read and others:
            yield doc.problem(
                f"排他网关 {doc.label(gateway_id)} 的条件读取审核结论（{'、'.join(sorted(read))}），但它的入口来自"
                f"{'、'.join(doc.label(el.get('id')) for el in others)}，"
                "不是直接来自审核任务：审核结论只属于刚完成的那个审核（并行汇合后只剩最后完成的一个，"
                "填报任务之后没有结论）。请在每个审核任务之后直接接它自己的结论网关",
                gateway_id,
                "decision_gateway_source",
            )


def condition_of(flow: etree._Element) -> str | None:
    condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    return None if condition is None else condition.text or ""


def report_reads(doc: Document) -> list[tuple[etree._Element, etree._Element, str]]:
    """(sequence flow, the exclusive gateway it leaves, report field) for each report field a condition reads."""
    found = []
    for flow in doc.flow_elements("sequenceFlow"):
        gateway = doc.by_id.get(flow.get("sourceRef", ""))
        if gateway is not None and is_bpmn(gateway, "exclusiveGateway"):
            found += [(flow, gateway, name) for name in report_fields_read(condition_of(flow))]
    return found


def check_report_gateways(doc: Document) -> Iterator[Problem]:
    """A condition reads the report as last submitted: a gateway the flow can reach before any report was
    handed in (from the start, or from a deadline on the entry task, which fires while the clerk still
    has the report) would read a draft or nothing."""
    before = doc.graph.before_report()
    read: dict[str, list[str]] = {}
    for _, gateway, name in report_reads(doc):
        if gateway.get("id") in before:
            read.setdefault(gateway.get("id"), []).append(f"{REPORT_PREFIX}{name}")
    for gateway_id, names in read.items():
        yield doc.problem(
            f"排他网关 {doc.label(gateway_id)} 的条件读取报表字段（{'、'.join(dict.fromkeys(names))}），但流程不经"
            "填报任务提交就能走到它（从开始事件，或从填报任务上的计时器）：那时报表还没有提交，条件读到的是"
            "草稿或空值。请把读取报表的网关放在填报任务之后（如审核任务之后）",
            gateway_id,
            "report_gateway_before_entry",
        )


# -- lanes, end events --------------------------------------------------------------------------------


def check_lanes(doc: Document) -> Iterator[Problem]:
    for lane in doc.process.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or "").strip()
        if role_for_lane(name) is None:
            yield doc.problem(
                f"泳道 {doc.label(lane.get('id'))} 不对应已知角色：泳道名称须是以下角色的中文名称或代码之一："
                + "、".join(f"{r.label}（{code}）" for code, r in ROLES.items()),
                lane.get("id"),
                "lane_unknown",
            )


def check_lane_roles(doc: Document) -> Iterator[Problem]:
    """A task goes to the holders of its lane's role at the report's unit's ancestor at the role's level:
    a role without a level (a viewer) can never be given one."""
    assignable = "、".join(f"{r.label}（{code}）" for code, r in ROLES.items() if r.level is not None)
    for lane in doc.process.iter(f"{{{BPMN_NS}}}lane"):
        role = role_for_lane(lane.get("name"))
        if role is not None and role.level is None:
            yield doc.problem(
                f"泳道 {doc.label(lane.get('id'))} 的角色「{role.label}」不属于任何层级，不能办理流程任务"
                f"（任务派给报表所属单位在该角色层级上的上级单位）：办理任务的泳道只能是 {assignable}",
                lane.get("id"),
                "lane_role_unassignable",
            )


def check_task_lanes(doc: Document) -> Iterator[Problem]:
    """SpiffWorkflow gives a task listed in several lanes the last one, silently."""
    lanes_of: dict[str, list[str]] = {}
    for lane in doc.process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes_of.setdefault((ref.text or "").strip(), []).append(lane.get("id"))
    for task in doc.flow_elements("userTask"):
        lanes = lanes_of.get(task.get("id"), [])
        if len(lanes) > 1:
            yield doc.problem(
                f"用户任务 {doc.label(task.get('id'))} 同时列在泳道 {'、'.join(doc.label(lane) for lane in lanes)} 中："
                "一个任务只能由一个角色办理（流程引擎会悄悄只按最后一条泳道派发），请只保留一条",
                task.get("id"),
                "task_lanes_ambiguous",
            )


def check_outcomes(doc: Document) -> Iterator[Problem]:
    if not any(properties_of(end).get(OUTCOME_PROPERTY) for end in doc.flow_elements("endEvent")):
        yield doc.problem(
            f"至少需要一个结束事件声明结果属性 {OUTCOME_PROPERTY}（如 approved），否则无法判断流程的办理结果",
            doc.process.get("id"),
            "outcome_missing",
        )


def outcome_choices() -> str:
    return "、".join(f"{code}（{meaning}）" for code, meaning in OUTCOMES.items())


def check_end_events(doc: Document) -> Iterator[Problem]:
    """An end the flow reaches on its main path finishes the process: it must mean approval. An end only a
    non-interrupting boundary event leads to (a deadline that marks a task overdue) just ends that branch."""
    main_path = doc.graph.main_path()
    for end in doc.flow_elements("endEvent"):
        end_id, value = end.get("id"), properties_of(end).get(OUTCOME_PROPERTY)
        if end_id in main_path and value != APPROVED:
            now = f"当前为「{value}」" if value else "当前未声明"
            yield doc.problem(
                f"结束事件 {doc.label(end_id)} 在流程主线上：流程走到这里就结束了，只能表示审核通过，必须声明 "
                f"{OUTCOME_PROPERTY}={APPROVED}（{now}）。退回不能画成结束事件，请把退回连线连回填报任务"
                f"（{'、'.join(doc.label(t) for t in doc.graph.entry_tasks) or '尚无'}）",
                end_id,
                "end_not_approved",
            )
        elif value and value not in OUTCOMES:
            yield doc.problem(
                f"结束事件 {doc.label(end_id)} 的结果「{value}」未定义：{OUTCOME_PROPERTY} 只能是 {outcome_choices()}",
                end_id,
                "outcome_unknown",
            )


# -- the graph: where the flow can go -----------------------------------------------------------------

NODE_KINDS = {
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "userTask": "用户任务",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间事件",
    "intermediateThrowEvent": "中间事件",
}
# Process children that are not steps of the flow; anything else is a node (a refused one too, reported by
# check_elements: the graph still goes through it, so what lies behind it is not called unreachable).
NOT_NODES = frozenset(
    {"sequenceFlow", "laneSet", "textAnnotation", "association", "documentation", "extensionElements", "group",
     "dataObject", "dataObjectReference", "dataStoreReference"}
)
NON_INTERRUPTING = frozenset({"false", "0"})  # cancelActivity values (xs:boolean); missing means true


def interrupting(boundary: etree._Element) -> bool:
    return boundary.get("cancelActivity", "true").strip() not in NON_INTERRUPTING


@dataclass(frozen=True)
class FlowGraph:
    """The process's flow nodes and where each leads: its sequence flows, and from a task to the
    boundary events attached to it."""

    nodes: dict[str, etree._Element]
    targets: dict[str, list[str]]
    boundaries: dict[str, list[etree._Element]]  # attached-to id -> its boundary events

    @classmethod
    def of(cls, doc: Document) -> FlowGraph:
        nodes = {el.get("id"): el for el in doc.flow_elements() if el.get("id") and local(el) not in NOT_NODES}
        targets: dict[str, list[str]] = {node: [] for node in nodes}
        for flow in doc.flow_elements("sequenceFlow"):
            targets.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
        boundaries: dict[str, list[etree._Element]] = {}
        for boundary in doc.flow_elements("boundaryEvent"):
            boundaries.setdefault(boundary.get("attachedToRef", ""), []).append(boundary)
        return cls(nodes, targets, boundaries)

    @property
    def starts(self) -> list[str]:
        return [node for node, el in self.nodes.items() if local(el) == "startEvent"]

    @property
    def entry_tasks(self) -> list[str]:
        return [node for node, el in self.nodes.items() if kind_of(el) == "entry"]

    def reach(self, follows: Callable[[etree._Element], bool]) -> set[str]:
        """Nodes reachable from the start events, taking the boundary events ``follows`` accepts."""
        seen: set[str] = set()
        todo = list(self.starts)
        while todo:
            node = todo.pop()
            if node in seen or node not in self.nodes:
                continue
            seen.add(node)
            todo += self.targets.get(node, [])
            todo += [b.get("id") for b in self.boundaries.get(node, []) if follows(b)]
        return seen

    def main_path(self) -> set[str]:
        """Where the flow itself can go: a non-interrupting boundary event starts a side branch."""
        return self.reach(interrupting)

    def before_report(self) -> set[str]:
        """The nodes the flow can reach while no report has been handed in: from the start events, and from
        the boundary events of entry tasks (they fire while the clerk has the report), not through a user
        task (every first task is an entry task: check_entry_tasks)."""
        seen: set[str] = set()
        todo = list(self.starts) + [b.get("id") for t in self.entry_tasks for b in self.boundaries.get(t, [])]
        while todo:
            node = todo.pop()
            if node in seen or node not in self.nodes:
                continue
            seen.add(node)
            if local(self.nodes[node]) != "userTask":
                todo += self.targets.get(node, [])
        return seen

    def first_user_tasks(self) -> set[str]:
        """The user tasks the flow reaches from its start before any other user task."""
        seen, found, todo = set(), set(), list(self.starts)
        while todo:
            node = todo.pop()
            if node in seen or node not in self.nodes:
                continue
            seen.add(node)
            if local(self.nodes[node]) == "userTask":
                found.add(node)
            else:
                todo += self.targets.get(node, [])
        return found


def kind_of(element: etree._Element) -> str | None:
    return properties_of(element).get(KIND_PROPERTY) if is_bpmn(element, "userTask") else None


def node_label(doc: Document, node: str) -> str:
    return f"{NODE_KINDS[local(doc.graph.nodes[node])]} {doc.label(node)}"


def checked_nodes(doc: Document) -> list[str]:
    """The nodes the graph rules judge: the supported kinds (a refused element has its own finding)."""
    return [node for node, element in doc.graph.nodes.items() if local(element) in NODE_KINDS]


def check_outgoing_flows(doc: Document) -> Iterator[Problem]:
    for node in checked_nodes(doc):
        if local(doc.graph.nodes[node]) != "endEvent" and not doc.graph.targets.get(node):
            yield doc.problem(
                f"{node_label(doc, node)} 没有出口连线：流程走到这里会停住或就此结束（且不算审核通过）；"
                "请连线到下一步，流程结束请连到结束事件",
                node,
                "flow_dead_end",
            )


def check_reachable(doc: Document) -> Iterator[Problem]:
    if not doc.graph.starts:
        return  # the parser reports the missing start event
    reached = doc.graph.reach(lambda _: True)
    for node in checked_nodes(doc):
        if node not in reached:
            yield doc.problem(
                f"{node_label(doc, node)} 从开始事件走不到：没有连线通向它，它永远不会执行；请连上或删除",
                node,
                "node_unreachable",
            )


def check_entry_deadlines(doc: Document) -> Iterator[Problem]:
    """An interrupting timer cancels the task it sits on. On a review that can skip it to the next step;
    on the entry task it takes the report from its clerk and nobody can fill it in again."""
    for boundary in doc.flow_elements("boundaryEvent"):
        task = doc.by_id.get(boundary.get("attachedToRef", ""))
        if task is not None and kind_of(task) == "entry" and interrupting(boundary):
            yield doc.problem(
                f"填报任务 {doc.label(task.get('id'))} 上的边界事件 {doc.label(boundary.get('id'))} 会中断任务"
                '（cancelActivity 为 true 或未写）：到期时填报任务被取消，报表停在草稿、无人能再填报。'
                '填报期限请设 cancelActivity="false"：到期只标记逾期，任务保留',
                boundary.get("id"),
                "entry_timer_interrupting",
            )


def check_entry_tasks(doc: Document) -> Iterator[Problem]:
    if not doc.graph.entry_tasks:
        yield doc.problem(
            f'流程中没有填报任务（用户任务 {KIND_PROPERTY}="entry"）：报表须先由填报任务填写提交，退回也要回到填报任务',
            doc.process.get("id"),
            "entry_missing",
        )
        return
    for task in sorted(doc.graph.first_user_tasks() - set(doc.graph.entry_tasks)):
        yield doc.problem(
            f'用户任务 {doc.label(task)} 是流程开始后的第一步，但不是填报任务（{KIND_PROPERTY}="entry"）：'
            "报表须先由填报任务填写提交，再进入审核",
            task,
            "entry_not_first",
        )


# -- user tasks (on the spec SpiffWorkflow built) ------------------------------------------------------


def user_task_specs(spec: Any) -> list[Any]:
    return [ts for ts in spec.task_specs.values() if isinstance(ts, UserTask)]


def deadline_timers(doc: Document) -> dict[str, str]:
    """user task id -> the literal duration of the boundary timer attached to it."""
    timers: dict[str, str] = {}
    for boundary in doc.flow_elements("boundaryEvent"):
        body = boundary.find(f"{{{BPMN_NS}}}timerEventDefinition/{{{BPMN_NS}}}timeDuration")
        duration = timer_literal(body.text or "") if body is not None else None
        if duration is not None:
            timers[boundary.get("attachedToRef", "")] = duration
    return timers


def check_user_tasks(doc: Document) -> Iterator[Problem]:
    if doc.spec is None:
        return
    for ts in user_task_specs(doc.spec):
        task_id = ts.bpmn_id
        label = doc.label(task_id)
        properties = (ts.extensions or {}).get("properties", {})
        if not ts.bpmn_name:
            yield doc.problem(
                f"用户任务 {label} 没有名称：名称会显示在待办列表中", task_id, "task_name_missing"
            )
        if ts.lane is None:
            yield doc.problem(
                f"用户任务 {label} 不在任何泳道中：泳道决定由哪个角色办理", task_id, "lane_missing"
            )
        kind = properties.get(KIND_PROPERTY)
        if kind not in TASK_KINDS:
            kinds = "、".join(TASK_KINDS)
            yield doc.problem(
                f'用户任务 {label} 必须用 spiffworkflow:property name="{KIND_PROPERTY}" 声明类型（{kinds}），当前为「{kind or "未声明"}」',
                task_id,
                "kind_invalid",
            )
        if task_id in DECISION_VARIABLES:
            yield doc.problem(
                f"用户任务的 id 不能是「{task_id}」：它是审核结论变量名，提交内容按任务 id 保存会与之冲突",
                task_id,
                "task_id_reserved",
            )


# (task kind, org level of its lane's role) -> why a task of that kind may not be done at that level
KIND_LEVEL_REFUSALS: dict[tuple[str, Level], str] = {
    ("review", Level.VILLAGE): "村级角色审核，就是填报的村自己审核自己的报表",
}


def check_task_levels(doc: Document) -> Iterator[Problem]:
    if doc.spec is None:
        return
    for ts in user_task_specs(doc.spec):
        kind = (ts.extensions or {}).get("properties", {}).get(KIND_PROPERTY)
        role = role_for_lane(ts.lane)
        reason = KIND_LEVEL_REFUSALS.get((kind, role.level)) if role is not None else None
        if reason:
            yield doc.problem(
                f'用户任务 {doc.label(ts.bpmn_id)}（{KIND_PROPERTY}="{kind}"）在泳道「{ts.lane}」中，由'
                f"{LEVEL_LABELS[role.level]}的{role.label}办理：{reason}；请把它放到上级角色的泳道中",
                ts.bpmn_id,
                "task_level_refused",
            )


def check_due_properties(doc: Document) -> Iterator[Problem]:
    if doc.spec is None:
        return
    timers = deadline_timers(doc)
    for ts in user_task_specs(doc.spec):
        task_id, label = ts.bpmn_id, doc.label(ts.bpmn_id)
        due = (ts.extensions or {}).get("properties", {}).get(DUE_PROPERTY)
        if due is None:
            continue
        reason = duration_problem(due)
        if reason:
            yield doc.problem(f"用户任务 {label} 的期限属性 {DUE_PROPERTY}：{reason}", task_id, "due_invalid")
        if task_id in timers:
            yield doc.problem(
                f"用户任务 {label} 同时有期限属性 {DUE_PROPERTY} 和期限计时器，只能保留一种",
                task_id,
                "due_invalid",
            )


Rule = Callable[[Document], Iterator[Problem]]

# Every rule: what a new version must pass to be published.
RULES: tuple[Rule, ...] = (
    check_nested_refusals,
    check_elements,
    check_events,
    check_timers,
    check_flow_references,
    check_conditions,
    check_exclusive_gateways,
    check_decision_gateways,
    check_report_gateways,
    check_lanes,
    check_lane_roles,
    check_task_lanes,
    check_outcomes,
    check_end_events,
    check_outgoing_flows,
    check_reachable,
    check_entry_tasks,
    check_entry_deadlines,
    check_user_tasks,
    check_task_levels,
    check_due_properties,
)

# What a version already published must still pass when it is loaded to run its instances: no code
# reaches the engine, and every lane and user task reads as a role and a kind (what ``_build`` needs).
# A published version is immutable and passed the rules of its day; a rule added since judges new
# versions only, so running instances never stop because the checker learned more. Never add here a
# refusal that a published version could contain.
LOAD_RULES: tuple[Rule, ...] = (
    check_nested_refusals,
    check_elements,
    check_events,
    check_lanes,
    check_user_tasks,
)


def run_rules(doc: Document, rules: tuple[Rule, ...] = RULES) -> list[Problem]:
    return [problem for rule in rules for problem in rule(doc)]
