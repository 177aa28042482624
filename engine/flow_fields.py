"""What an approval flow reads from the report: checked against the indicator set at launch, and handed
to the steps that need it.

A gateway condition may read the report it routes as ``report.<name>`` (docs/processes.md §4), the name
written as the indicator set's rules write it: a bare field name unique in the set, or a full dotted
key. A flow is published on its own, so its checker (``engine.workflows.checks``) judges only the
spelling; the names meet an indicator set when a collection is launched with both, and are judged here
(``check_report_fields``, from ``start_collection``, before anything is written).

At run time a step of such a flow gets the report as stored (``report_scope``), for that step only: it is
never put into the workflow's task data, which is serialized with every state. A flow that reads no
report field (``ProcessDefinition.report_reads`` empty, read once per version at load) is handed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions import IndicatorSet
from engine.definitions.names import NameIndex, NameProblem
from engine.errors import BadInput
from engine.expressions import Scope
from engine.workflows import ProcessDefinition
from engine.workflows.vocabulary import REPORT_NAMESPACE

CONTAINER_NAMES = {"section": "分组", "grid": "表格"}


def _sensitivity(value: str) -> str:
    from engine.draft_edits import SENSITIVITY_LABELS  # the labels the workbench shows; only for a refusal

    return SENSITIVITY_LABELS.get(value, value)


def report_field_problems(defn: ProcessDefinition, ind: IndicatorSet) -> list[str]:
    """Why the flow's conditions cannot read ``ind``'s reports: one sentence per name that is no field, not
    one value, or a personal field. Empty for a flow that reads no report field."""
    if not defn.report_reads:
        return []
    index = NameIndex(ind.fields)
    found = []
    for read in defn.report_reads:
        written = f"{REPORT_NAMESPACE}.{read.name}"
        where = f"{read.label} 的条件读取报表字段「{written}」"
        rows = index.row_names.get(read.name)
        if read.name not in ind.fields and not index.by_name.get(read.name) and rows:
            found.append(f"{where}，但「{read.name}」是重复表的行字段（{'、'.join(rows)}），每行一个值："
                         "网关条件只能读取报表中的单个值")
            continue
        try:
            spec = ind.fields[index.resolve(read.name)]
        except NameProblem as err:
            found.append(f"{where}：{err}")
            continue
        if spec.kind == "array":
            found.append(f"{where}，但它是重复表「{spec.title}」（多行），不是单个值："
                         "网关条件只能读取报表中的单个值")
        elif spec.is_container:
            found.append(f"{where}，但它是{CONTAINER_NAMES.get(spec.kind, '分组')}「{spec.title}」，"
                         "不是单个值：请写其中的字段")
        elif spec.array_key:
            found.append(f"{where}，但它是重复表「{ind.fields[spec.array_key].title}」的一列（每行一个值），"
                         "不是单个值：网关条件只能读取报表中的单个值")
        elif spec.sensitive:
            found.append(f"{where}，但「{spec.title}」是敏感字段（{_sensitivity(spec.sensitive)}）：流程走向"
                         "每个经办人都看得到，按它分流会让无权查看的人推知它的值")
    return found


def check_report_fields(defn: ProcessDefinition, ind: IndicatorSet) -> None:
    """Refuse (BadInput on the process version) a launch whose flow reads report fields ``ind`` lacks."""
    problems = report_field_problems(defn, ind)
    if problems:
        raise BadInput(
            f"审批流程 {defn.code} 第 {defn.version} 版的网关条件与指标集「{ind.title}」（{ind.code} 第 "
            f"{ind.version} 版）不符：" + "；".join(problems)
            + "。请选择与该指标集相符的流程版本，或在新的流程版本中改正条件",
            data_path="process_version_id",
            details={"report_fields": [f"{REPORT_NAMESPACE}.{r.name}" for r in defn.report_reads]},
        )


def report_scope(ind: IndicatorSet, data: Any) -> Scope:
    """What a step's conditions read as ``report.<name>``: the report as stored (submitted and cleaned),
    its names resolved as the set's rules resolve them. A blank value reads as missing (None)."""
    return ind.scope(data if isinstance(data, Mapping) else {})


def report_values(defn: ProcessDefinition, report: Scope | None) -> dict[str, Any] | None:
    """The values a step of ``defn`` can read from ``report``: what, beside the state and the payload,
    decides where the step goes (part of its memo key, ``engine.transitions.step_key``)."""
    if report is None:
        return None
    return {name: report.lookup(name) for name in sorted(defn.report_fields)}
