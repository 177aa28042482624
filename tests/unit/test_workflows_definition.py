"""Parsing and checking BPMN definitions: the shipped flows pass, broken copies name the element."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import DefinitionError
from engine.roles import ROLES
from engine.workflows import (
    ProcessDefinition,
    UserTaskInfo,
    check_process_definition,
    load_process_definition,
    load_process_directory,
    load_process_file,
)
from engine.workflows.payloads import PAYLOAD_HANDLERS
from engine.workflows.vocabulary import TASK_KINDS

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "definitions/processes"
V1 = PROCESSES / "village_report/v1.bpmn"
V2 = PROCESSES / "village_report/v2.bpmn"
CJK = re.compile(r"[\u4e00-\u9fff]")


def problems_of(bpmn: bytes, **kw) -> list:
    return check_process_definition(
        bpmn, "broken.bpmn", code=kw.get("code", "village_report"), version=kw.get("version", 1)
    )


def codes_by_id(bpmn: bytes) -> dict[str | None, str]:
    return {p.definition.element_id: p.code for p in problems_of(bpmn)}


def v1_with(*replacements: tuple[str, str]) -> bytes:
    text = V1.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


# -- the shipped flows -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [V1, V2])
def test_shipped_definitions_have_no_problems(path):
    assert check_process_definition(path.read_bytes(), str(path), code="village_report", version=1) == []


def test_v1_definition_model():
    defn = load_process_file(V1)
    assert isinstance(defn, ProcessDefinition)
    assert (defn.code, defn.version, defn.process_id) == ("village_report", 1, "village_report")
    assert defn.content_hash == hashlib.sha256(V1.read_bytes()).hexdigest()
    assert dict(defn.lanes) == {
        "村级填报员": "village_clerk",
        "乡镇审核员": "township_reviewer",
        "县级审核员": "county_reviewer",
    }
    assert dict(defn.user_tasks) == {
        "village_entry": UserTaskInfo(
            "village_entry", "村级填报", "村级填报员", "village_clerk", "entry", "P14D"
        ),
        "township_review": UserTaskInfo(
            "township_review", "乡镇审核", "乡镇审核员", "township_reviewer", "review", "P7D"
        ),
        "county_review": UserTaskInfo(
            "county_review", "县级审核", "县级审核员", "county_reviewer", "review", "P7D"
        ),
    }
    assert dict(defn.outcomes) == {"approved": "approved"}
    assert defn.spec_dict["name"] == "village_report" and defn.spec_dict is not defn.spec_dict
    assert defn.subprocess_specs == {} and defn.subprocess_specs_dict == {}


def test_v2_adds_the_county_department_check():
    v1, v2 = load_process_file(V1), load_process_file(V2)
    assert set(v2.user_tasks) - set(v1.user_tasks) == {"department_check"}
    check = v2.user_tasks["department_check"]
    assert (check.lane, check.role, check.kind) == ("县级业务部门", "county_department", "review")
    assert v1.process_id == v2.process_id  # same id: one parser per version is what makes this loadable


def test_directory_loader_keys_by_code_and_version():
    loaded = load_process_directory(PROCESSES)
    assert {("village_report", 1), ("village_report", 2)} <= set(loaded)
    assert loaded[("village_report", 2)].version == 2


def test_lane_labels_are_the_role_labels():
    labels = {r.label for r in ROLES.values()}
    for path in (V1, V2):
        assert set(load_process_file(path).lanes) <= labels


def test_every_kind_has_a_payload_handler():
    assert set(PAYLOAD_HANDLERS) == set(TASK_KINDS)


@pytest.mark.parametrize("path", [V1, V2])
def test_shipped_flows_carry_diagram_interchange(path):
    """Every node and flow has a shape/edge, so bpmn.io and an SVG renderer can draw the file."""
    root = etree.fromstring(path.read_bytes())
    bpmn, di = "{http://www.omg.org/spec/BPMN/20100524/MODEL}", "{http://www.omg.org/spec/BPMN/20100524/DI}"
    process = root.find(f"{bpmn}process")
    drawable = {el.get("id") for el in process if el.get("id") and el.tag != f"{bpmn}laneSet"}
    drawable |= {lane.get("id") for lane in process.iter(f"{bpmn}lane")}
    drawn = {el.get("bpmnElement") for el in root.iter(f"{di}BPMNShape", f"{di}BPMNEdge")}
    assert drawable <= drawn
    for edge in root.iter(f"{di}BPMNEdge"):
        assert len(edge) >= 2


# -- broken copies: each problem names the BPMN element ---------------------------------------------------


def test_unknown_lane():
    bpmn = v1_with(('name="乡镇审核员"', 'name="乡镇领导"'))
    assert codes_by_id(bpmn) == {"lane_township": "lane_unknown"}
    [problem] = problems_of(bpmn)
    assert "乡镇审核员（township_reviewer）" in problem.message  # the names it may have, not a file to read
    assert "engine/" not in problem.message


def test_a_gateway_flow_without_condition_or_default_is_explained_in_chinese():
    bpmn = v1_with(('default="flow_township_return"', ""))
    problems = [p for p in problems_of(bpmn) if p.code == "bpmn_invalid"]
    assert problems and all("既没有条件，也不是默认连线" in p.message for p in problems)
    assert not any("Non-default" in p.message for p in problems)


def test_missing_kind():
    bpmn = v1_with(
        (
            '<spiffworkflow:property name="kind" value="review" />\n          <spiffworkflow:property name="due" value="P7D" />\n        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n      <bpmn:incoming>flow_township_approve',
            '<spiffworkflow:property name="due" value="P7D" />\n        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n      <bpmn:incoming>flow_township_approve',
        )
    )
    assert codes_by_id(bpmn) == {"county_review": "kind_invalid"}


def test_unknown_kind():
    bpmn = v1_with(('name="kind" value="entry"', 'name="kind" value="approve"'))
    # without its kind the flow has no entry task left
    assert codes_by_id(bpmn) == {"village_entry": "kind_invalid", "village_report": "entry_missing"}


@pytest.mark.parametrize(
    "condition",
    ['decision = "approve"', 'decisoin == "approve"', 'township_review.decision == "approve"', "   "],
)
def test_bad_condition(condition):
    bpmn = v1_with(('decision == "approve"', condition))
    assert codes_by_id(bpmn) == {"flow_township_approve": "condition_invalid"}


@pytest.mark.parametrize("body", ['"P14X"', "P14D", '"P1W2D"', '"PT"', "14", '"2026-12-01"', "days"])
def test_bad_timer(body):
    bpmn = v1_with(('"P14D"', body))
    assert codes_by_id(bpmn) == {"entry_deadline": "timer_invalid"}


def test_time_date_timer_is_refused():
    bpmn = v1_with(
        (
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>',
            '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">"2026-12-01T00:00:00"</bpmn:timeDate>',
        )
    )
    assert codes_by_id(bpmn) == {"entry_deadline": "timer_invalid"}


def test_bad_due_property():
    bpmn = v1_with(('name="due" value="P7D"', 'name="due" value="7 days"'))
    assert codes_by_id(bpmn) == {"township_review": "due_invalid"}


def test_script_task():
    bpmn = v1_with(
        (
            '<bpmn:endEvent id="approved"',
            '<bpmn:scriptTask id="calc" name="计算"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>\n    <bpmn:endEvent id="approved"',
        ),
        (
            "<bpmn:flowNodeRef>approved</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>approved</bpmn:flowNodeRef><bpmn:flowNodeRef>calc</bpmn:flowNodeRef>",
        ),
    )
    problems = problems_of(bpmn)
    assert [(p.definition.element_id, p.code) for p in problems] == [("calc", "script_refused")]


def test_post_script_on_user_task():
    props_end = '<spiffworkflow:property name="due" value="P7D" />\n        </spiffworkflow:properties>'
    bpmn = v1_with(
        (props_end, props_end + "\n        <spiffworkflow:postScript>x = 1</spiffworkflow:postScript>")
    )
    assert codes_by_id(bpmn) == {"township_review": "script_refused"}


def test_gateway_without_default():
    bpmn = v1_with((' default="flow_county_return"', ""))
    # the former default flow now has no condition either: both are reported
    assert codes_by_id(bpmn) == {
        "county_decision": "gateway_default_missing",
        "flow_county_return": "condition_invalid",
    }


def test_user_task_outside_any_lane():
    bpmn = v1_with(("<bpmn:flowNodeRef>county_review</bpmn:flowNodeRef>", ""))
    assert codes_by_id(bpmn) == {"county_review": "lane_missing"}


def test_missing_outcome():
    bpmn = v1_with(('<spiffworkflow:property name="outcome" value="approved" />', ""))
    assert codes_by_id(bpmn) == {"village_report": "outcome_missing", "approved": "end_not_approved"}


def test_reserved_task_id():
    text = (
        V1.read_text(encoding="utf-8")
        .replace('"county_review"', '"decision"')
        .replace(">county_review<", ">decision<")
    )
    assert codes_by_id(text.encode()) == {"decision": "task_id_reserved"}


def test_unsupported_element():
    bpmn = v1_with(
        ('<bpmn:endEvent id="approved"', '<bpmn:serviceTask id="push" />\n    <bpmn:endEvent id="approved"')
    )
    assert codes_by_id(bpmn) == {"push": "element_refused"}


def test_message_event_refused():
    incoming = "<bpmn:incoming>flow_deadline_overdue</bpmn:incoming>"
    bpmn = v1_with((incoming, incoming + '\n      <bpmn:messageEventDefinition id="m1" />'))
    assert codes_by_id(bpmn) == {"entry_overdue": "event_refused"}


def test_two_executable_processes():
    bpmn = v1_with(("</bpmn:process>", '</bpmn:process>\n  <bpmn:process id="other" isExecutable="true" />'))
    assert codes_by_id(bpmn) == {None: "process_count"}


def test_schema_violation_is_reported_with_line():
    bpmn = v1_with(
        (
            '<bpmn:userTask id="county_review" name="县级审核">',
            '<bpmn:userTask id="county_review" name="县级审核" bogus="1">',
        )
    )
    [problem] = problems_of(bpmn)
    assert problem.code == "xsd_invalid" and problem.definition.element_id == "county_review"
    assert "bogus" in problem.message and CJK.search(problem.message)


def test_broken_xml_and_doctype():
    assert [p.code for p in problems_of(b"<bpmn:definitions")] == ["xml_invalid"]
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    assert [p.code for p in problems_of(xxe)] == ["xml_invalid"]


@pytest.mark.parametrize("extra", range(0, 60, 7))
def test_a_truncated_file_is_told_in_chinese_with_its_place(extra):
    data = V1.read_bytes()
    cut = data[: data.index(b"<bpmn:sequenceFlow") + extra]  # a download that stopped inside a flow
    [problem] = problems_of(cut)
    line, column = cut.count(b"\n") + 1, len(cut) - cut.rindex(b"\n")
    assert problem.code == "xml_invalid"
    assert problem.message == (f"XML 无法解析：第 {line} 行第 {column} 列附近文件在此意外结束"
                               "（文件可能不完整，例如只复制或下载了一部分）")


def test_syntax_errors_are_told_in_chinese():
    assert problems_of(b"<a><b></a>")[0].message == "XML 无法解析：第 1 行第 11 列附近开始标签与结束标签不匹配"
    assert problems_of(b'<a b="1" b="2"/>')[0].message == "XML 无法解析：第 1 行第 15 列附近同一标签中属性重复"
    for broken in (b"<a><b></a>", b"<a x=1/>", b"<a/><b/>", b"<a>&foo;</a>", b"<a", b""):
        message = problems_of(broken)[0].message
        assert CJK.search(message) and not re.search(r"[A-Za-z]{4,}", message.replace("XML", "")), message


def test_text_is_refused():
    with pytest.raises(TypeError):
        check_process_definition(V1.read_text(encoding="utf-8"), "v1.bpmn", code="village_report", version=1)


def test_bad_identity():
    codes = [p.code for p in problems_of(V1.read_bytes(), code="Village Report", version=0)]
    assert codes == ["code_invalid", "version_invalid"]


def test_load_raises_once_with_every_problem_in_chinese():
    bpmn = v1_with(
        ('name="乡镇审核员"', 'name="乡镇领导"'),
        ('name="kind" value="entry"', 'name="kind" value="fill"'),
        ('"P14D"', '"P14X"'),
        ('decision == "approve"', "x == 1"),
    )
    with pytest.raises(DefinitionError) as err:
        load_process_definition(bpmn, "broken.bpmn", code="village_report", version=1)
    found = {p.definition.element_id for p in err.value.problems}
    # the entry task's unknown kind also leaves the flow without an entry task (the process is named)
    assert found == {"lane_township", "village_entry", "entry_deadline", "flow_township_approve", "village_report"}
    assert all(CJK.search(p.message) and p.definition.file == "broken.bpmn" for p in err.value.problems)
    assert err.value.to_json()["details"]["problems"]


def test_bad_file_name():
    with pytest.raises(DefinitionError, match="v<版本号>"):
        load_process_file(PROCESSES / "village_report/latest.bpmn")


def test_flow_to_a_missing_node():
    bpmn = v1_with(
        (
            'sourceRef="county_decision" targetRef="approved"',
            'sourceRef="county_decision" targetRef="nowhere"',
        )
    )
    assert codes_by_id(bpmn)["flow_county_approve"] == "flow_invalid"


# -- versions already published ----------------------------------------------------------------------------


def test_a_published_version_loads_by_the_rules_its_instances_rely_on():
    """Rules added after a version was published judge new versions only: its instances keep running."""
    bpmn = v1_with(('<spiffworkflow:property name="outcome" value="approved" />', ""))
    with pytest.raises(DefinitionError):
        load_process_definition(bpmn, "v1.bpmn", code="village_report", version=1)
    loaded = load_process_definition(bpmn, "v1.bpmn", code="village_report", version=1, published=True)
    assert loaded.outcomes == {} and set(loaded.user_tasks) == {"village_entry", "township_review", "county_review"}


@pytest.mark.parametrize(
    "replacement",
    [
        ('<bpmn:endEvent id="approved"',
         '<bpmn:scriptTask id="evil"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="approved"'),
        ('name="乡镇审核员"', 'name="乡镇领导"'),
        ('name="kind" value="entry"', 'name="kind" value="fill"'),
    ],
    ids=["script", "unknown_lane", "unknown_kind"],
)
def test_a_published_version_is_still_refused_what_the_runtime_cannot_run(replacement):
    with pytest.raises(DefinitionError):
        load_process_definition(v1_with(replacement), "v1.bpmn", code="village_report", version=1,
                                published=True)


# -- where the flow can go: every ending is an approval, every step is reached and leads on ---------------

REJECTED_END = (
    '<bpmn:endEvent id="approved"',
    '<bpmn:endEvent id="rejected" name="县级否决"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="outcome" value="rejected" /></spiffworkflow:properties></bpmn:extensionElements>'
    '</bpmn:endEvent>\n    <bpmn:endEvent id="approved"',
)
DEPT_CHECK = (
    '<bpmn:endEvent id="approved"',
    '<bpmn:userTask id="dept_check" name="县级部门备案"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>'
    '</bpmn:userTask>\n    <bpmn:endEvent id="approved"',
)
IN_COUNTY_LANE = ("<bpmn:flowNodeRef>approved</bpmn:flowNodeRef>",
                  "<bpmn:flowNodeRef>approved</bpmn:flowNodeRef><bpmn:flowNodeRef>{}</bpmn:flowNodeRef>")


def in_county_lane(task_id: str) -> tuple[str, str]:
    return IN_COUNTY_LANE[0], IN_COUNTY_LANE[1].format(task_id)


def test_a_return_drawn_as_an_end_is_refused_and_told_to_loop_back():
    """QA reject_end: the county's return ended the flow, and the report counted as 终审通过."""
    bpmn = v1_with(REJECTED_END, in_county_lane("rejected"),
                   ('sourceRef="county_decision" targetRef="township_review"',
                    'sourceRef="county_decision" targetRef="rejected"'))
    [problem] = problems_of(bpmn)
    assert (problem.code, problem.definition.element_id) == ("end_not_approved", "rejected")
    assert "outcome=approved" in problem.message and "rejected" in problem.message
    assert "连回填报任务" in problem.message and "village_entry" in problem.message


