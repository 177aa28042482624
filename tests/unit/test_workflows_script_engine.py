"""The safe script engine: nothing in a definition reaches eval/exec, at check time or at run time."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.script_engine import python_environment
from SpiffWorkflow.spiff.parser import SpiffBpmnParser

from engine.workflows import (
    SAFE_ENGINE,
    WorkflowError,
    check_process_definition,
    complete,
    fire_due_timers,
    load_process_file,
    ready_tasks,
    start,
)
from engine.workflows.runtime import is_finished

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "definitions/processes/village_report/v1.bpmn"
V2 = ROOT / "definitions/processes/village_report/v2.bpmn"

# Reference §1.7: each of these reached the OS through some stock environment configuration.
ESCAPES = [
    "__import__('os').getpid() == 1",
    "().__class__.__base__.__subclasses__()",
    "random._os.getpid()",
    "open('/etc/passwd').read()",
    "eval('1')",
    "9 ** 9 ** 9",
    "[x for x in (1, 2)]",
    "lambda: 1",
]

APPROVE = 'decision == "approve"'


@pytest.fixture
def os_calls(monkeypatch):
    """Record any call to os.getpid/os.system, so a test can prove the payload never ran."""
    calls: list[str] = []
    monkeypatch.setattr(os, "getpid", lambda: calls.append("getpid") or 1)
    monkeypatch.setattr(os, "system", lambda *a: calls.append("system") or 0)
    return calls


@pytest.fixture
def no_eval(monkeypatch):
    """Shadow eval/exec inside SpiffWorkflow's stock environment; any use is recorded."""
    calls: list[str] = []

    def trap(name):
        def _trap(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} reached")

        return _trap

    monkeypatch.setattr(python_environment, "eval", trap("eval"), raising=False)
    monkeypatch.setattr(python_environment, "exec", trap("exec"), raising=False)
    return calls


