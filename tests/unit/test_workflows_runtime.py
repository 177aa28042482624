"""Driving the shipped flows through the runtime: paths, loops, stale decisions, timers, state, versions."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from engine.errors import BadInput, Conflict, NotFound
from engine.workflows import (
    SAFE_ENGINE,
    WorkflowError,
    complete,
    dump_state,
    fire_due_timers,
    is_finished,
    load_process_definition,
    load_process_directory,
    load_state,
    next_timer,
    outcome,
    ready_tasks,
    start,
    state_definition_key,
    task_data,
)
from engine.workflows.serialization import SERIALIZER_VERSION

ROOT = Path(__file__).resolve().parents[2]
V1_FILE = ROOT / "definitions/processes/village_report/v1.bpmn"
DEFS = load_process_directory(ROOT / "definitions/processes")
V1 = DEFS[("village_report", 1)]
V2 = DEFS[("village_report", 2)]

APPROVE = {"decision": "approve", "comment": "同意"}


def ret(comment: str = "数据有误，请核实", **field_comments: str) -> dict:
    return {"decision": "return", "comment": comment, "field_comments": field_comments}


def only_ready(defn, wf):
    [task] = ready_tasks(defn, wf)
    return task


def act(defn, wf, bpmn_id: str, payload: dict, actor: str = "user") -> None:
    task = only_ready(defn, wf)
    assert task.bpmn_id == bpmn_id
    complete(defn, wf, task.task_id, payload, actor=actor)


# -- paths through v1 and v2 ------------------------------------------------------------------------------


def test_v1_full_approve_path():
    wf = start(V1, {"org": "110101001001", "period": "2026"})
    first = only_ready(V1, wf)
    assert (first.bpmn_id, first.lane, first.role, first.kind) == (
        "village_entry",
        "村级填报员",
        "village_clerk",
        "entry",
    )
    act(V1, wf, "village_entry", {"pop_total": 1203}, actor="clerk-1")
    review = only_ready(V1, wf)
    assert (review.bpmn_id, review.role, review.kind) == ("township_review", "township_reviewer", "review")
    act(V1, wf, "township_review", APPROVE, actor="town-1")
    assert only_ready(V1, wf).role == "county_reviewer"
    assert outcome(V1, wf) is None and not is_finished(wf)
    act(V1, wf, "county_review", {"decision": "approve"}, actor="county-1")
    assert is_finished(wf) and outcome(V1, wf) == "approved" and ready_tasks(V1, wf) == []
    assert wf.data["village_entry"] == {"kind": "entry", "actor": "clerk-1", "data": {"pop_total": 1203}}
    assert wf.data["county_review"] == {
        "kind": "review",
        "actor": "county-1",
        "decision": "approve",
        "comment": "",
        "field_comments": {},
    }
    assert next_timer(wf) is None


def test_v1_returns_at_both_levels_then_approves():
    wf = start(V1, {"org": "110101001001"})
    act(V1, wf, "village_entry", {"pop_total": 1})
    act(V1, wf, "township_review", ret("人口数明显偏小", pop_total="请核对户籍台账"), actor="town-1")

    again = only_ready(V1, wf)
    assert again.bpmn_id == "village_entry"
    seen = task_data(V1, wf, again.task_id)  # the clerk sees why it came back
    assert seen["township_review"]["comment"] == "人口数明显偏小"
    assert seen["township_review"]["field_comments"] == {"pop_total": "请核对户籍台账"}

    act(V1, wf, "village_entry", {"pop_total": 1203})
    act(V1, wf, "township_review", APPROVE)
    act(V1, wf, "county_review", ret("与去年差异过大，请乡镇说明"))
    act(V1, wf, "township_review", APPROVE)  # county returns to the township, not the village
    act(V1, wf, "county_review", APPROVE)
    assert outcome(V1, wf) == "approved"
    assert wf.data["village_entry"]["data"] == {"pop_total": 1203}


def test_v2_goes_through_the_county_department():
    wf = start(V2, {})
    act(V2, wf, "village_entry", {"n": 1})
    act(V2, wf, "township_review", APPROVE)
    check = only_ready(V2, wf)
    assert (check.bpmn_id, check.lane, check.role) == (
        "department_check",
        "县级业务部门",
        "county_department",
    )
    act(V2, wf, "department_check", ret("口径不符"))
    act(V2, wf, "township_review", APPROVE)  # the department returns to the township
    act(V2, wf, "department_check", APPROVE)
    act(V2, wf, "county_review", APPROVE)
    assert outcome(V2, wf) == "approved"


# -- stale decisions (pitfall 3) -----------------------------------------------------------------------


def test_resubmitted_review_waits_for_a_new_decision():
    wf = start(V1, {})
    act(V1, wf, "village_entry", {"n": 1})
    act(V1, wf, "township_review", APPROVE)
    act(V1, wf, "county_review", ret())
    review = only_ready(V1, wf)
    assert review.bpmn_id == "township_review"
    data = task_data(V1, wf, review.task_id)
    assert "decision" not in data and "comment" not in data
    raw = wf.get_task_from_id(UUID(review.task_id)).data
    assert "decision" not in raw  # cleared in the task data itself, not only hidden
    with pytest.raises(BadInput) as err:
        complete(V1, wf, review.task_id, {"comment": "无结论"}, actor="town")
    assert err.value.data_path == "decision"
    assert only_ready(V1, wf).task_id == review.task_id  # still waiting, gateway not passed


STALE_FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="urn:t">
  <bpmn:process id="stale" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="乡镇审核员"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="村级填报员"><bpmn:flowNodeRef>confirm</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="review" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="g1" default="f_g1_end" />
    <bpmn:userTask id="confirm" name="确认">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="kind" value="entry" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="g2" default="f_g2_back" />
    <bpmn:endEvent id="done"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:endEvent id="rejected"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="rejected" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="g1" />
    <bpmn:sequenceFlow id="f_g1_ok" sourceRef="g1" targetRef="confirm">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_g1_end" sourceRef="g1" targetRef="rejected" />
    <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="g2" />
    <bpmn:sequenceFlow id="f_g2_ok" sourceRef="g2" targetRef="done">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_g2_back" sourceRef="g2" targetRef="review" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_stale_approve_never_passes_a_later_gateway():
    """g2 follows an entry task: the review's "approve" must not leak through it (it would end the flow).
    The checker now refuses such a gateway (and a review first, and a "rejected" end); a version published
    before it still runs, so the runtime keeps the guarantee."""
    defn = load_process_definition(STALE_FLOW, "stale.bpmn", code="stale", version=1, published=True)
    wf = start(defn, {})
    act(defn, wf, "review", APPROVE)
    act(defn, wf, "confirm", {"ok": True})
    assert not is_finished(wf)
    assert only_ready(defn, wf).bpmn_id == "review"  # g2 took its default: back for a new decision
    act(defn, wf, "review", ret("不同意"))
    assert outcome(defn, wf) == "rejected"


# -- payload rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"decision": "return", "comment": "  "}, "comment"),
        ({"decision": "return"}, "comment"),
        ({"decision": "ok"}, "decision"),
        ({"decision": "approve", "extra": 1}, "extra"),
        ({"decision": "approve", "comment": 3}, "comment"),
        ({"decision": "approve", "field_comments": ["x"]}, "field_comments"),
        ({"decision": "approve", "field_comments": {"pop": ""}}, "field_comments.pop"),
        ({"decision": "approve", "field_comments": {"pop": 5}}, "field_comments.pop"),
        ({"decision": "approve", "field_comments": {"a b": "x"}}, "field_comments"),
    ],
)
def test_bad_review_payload_is_rejected_and_task_stays_ready(payload, path):
    wf = start(V1, {})
    act(V1, wf, "village_entry", {"n": 1})
    review = only_ready(V1, wf)
    with pytest.raises(BadInput) as err:
        complete(V1, wf, review.task_id, payload, actor="town")
    assert err.value.data_path == path
    if payload.get("field_comments") == {"pop": 5}:  # a number is not an empty comment
        assert err.value.message == "字段「pop」的逐项意见必须是文本"
    assert only_ready(V1, wf).task_id == review.task_id


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"d": date(2026, 1, 1)}, "d"),
        ({"rows": [{"amount": Decimal("1.5")}]}, "rows.0.amount"),
        ({"t": (1, 2)}, "t"),
        ({"s": {1, 2}}, "s"),
        ({"b": b"x"}, "b"),
        ({"f": float("nan")}, "f"),
        ({"m": {1: "a"}}, "m"),
        ({"when": datetime(2026, 1, 1)}, "when"),
    ],
)
def test_entry_payload_must_be_json_native(value, path):
    wf = start(V1, {})
    task = only_ready(V1, wf)
    with pytest.raises(BadInput) as err:
        complete(V1, wf, task.task_id, value, actor="clerk")
    assert err.value.data_path == path
    assert "JSON" in err.value.message or "不是" in err.value.message


def test_json_native_check_limits_depth_names_the_place_and_keeps_subclasses():
    from enum import IntEnum

    from engine.workflows.payloads import MAX_DEPTH, require_json_native

    def nested(levels, leaf):
        for _ in range(levels):
            leaf = [leaf]
        return leaf

    require_json_native(nested(MAX_DEPTH, 1))  # a value at depth MAX_DEPTH is allowed
    require_json_native(nested(MAX_DEPTH, []))
    with pytest.raises(BadInput, match="嵌套超过") as err:
        require_json_native(nested(MAX_DEPTH + 1, 1))
    assert err.value.data_path == ".".join(["0"] * (MAX_DEPTH + 1))
    with pytest.raises(BadInput, match="空字符") as err:
        require_json_native({"a": [{"b\x00": 1}]})
    assert err.value.data_path == "a.0"
    with pytest.raises(BadInput, match="空字符") as err:
        require_json_native({"a": {"b": "x\x00"}})
    assert err.value.data_path == "a.b"
    # a lone UTF-16 surrogate has no UTF-8 form: jsonb cannot hold it either
    with pytest.raises(BadInput, match="代理项") as err:
        require_json_native({"a": {"b": "云溪\ud800"}})
    assert err.value.data_path == "a.b"
    with pytest.raises(BadInput, match="代理项") as err:
        require_json_native({"a": [{"村\udfff": 1}]})
    assert err.value.data_path == "a.0"
    require_json_native({"a": "云溪村 😀", "😀": ["ascii"]})  # a character beyond U+FFFF is no surrogate

    class Level(IntEnum):
        TOWN = 4

    class Code(str):
        pass

    # subclasses of JSON's types serialise unchanged: accepted, as they always were
    require_json_native({Code("k"): [Code("v"), Level.TOWN, True, None, 1.5, {"x": {}}]})


def test_payload_must_be_an_object_and_actor_given():
    wf = start(V1, {})
    task = only_ready(V1, wf)
    with pytest.raises(BadInput):
        complete(V1, wf, task.task_id, [1, 2], actor="clerk")
    with pytest.raises(BadInput) as err:
        complete(V1, wf, task.task_id, {}, actor=" ")
    assert err.value.data_path == "actor"


def test_task_addressing_errors():
    wf = start(V1, {})
    first = only_ready(V1, wf)
    with pytest.raises(BadInput):
        complete(V1, wf, "not-a-uuid", {}, actor="a")
    with pytest.raises(NotFound):
        complete(V1, wf, "00000000-0000-0000-0000-000000000000", {}, actor="a")
    complete(V1, wf, first.task_id, {}, actor="a")
    with pytest.raises(Conflict, match="不能办理"):
        complete(V1, wf, first.task_id, {}, actor="a")  # already done (e.g. a double click)


def test_start_data_rules():
    with pytest.raises(BadInput) as err:
        start(V1, {"decision": "approve"})
    assert err.value.data_path == "decision"
    with pytest.raises(BadInput):
        start(V1, {"township_review": {}})
    with pytest.raises(BadInput):
        start(V1, {"deadline": date(2026, 1, 1)})


# -- timers and deadlines ------------------------------------------------------------------------------


def test_entry_deadline_is_exposed_and_fires_when_now_passes_it():
    before = datetime.now(UTC)
    wf = start(V1, {})
    entry = only_ready(V1, wf)
    assert before + timedelta(days=14) <= entry.due_at <= datetime.now(UTC) + timedelta(days=14)
    assert entry.overdue is False and next_timer(wf) == entry.due_at

    assert fire_due_timers(V1, wf, entry.due_at - timedelta(seconds=1)) == []
    [fired] = fire_due_timers(V1, wf, entry.due_at + timedelta(seconds=1))
    assert (fired.bpmn_id, fired.attached_to, fired.due_at) == (
        "entry_deadline",
        "village_entry",
        entry.due_at,
    )
    assert fired.name == "填报期限（14天）"

    overdue = only_ready(V1, wf)
    assert overdue.task_id == entry.task_id and overdue.overdue and overdue.due_at == entry.due_at
    assert next_timer(wf) is None and not is_finished(wf)
    assert fire_due_timers(V1, wf, entry.due_at + timedelta(days=30)) == []  # fires once

    act(V1, wf, "village_entry", {"n": 1})  # still completable after the deadline, and the flow goes on
    act(V1, wf, "township_review", APPROVE)
    act(V1, wf, "county_review", APPROVE)
    assert outcome(V1, wf) == "approved"


def test_completing_in_time_disarms_the_timer_and_a_return_rearms_it():
    wf = start(V1, {})
    act(V1, wf, "village_entry", {"n": 1})
    assert next_timer(wf) is None  # the boundary timer went with the completed task
    act(V1, wf, "township_review", ret())
    again = only_ready(V1, wf)
    assert not again.overdue and next_timer(wf) == again.due_at  # a fresh 14-day window


def test_review_due_comes_from_the_due_property():
    wf = start(V1, {})
    act(V1, wf, "village_entry", {"n": 1})
    review = only_ready(V1, wf)
    became_ready = datetime.fromtimestamp(wf.get_task_from_id(UUID(review.task_id)).last_state_change, UTC)
    assert review.due_at == became_ready + timedelta(days=7)
    assert next_timer(wf) is None  # a `due` property is a displayed deadline, not a BPMN timer


def test_fire_due_timers_needs_an_aware_now():
    wf = start(V1, {})
    with pytest.raises(BadInput):
        fire_due_timers(V1, wf, datetime(2030, 1, 1))


# -- state: dump / load ---------------------------------------------------------------------------------


def roundtrip(defn, wf):
    # through JSON with the keys re-sorted, as a JSONB column returns them (not in the order written)
    state = json.loads(json.dumps(dump_state(defn, wf), ensure_ascii=False, sort_keys=True))
    return state, load_state(defn, state)


def test_state_is_json_native_without_spec():
    wf = start(V1, {"org": "村委会"})
    state = dump_state(V1, wf)
    assert json.loads(json.dumps(state)) == state
    assert "spec" not in state["workflow"] and "subprocess_specs" not in state["workflow"]
    assert state["serializer_version"] == SERIALIZER_VERSION
    assert state["definition"] == {
        "code": "village_report",
        "version": 1,
        "content_hash": V1.content_hash,
        "process_id": "village_report",
    }
    assert state_definition_key(state) == ("village_report", 1)


def test_load_state_does_not_modify_its_input_and_installs_the_safe_engine():
    wf = start(V1, {})
    act(V1, wf, "village_entry", {"rows": [{"a": 1}]})
    state = json.loads(json.dumps(dump_state(V1, wf)))
    pristine = copy.deepcopy(state)
    loaded = load_state(V1, state)
    assert loaded.script_engine is SAFE_ENGINE and loaded.spec is V1.spec
    act(V1, loaded, "township_review", APPROVE)
    assert state == pristine


def deletions_sorted(state: dict) -> dict:
    """The state with each task's deleted data keys in sorted order: their order follows the order of
    the parent's data dict, which a JSONB round trip does not keep (the set of keys is what counts)."""
    state = copy.deepcopy(state)
    for task in state["workflow"]["tasks"].values():
        if task.get("delta"):
            task["delta"]["deletions"] = sorted(task["delta"]["deletions"])
    return state


