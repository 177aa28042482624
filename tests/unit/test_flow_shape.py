"""Reading a flow's steps from its model: their order, the final review, the names the labels use, and
which reporting levels the flow's lanes can serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.flow_shape import FlowShape, StepNames, flow_shape, level_misfits
from engine.roles import Level
from engine.workflows import UserTaskInfo, load_process_definition, load_process_file

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "definitions/processes/village_report/v1.bpmn"
V2 = ROOT / "definitions/processes/village_report/v2.bpmn"
FIXTURES = ROOT / "tests/fixtures/processes"


def city_review():
    """QA's v3: the county approval passes the report on to a city review, which ends the flow."""
    return load_process_definition((FIXTURES / "village_report_city_review.bpmn").read_bytes(), "v3.bpmn",
                                   code="village_report", version=3)


def skip():
    """QA's flow whose township review has an interrupting timer to the county review."""
    return load_process_definition((FIXTURES / "village_report_skip.bpmn").read_bytes(), "v1.bpmn",
                                   code="village_report_skip", version=1)


@pytest.mark.parametrize(("load", "order", "final", "names"), [
    (lambda: load_process_file(V1), ["village_entry", "township_review", "county_review"], {"county_review"},
     StepNames(first="乡镇", pending="乡镇", final="县级")),
    # the county line department checks without approving at its level: it names no stage
    (lambda: load_process_file(V2), ["village_entry", "township_review", "department_check", "county_review"],
     {"county_review"}, StepNames(first="乡镇", pending="乡镇", final="县级")),
    (city_review, ["village_entry", "township_review", "county_review", "city_review"], {"city_review"},
     StepNames(first="乡镇", pending="乡镇及以上", final="市级")),
    # the timer's way round the township is an exception, not the order of the steps
    (skip, ["village_entry", "township_review", "county_review"], {"county_review"},
     StepNames(first="乡镇", pending="乡镇", final="县级")),
])
def test_steps_in_the_order_the_flow_reaches_them(load, order, final, names):
    shape = flow_shape(load())
    assert [s.bpmn_id for s in shape.steps] == order
    assert shape.finals == final and shape.names == names


def test_a_shape_is_read_once_per_version():
    assert flow_shape(load_process_file(V1)) is flow_shape(load_process_file(V1))  # two parses, one reading


def test_the_shipped_flow_fits_village_reports_only():
    shape = flow_shape(load_process_file(V1))
    assert level_misfits(shape, Level.VILLAGE) == []
    [township] = level_misfits(shape, Level.TOWNSHIP)
    assert township.by_level
    assert township.message == "填报步骤「村级填报」在泳道「村级填报员」，只能由村(社区)级单位办理，而填报层级是乡镇级"
    entry, below = level_misfits(shape, Level.COUNTY)
    assert below.message == ("审核步骤「乡镇审核」在泳道「乡镇审核员」，由乡镇级单位办理，低于填报层级（县级）："
                             "乡镇级单位不能审核上级县级单位的报表")


def test_a_lane_whose_role_has_no_level_fits_no_collection():
    """QA's lane_viewer_first: a 部门查看员 lane crashed the launch (KeyError: None) when its tasks were assigned."""
    entry = UserTaskInfo("village_entry", "村级填报", "部门查看员", "department_viewer", "entry", None)
    review = UserTaskInfo("county_review", "县级审核", "县级审核员", "county_reviewer", "review", None)
    shape = FlowShape((entry, review), frozenset({"county_review"}))
    for level in Level:
        [misfit] = [m for m in level_misfits(shape, level) if "部门查看员" in m.message]
        assert not misfit.by_level and "角色“部门查看员”不属于某一层级的单位" in misfit.message
    assert len(level_misfits(shape, Level.VILLAGE)) == 1  # nothing else is wrong at village level


def test_stage_and_status_words_without_a_flows_names():
    """A flow with no approving review still reads as Chinese, not "由终审通过" or "含及以上"."""
    from engine.completeness import status_labels
    from engine.rollups import stages_for

    generic = stages_for(StepNames())
    assert (generic["approved"].label, generic["approved"].description) == (
        "含审核通过", "口径：包含审核通过的全部单位（含终审通过的单位）")
    assert generic["final"].description == "口径：仅包含已终审通过（审批流程结束）的单位"
    assert dict(status_labels(StepNames())) == {
        "not_started": "未开始", "draft": "草稿", "submitted": "已提交待审核", "returned": "已退回",
        "approved": "已审核（待终审）", "final": "终审通过"}
    shipped = stages_for(flow_shape(load_process_file(V1)).names)
    assert [s.label for s in shipped.values()] == ["含乡镇审核通过", "仅县级终审通过"]