def test_an_end_without_outcome_on_the_main_path_is_refused():
    bpmn = v1_with(('<spiffworkflow:property name="outcome" value="approved" />', ""))
    assert codes_by_id(bpmn)["approved"] == "end_not_approved"


def test_an_end_only_a_non_interrupting_deadline_reaches_may_have_no_outcome_but_no_unknown_one():
    assert problems_of(V1.read_bytes()) == []  # entry_overdue: no outcome, reached from entry_deadline only
    bpmn = v1_with(('<bpmn:incoming>flow_deadline_overdue</bpmn:incoming>',
                    '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="outcome" '
                    'value="late" /></spiffworkflow:properties></bpmn:extensionElements>'
                    '<bpmn:incoming>flow_deadline_overdue</bpmn:incoming>'))
    [problem] = problems_of(bpmn)
    assert (problem.code, problem.definition.element_id) == ("outcome_unknown", "entry_overdue")
    assert "approved（审核通过" in problem.message


def test_an_interrupting_deadline_puts_its_end_on_the_main_path():
    bpmn = v1_with(('cancelActivity="false"', 'cancelActivity="true"'))
    assert codes_by_id(bpmn)["entry_overdue"] == "end_not_approved"


def test_a_task_without_outgoing_flow_is_refused():
    """QA dead_end_task: completing the last review ended the flow without any end event."""
    bpmn = v1_with(DEPT_CHECK, in_county_lane("dept_check"),
                   ('sourceRef="county_decision" targetRef="approved"', 'sourceRef="county_decision" targetRef="dept_check"'))
    problems = problems_of(bpmn)
    assert {(p.definition.element_id, p.code) for p in problems} == {
        ("dept_check", "flow_dead_end"), ("approved", "node_unreachable")}
    assert all(CJK.search(p.message) for p in problems)


