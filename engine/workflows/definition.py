"""Loading a versioned BPMN process definition: parse, check every rule, and keep what the runtime needs.

One SpiffBpmnParser per definition version: every version of a flow reuses the same process id, and a
shared parser rejects that as "Duplicate process ID" (reference §1.2). The bytes are parsed here with
a hardened lxml parser (no DTD, no entities, no network) and the tree is handed to the parser, which is
what ``add_bpmn_str`` does internally minus the defaults we do not want.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.errors import DefinitionError, DefinitionRef, Problem
from engine.roles import role_for_lane
from engine.workflows.checks import (
    LOAD_RULES,
    RULES,
    Document,
    Rule,
    deadline_timers,
    owner_id,
    properties_of,
    report_reads,
    run_rules,
    user_task_specs,
)
from engine.workflows.serialization import REGISTRY
from engine.workflows.vocabulary import BPMN_NS, DUE_PROPERTY, KIND_PROPERTY, OUTCOME_PROPERTY
from engine.workflows.xml_input import parse_xml, syntax_message
from engine.workflows.xsd_messages import xsd_message

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
FILE_PATTERN = re.compile(r"v([1-9][0-9]*)\.bpmn")

_XSD_LOCK = threading.Lock()  # the shared XMLSchema keeps its error log on itself


@dataclass(frozen=True)
class UserTaskInfo:
    bpmn_id: str
    name: str
    lane: str
    role: str  # role code (engine.roles)
    kind: str  # "entry" | "review"
    due: str | None  # ISO 8601 duration: the attached deadline timer's, or the task's `due` property


@dataclass(frozen=True)
class ReportRead:
    """A report field a gateway condition reads (``report.<name>``): checked against the indicator set when a
    collection is launched, and the reason the report is handed to a step at all."""

    name: str  # as written after ``report.``: a bare field name or a full dotted key
    flow_id: str  # the sequence flow whose condition reads it
    gateway_id: str
    label: str  # "「name」(id)" of the gateway and the flow, for messages


@dataclass(frozen=True, eq=False)
class ProcessDefinition:
    """A checked, parsed process version. Shared read-only by every instance of that version."""

    code: str
    version: int
    content_hash: str  # sha256 hex of the exact bytes
    process_id: str
    source: str
    spec: Any  # SpiffWorkflow BpmnProcessSpec
    subprocess_specs: Mapping[str, Any]
    lanes: Mapping[str, str]  # lane name as written -> role code
    user_tasks: Mapping[str, UserTaskInfo]
    outcomes: Mapping[str, str]  # end event id -> declared outcome
    # what its gateway conditions read from the report; empty for a flow that routes on decisions only,
    # which is then never handed a report (read once here, at load, not per step)
    report_reads: tuple[ReportRead, ...] = ()

    @property
    def report_fields(self) -> frozenset[str]:
        return frozenset(read.name for read in self.report_reads)

    @property
    def key(self) -> tuple[str, int]:
        return (self.code, self.version)

    @property
    def spec_dict(self) -> dict[str, Any]:
        """The serialized spec (store once per version, never per instance); a fresh dict on each call
        because the serializer's ``restore`` rewrites the dict it is given in place."""
        return REGISTRY.convert(self.spec)

    @property
    def subprocess_specs_dict(self) -> dict[str, Any]:
        return {name: REGISTRY.convert(s) for name, s in self.subprocess_specs.items()}


@dataclass
class _Parsed:
    doc: Document | None
    parser: SpiffBpmnParser | None
    problems: list[Problem]


def _problem(file: str, message: str, code: str, element_id: str | None = None) -> Problem:
    return Problem(message, definition=DefinitionRef(file, element_id=element_id), code=code)


def _parse_xml(data: bytes, file: str) -> tuple[etree._Element | None, list[Problem]]:
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as err:
        return None, [_problem(file, syntax_message(err, data), "xml_invalid")]
    if root.getroottree().docinfo.doctype:
        return None, [_problem(file, "BPMN 文件不能包含 DOCTYPE（防止实体注入）", "xml_invalid")]
    return root, []


def _xsd_problems(root: etree._Element, file: str) -> list[Problem]:
    with _XSD_LOCK:
        VALIDATOR.preprocess(root)
        if VALIDATOR.validator.validate(root):
            return []
        errors = list(VALIDATOR.validator.error_log)
    by_line = {el.sourceline: el for el in root.iter() if isinstance(el.tag, str)}
    return [
        _problem(
            file,
            f"不符合 BPMN 2.0 规范（第 {err.line} 行）："
            + xsd_message(err.message, etree.QName(by_line[err.line]).localname if err.line in by_line else None),
            "xsd_invalid",
            owner_id(by_line[err.line]) if err.line in by_line else None,
        )
        for err in errors
    ]


