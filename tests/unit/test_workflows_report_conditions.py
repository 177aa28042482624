"""Gateway conditions that read the report (``report.<field>``): checked alone at publish, against the
indicator set at launch, and run with the report handed to the step, never stored in the state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.definitions import load_indicator_set
from engine.errors import BadInput
from engine.flow_fields import check_report_fields, report_field_problems, report_scope, report_values
from engine.transitions import step_key
from engine.workflows import (
    SAFE_ENGINE,
    WorkflowError,
    check_process_definition,
    complete,
    dump_state,
    fire_due_timers,
    is_finished,
    load_process_definition,
    load_process_directory,
    outcome,
    ready_tasks,
    start,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests/fixtures/processes/village_report_small_village.bpmn"
SMALL_TEXT = SMALL.read_text(encoding="utf-8")
SMALL_CONDITION = 'decision == "approve" and report.pop_total &lt; 500'
VILLAGE_BASIC = load_indicator_set(
    json.loads((ROOT / "definitions/indicators/village_basic/v1.json").read_text(encoding="utf-8")), "v1.json")
ELDERLY = load_indicator_set(
    json.loads((ROOT / "definitions/indicators/elderly_allowance/v1.json").read_text(encoding="utf-8")), "v1.json")


def small_with(*replacements: tuple[str, str]) -> bytes:
    text = SMALL_TEXT
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def problems(bpmn: bytes) -> list:
    return check_process_definition(bpmn, "v3.bpmn", code="village_report", version=3)


def loaded(bpmn: bytes = SMALL.read_bytes()):
    return load_process_definition(bpmn, "v3.bpmn", code="village_report", version=3)


def condition_reading(condition: str) -> bytes:
    return small_with((SMALL_CONDITION, condition))


# -- publish time: the flow alone ---------------------------------------------------------------------


def test_the_qa_flow_passes_the_checker_and_says_what_it_reads():
    assert problems(SMALL.read_bytes()) == []
    [read] = loaded().report_reads
    assert (read.name, read.flow_id, read.gateway_id) == ("pop_total", "flow_township_small", "township_decision")
    assert loaded().report_fields == {"pop_total"}


def test_the_shipped_flows_read_no_report_field():
    for defn in load_process_directory(ROOT / "definitions/processes").values():
        assert defn.report_reads == () and defn.report_fields == frozenset()


def test_a_field_written_without_the_namespace_is_refused_with_the_spelling_to_use():
    """QA's first try: the field as the rules write it. Refused, and the message says how to write it."""
    [problem] = problems(condition_reading('decision == "approve" and population.pop_total &lt; 500'))
    assert (problem.code, problem.definition.element_id) == ("condition_invalid", "flow_township_small")
    assert "引用了未知变量 population.pop_total" in problem.message
    assert "审核结论变量（decision、comment）和报表字段" in problem.message
    assert "读取报表字段请写 report.population.pop_total" in problem.message


def test_a_misspelt_decision_variable_is_still_named_as_such():
    [problem] = problems(condition_reading('decison == "approve" and report.pop_total &lt; 500'))
    assert problem.code == "condition_invalid" and "是不是 decision？" in problem.message


@pytest.mark.parametrize(("condition", "words"), [
    ('decision == "approve" and report &lt; 500', "「report」后面要写报表字段名"),
    ('decision == "approve" and count(report.elders, age &gt; 80) &gt; 2', "不能逐行计算重复表"),
    ('township_review.decision == "approve"', "办理记录，条件中不能读取"),
    ("decision == approve", '审核结论是文本，要加引号：decision == "approve"'),
])
def test_what_a_condition_cannot_read_is_refused_at_publish(condition, words):
    [problem] = problems(condition_reading(condition))
    assert problem.code == "condition_invalid" and words in problem.message, problem.message


def test_a_full_dotted_key_after_the_namespace_is_accepted():
    bpmn = condition_reading('decision == "approve" and report.population.pop_total &lt; 500')
    assert problems(bpmn) == []
    assert loaded(bpmn).report_fields == {"population.pop_total"}


def test_a_gateway_reading_the_report_may_follow_the_entry_task_directly():
    """Routing on the report alone (no decision): right after the clerk's submit, the report is there."""
    bpmn = small_with(
        ('<bpmn:sequenceFlow id="flow_entry_township" name="提交" sourceRef="village_entry" targetRef="township_review" />',
         '<bpmn:sequenceFlow id="flow_entry_size" sourceRef="village_entry" targetRef="size_check" />\n'
         '    <bpmn:exclusiveGateway id="size_check" name="按人口分流" default="flow_size_township" />\n'
         '    <bpmn:sequenceFlow id="flow_size_county" sourceRef="size_check" targetRef="county_review">'
         '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">report.pop_total &gt;= 5000'
         '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
         '    <bpmn:sequenceFlow id="flow_size_township" sourceRef="size_check" targetRef="township_review" />'),
        ("<bpmn:flowNodeRef>village_entry</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>village_entry</bpmn:flowNodeRef><bpmn:flowNodeRef>size_check</bpmn:flowNodeRef>"),
    )
    assert problems(bpmn) == []
    defn = loaded(bpmn)
    wf = start(defn, {})
    complete(defn, wf, ready_tasks(defn, wf)[0].task_id, {}, actor="village_clerk",
             report=report_scope(VILLAGE_BASIC, {"population": {"pop_total": 6000}}))
    assert [t.bpmn_id for t in ready_tasks(defn, wf)] == ["county_review"]