def test_a_task_nothing_leads_to_is_refused():
    """QA unreachable_task: a review with an outgoing flow but no incoming one never runs."""
    bpmn = v1_with(DEPT_CHECK, in_county_lane("dept_check"),
                   ('<bpmn:sequenceFlow id="flow_start_entry"',
                    '<bpmn:sequenceFlow id="flow_orphan" sourceRef="dept_check" targetRef="approved" />\n'
                    '    <bpmn:sequenceFlow id="flow_start_entry"'))
    assert codes_by_id(bpmn) == {"dept_check": "node_unreachable"}


def test_what_follows_a_refused_element_is_not_called_unreachable():
    bpmn = v1_with(("<bpmn:userTask id=\"county_review\"", "<bpmn:manualTask id=\"county_review\""),
                   ("</bpmn:userTask>\n    <bpmn:exclusiveGateway id=\"county_decision\"",
                    "</bpmn:manualTask>\n    <bpmn:exclusiveGateway id=\"county_decision\""))
    assert codes_by_id(bpmn) == {"county_review": "element_refused"}


NO_ENTRY_FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="urn:t">
  <bpmn:process id="village_report" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_t" name="乡镇审核员"><bpmn:flowNodeRef>township_review</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="township_review" name="乡镇审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="g" default="f_ret" />
    <bpmn:endEvent id="approved"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="township_review" />
    <bpmn:sequenceFlow id="f1" sourceRef="township_review" targetRef="g" />
    <bpmn:sequenceFlow id="f_ok" sourceRef="g" targetRef="approved">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ret" sourceRef="g" targetRef="township_review" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_flow_without_an_entry_task_is_refused():
    """QA no_entry: nobody could ever fill the report in; the clerk saw only "当前状态为“草稿”，不能修改"."""
    assert codes_by_id(NO_ENTRY_FLOW) == {"village_report": "entry_missing"}