def _executable_process(root: etree._Element, file: str) -> tuple[etree._Element | None, list[Problem]]:
    # SpiffWorkflow treats a process without isExecutable as executable; so do we.
    processes = [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") == "true"]
    if len(processes) != 1:
        ids = "、".join(p.get("id", "?") for p in processes) or "无"
        return None, [
            _problem(file, f'必须恰好有一个可执行流程（isExecutable="true"），现有：{ids}', "process_count")
        ]
    return processes[0], []


# SpiffWorkflow's parser messages (English) for the BPMN the engine accepts -> what the editor should do
_SPIFF_MESSAGES = (
    ("Non-default exclusive outgoing sequence flow without condition",
     "排他网关有一条出口连线既没有条件，也不是默认连线：请给它写条件，或设为该网关的默认连线"),
    ("Multiple outgoing flows are not supported for tasks of type",
     "此任务有多条出口连线：任务只能有一条，分支请在任务之后加网关"),
    ("No start event found", "找不到开始事件"),
    ("Unknown Time Specification", "定时事件没有写时间（时长、日期或周期）"),
    ("Time Specification Error", "定时事件的时间写法有误"),
    ("Duplicate process ID", "流程编号（process id）重复"),
    ("There is no support implemented for this task type", "不支持这种任务类型"),
    ("Conditional event definition with missing condition", "条件事件没有写条件"),
    ("Invalid Script Task", "脚本任务没有脚本"),
    ("When looking for a task spec", "有连线指向的节点不存在（或两个元素用了同一个 id）"),
)


def spiff_message(err: ValidationException) -> str:
    """The parser's refusal in Chinese where known; otherwise its own text after a Chinese lead."""
    text = str(getattr(err, "message", "") or err)
    known = next((zh for en, zh in _SPIFF_MESSAGES if text.startswith(en) or f" {en}" in text), None)
    return known or f"流程引擎的解析器拒绝了它（{text}）"


def _analyse(bpmn_bytes: bytes, source: str, rules: tuple[Rule, ...] = RULES) -> _Parsed:
    if not isinstance(bpmn_bytes, bytes):
        raise TypeError("BPMN 内容必须以 bytes 传入（带 encoding 声明的 str 会被 lxml 拒绝）")
    root, problems = _parse_xml(bpmn_bytes, source)
    if root is None:
        return _Parsed(None, None, problems)
    problems = _xsd_problems(root, source)
    if problems:
        return _Parsed(None, None, problems)
    process, problems = _executable_process(root, source)
    if process is None:
        return _Parsed(None, None, problems)
    doc = Document(source, root, process)
    parser = SpiffBpmnParser()  # already validated above, with every error listed
    try:
        parser.add_bpmn_xml(root, filename=source)
        doc.spec = parser.get_spec(process.get("id"))
    except ValidationException as err:
        problems.append(_problem(source, f"流程无法解析：{spiff_message(err)}", "bpmn_invalid", err.id or None))
    problems.extend(run_rules(doc, rules))
    return _Parsed(doc, parser, problems)


def _identity_problems(code: str, version: int, source: str) -> list[Problem]:
    problems = []
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        problems.append(
            _problem(
                source, f"流程代码「{code}」不合法：只能用小写字母、数字和下划线，以字母开头", "code_invalid"
            )
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(_problem(source, f"版本号「{version}」不合法：必须是正整数", "version_invalid"))
    return problems


def _lineage_problems(parsed: _Parsed, previous_process_id: str | None, source: str) -> list[Problem]:
    """Every version of a flow keeps the process id of the one before it (docs/processes.md §1): instances,
    the steps' diff and the spec are matched by it."""
    process_id = parsed.doc.process.get("id") if parsed.doc is not None else None
    if previous_process_id is None or process_id is None or process_id == previous_process_id:
        return []
    return [_problem(source, f"流程编号（process id）「{process_id}」与上一版的「{previous_process_id}」不同："
                             f"同一流程的每个版本必须使用相同的 process id，请改回「{previous_process_id}」",
                     "process_id_changed", process_id)]


def check_process_definition(
    bpmn_bytes: bytes, source: str, *, code: str, version: int, previous_process_id: str | None = None
) -> list[Problem]:
    """Every problem with this definition (empty list: publishable). ``previous_process_id``: that of the
    version published before it, which it must keep."""
    parsed = _analyse(bpmn_bytes, source)
    return (_identity_problems(code, version, source) + parsed.problems
            + _lineage_problems(parsed, previous_process_id, source))


def load_process_definition(
    bpmn_bytes: bytes, source: str, *, code: str, version: int, published: bool = False,
    previous_process_id: str | None = None,
) -> ProcessDefinition:
    """Parse and check; raises DefinitionError listing every problem.

    ``published``: the bytes of a version already published, loaded to run its instances: checked only
    by the rules the runtime relies on (``LOAD_RULES``), not by rules added after it was published.
    ``previous_process_id``: that of the version published before a new one, which it must keep.
    """
    parsed = _analyse(bpmn_bytes, source, LOAD_RULES if published else RULES)
    problems = (_identity_problems(code, version, source) + parsed.problems
                + _lineage_problems(parsed, previous_process_id, source))
    if problems:
        raise DefinitionError(f"流程定义 {source} 有错误（{len(problems)} 处）", problems=problems)
    assert parsed.doc is not None and parsed.parser is not None
    return _build(parsed.doc, parsed.parser, bpmn_bytes, code=code, version=version)


def _build(
    doc: Document, parser: SpiffBpmnParser, data: bytes, *, code: str, version: int
) -> ProcessDefinition:
    process_id = doc.process.get("id")
    spec = doc.spec
    subprocess_specs = parser.get_subprocess_specs(process_id)
    timers = deadline_timers(doc)
    user_tasks = {}
    for ts in user_task_specs(spec):
        properties = ts.extensions.get("properties", {})
        user_tasks[ts.bpmn_id] = UserTaskInfo(
            bpmn_id=ts.bpmn_id,
            name=ts.bpmn_name,
            lane=ts.lane,
            role=role_for_lane(ts.lane).code,
            kind=properties[KIND_PROPERTY],
            due=timers.get(ts.bpmn_id) or properties.get(DUE_PROPERTY),
        )
    lanes = {
        lane.get("name"): role_for_lane(lane.get("name")).code
        for lane in doc.process.iter(f"{{{BPMN_NS}}}lane")
    }
    outcomes = {
        end.get("id"): properties_of(end)[OUTCOME_PROPERTY]
        for end in doc.flow_elements("endEvent")
        if properties_of(end).get(OUTCOME_PROPERTY)
    }
    reads = tuple(
        ReportRead(name, flow.get("id"), gateway.get("id"),
                   f"排他网关 {doc.label(gateway.get('id'))} 的出口连线 {doc.label(flow.get('id'))}")
        for flow, gateway, name in report_reads(doc)
    )
    return ProcessDefinition(
        report_reads=reads,
        code=code,
        version=version,
        content_hash=hashlib.sha256(data).hexdigest(),
        process_id=process_id,
        source=doc.file,
        spec=spec,
        subprocess_specs=MappingProxyType(dict(subprocess_specs)),
        lanes=MappingProxyType(lanes),
        user_tasks=MappingProxyType(user_tasks),
        outcomes=MappingProxyType(outcomes),
    )


def load_process_file(path: Path | str, source: str | None = None) -> ProcessDefinition:
    """Load ``<root>/<code>/v<N>.bpmn``; code and version come from the path."""
    path = Path(path)
    match = FILE_PATTERN.fullmatch(path.name)
    if match is None:
        raise DefinitionError(
            f"流程文件名「{path.name}」不合法：应为 v<版本号>.bpmn",
            definition=DefinitionRef(source or path.as_posix()),
        )
    return load_process_definition(
        path.read_bytes(), source or path.as_posix(), code=path.parent.name, version=int(match.group(1))
    )


def load_process_directory(root: Path | str) -> dict[tuple[str, int], ProcessDefinition]:
    """Every ``<code>/v<N>.bpmn`` under ``root`` keyed by (code, version); problems from all files at once."""
    root = Path(root)
    loaded: dict[tuple[str, int], ProcessDefinition] = {}
    problems: list[Problem] = []
    for path in sorted(root.glob("*/v*.bpmn")):
        try:
            definition = load_process_file(path)
        except DefinitionError as err:
            problems.extend(err.problems or [Problem(err.message, definition=err.definition)])
            continue
        loaded[definition.key] = definition
    if problems:
        raise DefinitionError(f"流程定义有错误（{len(problems)} 处）", problems=problems)
    return loaded
