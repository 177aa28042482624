"""The workflow runtime's own error: a flow cannot proceed (refused script, failed condition, bad state)."""

from __future__ import annotations

from typing import Any

from engine.errors import GrassrootsError


class WorkflowError(GrassrootsError):
    """A running approval flow hit something it must not do or cannot do; the message is Chinese."""

    code = "workflow_error"


# SpiffWorkflow's English when a running flow cannot go on (the start of its message) -> the same in
# Chinese; {element} is the element's name and id. Users never see the library's text.
ENGINE_FAILURES: tuple[tuple[str, str], ...] = (
    ("No conditions satisfied", "排他网关{element}的出口条件都不成立，且没有默认连线"),
    ("Split at", "汇合网关{element}等待的分支没有到达"),
    ("Split task", "汇合网关{element}等待的分支没有到达"),
    ("No main task found", "边界事件所在的任务{element}找不到"),
    ("A default output is required", "排他网关{element}没有默认连线"),
    ("Missing data input", "任务{element}缺少所需的数据"),
    ("Missing data ouput", "任务{element}缺少应产生的数据"),
)
UNKNOWN_FAILURE = "流程运行到{element}时出错（流程引擎内部错误）"
FAILURE_ADVICE = "，流程无法继续。所用流程版本的设计有误，请联系管理员"


def _spec_of(err: Exception) -> Any:
    task = getattr(err, "task", None)
    return task.task_spec if task is not None else getattr(err, "task_spec", None)


def element_of(err: Exception) -> tuple[str | None, str]:
    """(BPMN id, label for a sentence) of the element a SpiffWorkflow error is about."""
    spec = _spec_of(err)
    bpmn_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    name = getattr(spec, "bpmn_name", None)
    label = f"「{name}」({bpmn_id})" if name else f"「{bpmn_id}」" if bpmn_id else "某个环节"
    return bpmn_id, label


def engine_failure(err: Exception) -> WorkflowError:
    """SpiffWorkflow's refusal to go on, as a WorkflowError users can read: what happened, at which element."""
    bpmn_id, label = element_of(err)
    text = str(err.args[0]) if err.args else ""  # str(err) appends the library's notes
    template = next((zh for en, zh in ENGINE_FAILURES if text.startswith(en)), UNKNOWN_FAILURE)
    return WorkflowError(template.format(element=label) + FAILURE_ADVICE, details={"bpmn_id": bpmn_id})