def trace(defn, wf) -> tuple:
    """What an observer can see, minus uuids and timestamps."""
    ready = [(t.bpmn_id, t.role, t.kind, t.overdue) for t in ready_tasks(defn, wf)]
    data = {t.bpmn_id: task_data(defn, wf, t.task_id) for t in ready_tasks(defn, wf)}
    return ready, data, is_finished(wf), outcome(defn, wf), next_timer(wf) is not None


RETURN_AND_RESUBMIT = [
    ("village_entry", {"pop_total": 10, "名称": "东村"}),
    ("township_review", ret("人口数不对", pop_total="核实")),
    ("village_entry", {"pop_total": 12}),
    ("township_review", APPROVE),
]
SCRIPTS = {
    1: [
        *RETURN_AND_RESUBMIT,
        ("county_review", ret("请说明")),
        ("township_review", APPROVE),
        ("county_review", APPROVE),
    ],
    2: [
        *RETURN_AND_RESUBMIT,
        ("department_check", ret("口径")),
        ("township_review", APPROVE),
        ("department_check", APPROVE),
        ("county_review", ret("请说明")),
        ("township_review", APPROVE),
        ("department_check", APPROVE),
        ("county_review", APPROVE),
    ],
}


@pytest.mark.parametrize("defn", [V1, V2], ids=["v1", "v2"])
def test_every_state_round_trips_and_continues_identically(defn):
    steps = SCRIPTS[defn.version]
    plain = start(defn, {"org": "110101001001"})
    reloaded = start(defn, {"org": "110101001001"})
    for i, (bpmn_id, payload) in enumerate(steps):
        state, reloaded = roundtrip(defn, reloaded)
        assert deletions_sorted(dump_state(defn, reloaded)) == deletions_sorted(state)  # lossless
        assert trace(defn, reloaded) == trace(defn, plain), f"step {i}"
        if i == 1:  # also carry a fired timer through the round trip
            for wf in (plain, reloaded):
                fire_due_timers(defn, wf, datetime.now(UTC) + timedelta(days=15))
        for wf in (plain, reloaded):
            act(defn, wf, bpmn_id, payload)
    state, reloaded = roundtrip(defn, reloaded)
    assert trace(defn, reloaded) == trace(defn, plain)
    assert outcome(defn, reloaded) == "approved"