def test_a_gateway_reading_the_report_before_anything_was_submitted_is_refused():
    """On the entry task's deadline branch the clerk still has the report: there is nothing submitted."""
    bpmn = small_with(
        ('<bpmn:sequenceFlow id="flow_deadline_overdue" sourceRef="entry_deadline" targetRef="entry_overdue" />',
         '<bpmn:sequenceFlow id="flow_deadline_gateway" sourceRef="entry_deadline" targetRef="overdue_size" />\n'
         '    <bpmn:exclusiveGateway id="overdue_size" name="逾期按人口" default="flow_overdue_end" />\n'
         '    <bpmn:sequenceFlow id="flow_overdue_big" sourceRef="overdue_size" targetRef="entry_overdue">'
         '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">report.pop_total &gt; 100'
         '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
         '    <bpmn:sequenceFlow id="flow_overdue_end" sourceRef="overdue_size" targetRef="entry_overdue" />'),
        ("<bpmn:flowNodeRef>entry_overdue</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>entry_overdue</bpmn:flowNodeRef><bpmn:flowNodeRef>overdue_size</bpmn:flowNodeRef>"),
    )
    [problem] = problems(bpmn)
    assert (problem.code, problem.definition.element_id) == ("report_gateway_before_entry", "overdue_size")
    assert "report.pop_total" in problem.message and "报表还没有提交" in problem.message


# -- launch time: the flow with the indicator set ------------------------------------------------------


def test_the_qa_flow_fits_village_basic():
    assert report_field_problems(loaded(), VILLAGE_BASIC) == []
    check_report_fields(loaded(), VILLAGE_BASIC)  # no refusal


def test_a_flow_that_reads_no_report_field_fits_any_set():
    v1 = load_process_directory(ROOT / "definitions/processes")[("village_report", 1)]
    assert report_field_problems(v1, ELDERLY) == []


def test_a_misspelt_field_is_refused_at_launch_naming_the_gateway_the_flow_and_the_name():
    defn = loaded(condition_reading('decision == "approve" and report.pop_totl &lt; 500'))
    assert problems(condition_reading('decision == "approve" and report.pop_totl &lt; 500')) == []  # alone: fine
    with pytest.raises(BadInput) as refused:
        check_report_fields(defn, VILLAGE_BASIC)
    message = refused.value.message
    assert refused.value.data_path == "process_version_id"
    assert "township_decision" in message and "flow_township_small" in message
    assert "「report.pop_totl」" in message and "是不是 pop_total？" in message
    assert "village_basic" in message


@pytest.mark.parametrize(("name", "words"), [
    ("population", "是分组「"),
    ("filler_phone", "是敏感字段（联系方式）"),
    ("filler.filler_name", "是敏感字段"),
])
def test_a_name_that_is_no_single_plain_value_is_refused_at_launch(name, words):
    defn = loaded(condition_reading(f'decision == "approve" and report.{name} == 1'))
    [problem] = report_field_problems(defn, VILLAGE_BASIC)
    assert words in problem and f"「report.{name}」" in problem, problem


@pytest.mark.parametrize("name", ["age", "elders.age", "elders"])
def test_a_repeat_column_is_refused_at_launch(name):
    defn = loaded(condition_reading(f'decision == "approve" and report.{name} == 1'))
    [problem] = report_field_problems(defn, ELDERLY)
    assert "重复表" in problem and "单个值" in problem, problem


# -- run time -------------------------------------------------------------------------------------------


def approve_at_township(defn, pop_total, *, decision="approve"):
    """Submit a report with ``pop_total`` and let the township decide; returns the workflow."""
    report = report_scope(VILLAGE_BASIC, {"population": {"pop_total": pop_total}})
    wf = start(defn, {})
    complete(defn, wf, ready_tasks(defn, wf)[0].task_id, {}, actor="village_clerk", report=report)
    payload = {"decision": decision, "comment": "" if decision == "approve" else "请核实"}
    complete(defn, wf, ready_tasks(defn, wf)[0].task_id, payload, actor="township_reviewer", report=report)
    return wf