def test_the_first_task_must_be_the_entry():
    bpmn = v1_with(('sourceRef="start" targetRef="village_entry"', 'sourceRef="start" targetRef="township_review"'))
    [problem] = problems_of(bpmn)
    assert (problem.code, problem.definition.element_id) == ("entry_not_first", "township_review")


@pytest.mark.parametrize("interrupting", ['cancelActivity="true"', ""], ids=["true", "missing"])
def test_an_interrupting_deadline_on_the_entry_task_is_refused(interrupting):
    """QA interrupting_entry_timer / interrupting_fast: the deadline cancelled the entry task and the report
    stayed a draft nobody could fill (a missing cancelActivity means true)."""
    bpmn = v1_with(('cancelActivity="false"', interrupting))
    problems = {p.definition.element_id: p for p in problems_of(bpmn)}
    assert problems["entry_deadline"].code == "entry_timer_interrupting"
    assert 'cancelActivity="false"' in problems["entry_deadline"].message
    assert problems["entry_overdue"].code == "end_not_approved"  # and its end is now on the main path
    assert set(problems) == {"entry_deadline", "entry_overdue"}


SKIP_TOWNSHIP = (
    '<bpmn:endEvent id="approved"',
    '<bpmn:boundaryEvent id="township_timeout" name="乡镇逾期未审则转县级" cancelActivity="true" '
    'attachedToRef="township_review"><bpmn:timerEventDefinition id="township_timeout_timer">'
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P7D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
    '</bpmn:boundaryEvent>\n    <bpmn:sequenceFlow id="flow_township_timeout" sourceRef="township_timeout" '
    'targetRef="county_review" />\n    <bpmn:endEvent id="approved"',
)