def test_a_fired_timer_survives_the_round_trip():
    wf = start(V1, {})
    due = only_ready(V1, wf).due_at
    fire_due_timers(V1, wf, due + timedelta(hours=1))
    _, loaded = roundtrip(V1, wf)
    assert only_ready(V1, loaded).overdue and only_ready(V1, loaded).due_at == due


# -- versions: an instance finishes on the version it started with ----------------------------------------


def test_v1_instance_keeps_running_on_v1_while_v2_exists():
    old = start(V1, {})
    act(V1, old, "village_entry", {"n": 1})
    saved = json.loads(json.dumps(dump_state(V1, old)))

    with pytest.raises(Conflict, match="第 1 版"):
        load_state(V2, saved)  # the newest version must not pick it up

    defn = DEFS[state_definition_key(saved)]
    assert defn is V1
    wf = load_state(defn, saved)
    act(defn, wf, "township_review", APPROVE)
    assert only_ready(defn, wf).bpmn_id == "county_review"  # v1 path: no department check
    act(defn, wf, "county_review", APPROVE)
    assert outcome(defn, wf) == "approved"

    new = start(V2, {})
    act(V2, new, "village_entry", {"n": 1})
    act(V2, new, "township_review", APPROVE)
    assert only_ready(V2, new).bpmn_id == "department_check"