def test_a_small_village_approved_by_the_township_ends_final_without_the_county():
    defn = loaded()
    wf = approve_at_township(defn, 300)
    assert is_finished(wf) and outcome(defn, wf) == "approved"


def test_a_large_village_goes_on_to_the_county():
    defn = loaded()
    wf = approve_at_township(defn, 800)
    assert [t.bpmn_id for t in ready_tasks(defn, wf)] == ["county_review"]


def test_a_blank_field_makes_the_condition_false_and_skips_nothing():
    """A missing value makes a comparison missing, as in rules; a missing condition does not hold: the
    gateway tries the next one (county review), never the skip."""
    defn = loaded()
    wf = approve_at_township(defn, None)
    assert [t.bpmn_id for t in ready_tasks(defn, wf)] == ["county_review"]


def test_decision_variables_keep_their_meaning():
    defn = loaded()
    wf = approve_at_township(defn, 300, decision="return")
    assert [t.bpmn_id for t in ready_tasks(defn, wf)] == ["village_entry"]


def test_the_report_is_never_stored_in_the_state():
    defn = loaded()
    wf = approve_at_township(defn, 777)
    state = json.dumps(dump_state(defn, wf), ensure_ascii=False)
    assert "pop_total" not in state and "population" not in state
    assert wf.script_engine is SAFE_ENGINE  # the step's own engine was put back


def test_a_step_of_a_report_reading_flow_without_its_report_is_refused_not_misrouted():
    defn = loaded()
    wf = start(defn, {})
    complete(defn, wf, ready_tasks(defn, wf)[0].task_id, {}, actor="village_clerk")
    with pytest.raises(WorkflowError, match="没有提供报表"):
        complete(defn, wf, ready_tasks(defn, wf)[0].task_id, {"decision": "approve", "comment": ""},
                 actor="township_reviewer")


# An interrupting deadline on the township review leading to a gateway that reads the report: small
# villages whose township is late are final, the others go to the county.
TOWNSHIP_TIMEOUT = (
    ('<bpmn:userTask id="county_review"',
     '<bpmn:boundaryEvent id="township_timeout" name="乡镇逾期" attachedToRef="township_review">'
     '<bpmn:timerEventDefinition id="township_timeout_def"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
     '"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n'
     '    <bpmn:exclusiveGateway id="timeout_size" name="逾期按人口" default="flow_timeout_county" />\n'
     '    <bpmn:sequenceFlow id="flow_timeout" sourceRef="township_timeout" targetRef="timeout_size" />\n'
     '    <bpmn:sequenceFlow id="flow_timeout_small" sourceRef="timeout_size" targetRef="approved_by_township">'
     '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">report.pop_total &lt; 500'
     '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
     '    <bpmn:sequenceFlow id="flow_timeout_county" sourceRef="timeout_size" targetRef="county_review" />\n'
     '    <bpmn:userTask id="county_review"'),
    ('<spiffworkflow:property name="due" value="P7D" /></spiffworkflow:properties></bpmn:extensionElements>'
     '</bpmn:userTask>\n    <bpmn:exclusiveGateway id="township_decision"',
     '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n'
     '    <bpmn:exclusiveGateway id="township_decision"'),
    ("<bpmn:flowNodeRef>township_decision</bpmn:flowNodeRef>",
     "<bpmn:flowNodeRef>township_decision</bpmn:flowNodeRef><bpmn:flowNodeRef>township_timeout</bpmn:flowNodeRef>"
     "<bpmn:flowNodeRef>timeout_size</bpmn:flowNodeRef>"),
)


def test_a_timer_that_skips_a_review_reads_the_report_too():
    """The deadline's step needs the report as a person's step does."""
    bpmn = small_with(*TOWNSHIP_TIMEOUT)
    assert problems(bpmn) == []
    defn = loaded(bpmn)
    report = report_scope(VILLAGE_BASIC, {"population": {"pop_total": 120}})
    wf = start(defn, {})
    complete(defn, wf, ready_tasks(defn, wf)[0].task_id, {}, actor="village_clerk", report=report)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert [t.bpmn_id for t in fire_due_timers(defn, wf, later, report)] == ["township_timeout"]
    assert is_finished(wf) and outcome(defn, wf) == "approved"


def test_the_step_memo_tells_reports_apart_only_for_flows_that_read_them():
    defn, now = loaded(), dt.datetime.now(dt.UTC)
    small, large = (report_scope(VILLAGE_BASIC, {"population": {"pop_total": n}}) for n in (300, 800))
    key = [step_key(1, "digest", "task", {"decision": "approve"}, "township_reviewer", now,
                    report_values(defn, scope)) for scope in (small, large)]
    assert key[0] != key[1]
    assert report_values(defn, None) is None
    assert step_key(1, "d", "t", {}, "r", now) == step_key(1, "d", "t", {}, "r", now, None)