def test_an_interrupting_timer_that_skips_a_review_to_the_next_step_is_valid():
    """QA's village_report_skip: the township's review moves on to the county when it is late."""
    bpmn = v1_with(SKIP_TOWNSHIP,
                   ("<bpmn:flowNodeRef>township_decision</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>township_decision</bpmn:flowNodeRef>"
                    "<bpmn:flowNodeRef>township_timeout</bpmn:flowNodeRef>"),
                   ('<spiffworkflow:property name="due" value="P7D" />', ""))  # the timer is its deadline
    assert problems_of(bpmn) == []


@pytest.mark.parametrize("lane", ["lane_county", "lane_village"])
def test_a_lane_whose_role_has_no_level_is_refused(lane):
    """QA lane_viewer / lane_viewer_first: 部门查看员 has no org level, so no unit can be given its tasks
    (approving into it, or launching a flow that starts in it, was a 500)."""
    names = {"lane_county": 'name="县级审核员"', "lane_village": 'name="村级填报员"'}
    [problem] = problems_of(v1_with((names[lane], 'name="部门查看员"')))
    assert (problem.code, problem.definition.element_id) == ("lane_role_unassignable", lane)
    assert "部门查看员" in problem.message and "县级审核员（county_reviewer）" in problem.message
    assert "department_viewer" not in problem.message.split("只能是")[1]