def test_edited_definition_under_the_same_version_is_refused():
    wf = start(V1, {})
    saved = dump_state(V1, wf)
    edited = load_process_definition(
        (ROOT / "definitions/processes/village_report/v1.bpmn")
        .read_bytes()
        .replace('name="乡镇审核"'.encode(), 'name="乡镇初审"'.encode(), 1),
        "v1.bpmn",
        code="village_report",
        version=1,
    )
    with pytest.raises(Conflict):
        load_state(edited, saved)


def test_foreign_serializer_version_is_refused_not_migrated():
    saved = dump_state(V1, start(V1, {}))
    saved["serializer_version"] = "1.3"  # 3.2.0 would run an unchained, crash-prone migration
    with pytest.raises(WorkflowError, match="迁移"):
        load_state(V1, saved)
    with pytest.raises(BadInput):
        load_state(V1, {"workflow": {}})


PARALLEL_FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="urn:t">
  <bpmn:process id="parallel" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l0" name="村级填报员"><bpmn:flowNodeRef>entry</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l1" name="县级业务部门"><bpmn:flowNodeRef>dept</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="county_reviewer"><bpmn:flowNodeRef>county</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="entry" name="填报"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="entry" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="dept" name="部门核查"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="county" name="县级审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="entry" />
    <bpmn:sequenceFlow id="f1" sourceRef="entry" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="dept" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="county" />
    <bpmn:sequenceFlow id="f4" sourceRef="dept" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="county" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_parallel_reviews_both_wait_and_join():
    defn = load_process_definition(PARALLEL_FLOW, "parallel.bpmn", code="parallel", version=1)
    assert defn.lanes == {"村级填报员": "village_clerk", "县级业务部门": "county_department",
                          "county_reviewer": "county_reviewer"}
    wf = start(defn, {})
    act(defn, wf, "entry", {"n": 1})
    ready = {t.bpmn_id: t for t in ready_tasks(defn, wf)}
    assert set(ready) == {"dept", "county"}
    complete(defn, wf, ready["county"].task_id, APPROVE, actor="c")
    assert [t.bpmn_id for t in ready_tasks(defn, wf)] == ["dept"] and not is_finished(wf)
    _, wf = roundtrip(defn, wf)
    complete(defn, wf, ready["dept"].task_id, APPROVE, actor="d")
    assert outcome(defn, wf) == "approved"
    assert {wf.data["dept"]["actor"], wf.data["county"]["actor"]} == {"c", "d"}