def forced(defn, bpmn: bytes):
    """A definition whose spec was parsed WITHOUT our checker, as if someone bypassed it."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn)
    return dataclasses.replace(defn, spec=parser.get_spec(defn.process_id))


def with_condition(condition: str) -> bytes:
    return V1.read_bytes().replace(APPROVE.encode(), condition.replace("'", "&apos;").encode(), 1)


def with_timer(body: str) -> bytes:
    return V1.read_bytes().replace(b'"P14D"', body.replace("'", "&apos;").encode())


def problem_ids(bpmn: bytes) -> dict[str, str]:
    problems = check_process_definition(bpmn, "broken.bpmn", code="village_report", version=9)
    return {p.definition.element_id: p.code for p in problems}


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_in_gateway_condition_is_refused_at_check_time(payload):
    assert problem_ids(with_condition(payload)) == {"flow_township_approve": "condition_invalid"}


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_in_timer_is_refused_at_check_time(payload):
    assert problem_ids(with_timer(payload)) == {"entry_deadline": "timer_invalid"}


@pytest.mark.parametrize("payload", ESCAPES)
def test_engine_evaluate_refuses_escapes(payload, os_calls):
    with pytest.raises(WorkflowError):
        SAFE_ENGINE.environment.evaluate(payload, {"random": None})
    assert os_calls == []


def test_engine_refuses_scripts_and_services(os_calls):
    with pytest.raises(WorkflowError, match="不执行脚本"):
        SAFE_ENGINE.environment.execute("import os; os.getpid()", {})
    with pytest.raises(WorkflowError, match="不执行脚本"):
        SAFE_ENGINE.environment.call_service({}, operation_name="x")
    assert os_calls == []


def test_engine_evaluates_expression_language_against_task_data():
    env = SAFE_ENGINE.environment
    assert env.evaluate(APPROVE, {"decision": "approve"}) is True
    assert env.evaluate(APPROVE, {"decision": "return"}) is False
    assert not env.evaluate(APPROVE, {})  # a missing decision never passes
    assert env.evaluate('"PT72H"', {}) == "PT72H"
    assert env.evaluate("a.b + 1", {"a": {"b": 2}}) == 3


def test_forced_condition_raises_instead_of_running(os_calls, no_eval):
    v1 = load_process_file(V1)
    bad = forced(v1, with_condition("__import__('os').getpid() == 1"))
    wf = start(bad, {})
    complete(bad, wf, ready_tasks(bad, wf)[0].task_id, {"n": 1}, actor="clerk")
    township = ready_tasks(bad, wf)[0]
    with pytest.raises(WorkflowError, match="无法求值") as err:
        complete(bad, wf, township.task_id, {"decision": "approve"}, actor="reviewer")
    assert err.value.details["bpmn_id"] == "township_decision"
    assert os_calls == [] and no_eval == []


def test_forced_timer_raises_instead_of_running(os_calls, no_eval):
    v1 = load_process_file(V1)
    bad = forced(v1, with_timer("__import__('os').getpid()"))
    with pytest.raises(WorkflowError):
        start(bad, {})
    assert os_calls == [] and no_eval == []


def test_forced_script_task_raises_instead_of_running(os_calls, no_eval):
    v1 = load_process_file(V1)
    bpmn = (
        V1.read_bytes()
        .replace(
            b'<bpmn:endEvent id="approved"',
            b'<bpmn:scriptTask id="evil"><bpmn:script>import os; os.system("id")</bpmn:script></bpmn:scriptTask>\n'
            b'    <bpmn:endEvent id="approved"',
        )
        .replace(b'sourceRef="start" targetRef="village_entry"', b'sourceRef="start" targetRef="evil"')
        .replace(
            b'<bpmn:sequenceFlow id="flow_entry_township"',
            b'<bpmn:sequenceFlow id="flow_evil" sourceRef="evil" targetRef="village_entry" />\n'
            b'    <bpmn:sequenceFlow id="flow_entry_township"',
        )
    )
    assert problem_ids(bpmn)["evil"] == "script_refused"
    with pytest.raises(WorkflowError, match="不执行脚本"):
        start(forced(v1, bpmn), {})
    assert os_calls == [] and no_eval == []


def test_forced_pre_script_raises_instead_of_running(os_calls, no_eval):
    v1 = load_process_file(V1)
    bpmn = V1.read_bytes().replace(
        b'<spiffworkflow:property name="kind" value="entry" />\n        </spiffworkflow:properties>',
        b'<spiffworkflow:property name="kind" value="entry" />\n        </spiffworkflow:properties>\n'
        b'        <spiffworkflow:preScript>import os; os.system("id")</spiffworkflow:preScript>',
    )
    assert problem_ids(bpmn) == {"village_entry": "script_refused"}
    with pytest.raises(WorkflowError, match="不执行脚本"):
        start(forced(v1, bpmn), {})
    assert os_calls == [] and no_eval == []


@pytest.mark.parametrize("path", [V1, V2])
def test_shipped_flows_never_reach_eval_or_exec(path, no_eval, os_calls):
    defn = load_process_file(path)
    wf = start(defn, {"org": "110101001001"})
    decisions = {
        "township_review": ["return", "approve"],
        "department_check": ["approve"],
        "county_review": ["approve"],
    }
    while not is_finished(wf):
        task = ready_tasks(defn, wf)[0]
        if task.kind == "entry":
            payload = {"n": 1}
        else:
            decision = decisions[task.bpmn_id].pop(0)
            payload = {"decision": decision, "comment": "请核实" if decision == "return" else ""}
        complete(defn, wf, task.task_id, payload, actor="someone")
    assert fire_due_timers(defn, wf, datetime.now(UTC)) == []
    assert no_eval == [] and os_calls == []
    assert wf.script_engine is SAFE_ENGINE


def test_eval_trap_would_catch_the_stock_environment(no_eval):
    """Guards the guard: the trap above really intercepts SpiffWorkflow's eval."""
    with pytest.raises(AssertionError):
        python_environment.TaskDataEnvironment().evaluate("1 + 1", {})
    assert no_eval == ["eval"]