def test_a_gateway_with_one_conditioned_exit_and_no_default_is_refused():
    """QA gw_single_cond: a return found no condition true and the flow stopped with SpiffWorkflow's
    English on the reviewer's page (one exit was not checked: it looked like a merging gateway)."""
    bpmn = v1_with((' default="flow_township_return"', ""),
                   ('<bpmn:sequenceFlow id="flow_township_return" name="退回" sourceRef="township_decision" '
                    'targetRef="village_entry" />', ""))
    assert codes_by_id(bpmn) == {"township_decision": "gateway_default_missing"}


def test_a_merging_gateway_with_one_plain_exit_needs_no_default():
    bpmn = v1_with(('<bpmn:sequenceFlow id="flow_start_entry" sourceRef="start" targetRef="village_entry" />',
                    '<bpmn:sequenceFlow id="flow_start_entry" sourceRef="start" targetRef="merge" />\n'
                    '    <bpmn:exclusiveGateway id="merge" />\n'
                    '    <bpmn:sequenceFlow id="flow_merge" sourceRef="merge" targetRef="village_entry" />'),
                   ("<bpmn:flowNodeRef>start</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>merge</bpmn:flowNodeRef>"))
    assert problems_of(bpmn) == []


PARALLEL_REVIEWS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="urn:t">
  <bpmn:process id="village_report" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lv" name="村级填报员"><bpmn:flowNodeRef>village_entry</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lt" name="乡镇审核员"><bpmn:flowNodeRef>township_review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="ld" name="县级业务部门"><bpmn:flowNodeRef>dept_check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="village_entry" name="村级填报"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="entry" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="township_review" name="乡镇审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="dept_check" name="县级民政核查"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join" />
    <bpmn:exclusiveGateway id="g" name="并行审核结论" default="f_ret" />
    <bpmn:endEvent id="approved"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="village_entry" />
    <bpmn:sequenceFlow id="f1" sourceRef="village_entry" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="township_review" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="dept_check" />
    <bpmn:sequenceFlow id="f4" sourceRef="township_review" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="dept_check" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="g" />
    <bpmn:sequenceFlow id="f_ok" sourceRef="g" targetRef="approved">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ret" sourceRef="g" targetRef="village_entry" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_decision_gateway_after_a_parallel_join_is_refused():
    """QA parallel_reviews: the gateway saw only the later review's decision, so the township's return
    was silently overridden by the department's approval."""
    [problem] = problems_of(PARALLEL_REVIEWS)
    assert (problem.code, problem.definition.element_id) == ("decision_gateway_source", "g")
    assert "「join」" in problem.message and "并行汇合" in problem.message