# -- the engine's refusals reach people in Chinese -------------------------------------------------------


def test_a_gateway_where_no_condition_holds_is_told_in_chinese_naming_it():
    """QA gw_single_cond, in a version published before the checker refused it: the township returns, the
    gateway has only its "approve" exit and no default. SpiffWorkflow says "No conditions satisfied for
    township_decision." in English; the reviewer must read Chinese, with the element."""
    text = V1_FILE.read_text(encoding="utf-8").replace(' default="flow_township_return"', "", 1)
    text = text.replace(
        '<bpmn:sequenceFlow id="flow_township_return" name="退回" sourceRef="township_decision" '
        'targetRef="village_entry" />', "", 1)
    defn = load_process_definition(text.encode(), "v3.bpmn", code="village_report", version=3, published=True)
    wf = start(defn, {})
    act(defn, wf, "village_entry", {"n": 1})
    review = only_ready(defn, wf)
    with pytest.raises(WorkflowError) as err:
        complete(defn, wf, review.task_id, ret("请核实"), actor="town")
    message = err.value.message
    assert "排他网关「乡镇审核结论」(township_decision)" in message and "没有默认连线" in message
    assert not re.search(r"[A-Za-z]{4,}", message.replace("township_decision", "")), message
    assert err.value.details["bpmn_id"] == "township_decision"