def test_a_decision_gateway_after_the_entry_task_is_refused():
    """QA gw_after_entry: after the entry task there is no decision, so the condition can never hold."""
    bpmn = v1_with(('sourceRef="village_entry" targetRef="township_review"',
                    'sourceRef="village_entry" targetRef="entry_check"'),
                   ('<bpmn:sequenceFlow id="flow_start_entry"',
                    '<bpmn:exclusiveGateway id="entry_check" name="提交检查" default="flow_check_default" />\n'
                    '    <bpmn:sequenceFlow id="flow_check_county" sourceRef="entry_check" targetRef="county_review">'
                    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"'
                    '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
                    '    <bpmn:sequenceFlow id="flow_check_default" sourceRef="entry_check" targetRef="township_review" />\n'
                    '    <bpmn:sequenceFlow id="flow_start_entry"'),
                   ("<bpmn:flowNodeRef>start</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>entry_check</bpmn:flowNodeRef>"))
    [problem] = problems_of(bpmn)
    assert (problem.code, problem.definition.element_id) == ("decision_gateway_source", "entry_check")
    assert "「村级填报」(village_entry)" in problem.message


def test_a_task_listed_in_two_lanes_is_refused():
    """QA task_two_lanes: the township's review was also listed in the county's lane and silently went to
    the county."""
    bpmn = v1_with(("<bpmn:flowNodeRef>county_decision</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>county_decision</bpmn:flowNodeRef>"
                    "<bpmn:flowNodeRef>township_review</bpmn:flowNodeRef>"))
    [problem] = problems_of(bpmn)
    assert (problem.code, problem.definition.element_id) == ("task_lanes_ambiguous", "township_review")
    assert "「乡镇审核员」(lane_township)" in problem.message and "「县级审核员」(lane_county)" in problem.message


def test_a_review_in_a_village_lane_is_refused():
    """QA review_in_village_lane: the township's review sat in a lane of 村级填报员, so the clerk approved
    their own report."""
    [problem] = problems_of(v1_with(('name="乡镇审核员"', 'name="村级填报员"')))
    assert (problem.code, problem.definition.element_id) == ("task_level_refused", "township_review")
    assert "村级填报员" in problem.message and "审核自己" in problem.message


# -- the XSD's findings in Chinese --------------------------------------------------------------------------


def english_prose(message: str) -> list[str]:
    """English words left once the names a message quotes (<element>, 「value」, attributes, ids) are gone."""
    bare = re.sub(r"<[^>]*>|「[^」]*」|\([^)]*\)|属性 [\w:]+|BPMN", "", message)
    return [w for w in re.findall(r"[A-Za-z]{4,}", bare) if w not in {"true", "false"}]


@pytest.mark.parametrize(
    ("replacement", "element_id", "said"),
    [
        (("<bpmn:outgoing>flow_start_entry</bpmn:outgoing>", "<bpmn:outgoin>flow_start_entry</bpmn:outgoin>"),
         "start", ["这里不应出现 <bpmn:outgoin>", "此处应为 <bpmn:documentation>"]),
        (('<bpmn:exclusiveGateway id="county_decision"', '<bpmn:exclusiveGateway id="township_decision"'),
         "township_decision", ["id「township_decision」重复", "<bpmn:exclusiveGateway>"]),
        (('<bpmn:userTask id="county_review"', '<bpmn:userTask id="1 county"'),
         None, ["id「1 county」写法不对"]),
        (('<bpmn:sequenceFlow id="flow_start_entry" sourceRef="start"', '<bpmn:sequenceFlow id="flow_start_entry"'),
         "flow_start_entry", ["<bpmn:sequenceFlow> 缺少必填的属性 sourceRef"]),
        (('<bpmn:userTask id="county_review" name="县级审核">', '<bpmn:userTask id="county_review" name="县级审核" bogus="1">'),
         "county_review", ["<bpmn:userTask> 不允许有属性 bogus"]),
        (('cancelActivity="false"', 'cancelActivity="nein"'),
         "entry_deadline", ["属性 cancelActivity 的值「nein」不合法，应为“true”或“false”"]),
        (('<bpmn:startEvent id="start" name="开始填报">', '<bpmn:startEvent id="start" name="开始填报">开始'),
         "start", ["<bpmn:startEvent> 中不能直接写文字"]),
    ],
    ids=["misspelt_element", "duplicate_id", "malformed_id", "missing_attribute", "unknown_attribute",
         "bad_boolean", "text_in_element"],
)
def test_schema_findings_are_told_in_chinese_with_line_and_names(replacement, element_id, said):
    """QA xsd (a misspelt <bpmn:outgoin>) and dup_id (a duplicate id) showed libxml2's English."""
    problems = [p for p in problems_of(v1_with(replacement)) if p.code == "xsd_invalid"]
    assert problems, problems_of(v1_with(replacement))
    [problem] = problems
    assert re.match(r"不符合 BPMN 2\.0 规范（第 \d+ 行）：", problem.message)
    assert all(part in problem.message for part in said), problem.message
    assert english_prose(problem.message) == [], problem.message
    if element_id:
        assert problem.definition.element_id == element_id


def test_a_schema_finding_libxml2_words_otherwise_is_still_a_chinese_sentence():
    from engine.workflows.xsd_messages import xsd_message

    said = xsd_message("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask': Something else went wrong.")
    assert said == "<bpmn:userTask> 不符合 BPMN 2.0 的结构要求"
    assert xsd_message("Unexpected trouble.", "lane") == "<lane> 不符合 BPMN 2.0 的结构要求"



@pytest.mark.parametrize("zero", ["P0D", "PT0S", "P0Y0M0D", "PT0H0M"])
def test_zero_durations_are_refused_for_timers_and_due(zero):
    """QA timer_zero: "P0D" made every report overdue the moment it was launched."""
    timer = problems_of(v1_with(('"P14D"', f'"{zero}"')))
    assert [(p.code, p.definition.element_id) for p in timer] == [("timer_invalid", "entry_deadline")]
    assert "零时长" in timer[0].message and "大于零" in timer[0].message
    due = problems_of(v1_with(('name="due" value="P7D"', f'name="due" value="{zero}"')))
    assert [(p.code, p.definition.element_id) for p in due] == [("due_invalid", "township_review")]


def test_a_published_version_with_a_zero_deadline_still_shows_it():
    loaded = load_process_definition(v1_with(('"P14D"', '"P0D"')), "v1.bpmn", code="village_report", version=1,
                                     published=True)
    assert loaded.user_tasks["village_entry"].due == "P0D"
