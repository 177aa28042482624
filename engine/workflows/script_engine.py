"""SpiffWorkflow's script engine with eval/exec removed.

SpiffWorkflow sends every Python-ish string in a definition (gateway conditions, timer bodies,
multi-instance expressions, completion conditions, message correlations) through
``workflow.script_engine.evaluate`` or ``workflow.script_engine.environment.evaluate``; the stock
``TaskDataEnvironment`` hands them to ``eval`` and scripts to ``exec`` (reference §1.7: every
whitelist variant tried there reached the OS). Here both entry points evaluate the engine's own
expression language, which has no attribute access, no imports and only whitelisted functions.
Scripts and service calls are refused outright; the checker refuses definitions that contain them,
this is the second line of defence if one is forced through.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import GrassrootsError
from engine.expressions import EvaluationError, RowScope, Scope, compile_expression
from engine.expressions.scope import walk_path
from engine.workflows.errors import WorkflowError
from engine.workflows.vocabulary import REPORT_NAMESPACE

SCRIPTS_REFUSED = (
    "本系统不执行脚本（脚本任务、preScript/postScript、服务任务）：流程中只能使用表达式语言写条件"
)


REPORT_PREFIX = REPORT_NAMESPACE + "."


class ConditionScope:
    """What a condition sees: the task data (decision variables), and ``report.<name>`` read from the report
    handed to this step (``report``: the indicator set's scope over it, which resolves a bare unique field
    name or a full key as rules do). Without a report, reading one is an error, never a silent blank."""

    __slots__ = ("data", "report")

    def __init__(self, data: Mapping[str, Any], report: Scope | None = None) -> None:
        self.data = data
        self.report = report

    def lookup(self, name: str) -> Any:
        if name.startswith(REPORT_PREFIX):
            if self.report is None:
                raise EvaluationError(f"条件读取报表字段「{name}」，但这一步没有提供报表", details={"name": name})
            return self.report.lookup(name[len(REPORT_PREFIX):])
        return walk_path(self.data, name.split("."))

    def row(self, row: Mapping[str, Any]) -> Scope:
        return RowScope(row, self)


def evaluate_expression(source: str, data: Mapping[str, Any], report: Scope | None = None) -> Any:
    """Evaluate ``source`` in the expression language against ``data`` (and ``report`` for its
    ``report.<name>`` fields); any failure is a WorkflowError."""
    try:
        return compile_expression(source).evaluate(ConditionScope(data, report))
    except GrassrootsError as err:
        raise WorkflowError(
            f"表达式「{source}」无法求值：{err.message}", details={"expression": source}
        ) from err


class ExpressionEnvironment(BasePythonScriptEngineEnvironment):
    """Environment whose evaluate uses the expression language and whose execute refuses."""

    def __init__(self, report: Scope | None = None) -> None:
        super().__init__({})  # no globals: nothing callable leaks into task data
        self.report = report

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        data = ChainMap(dict(context), dict(external_context or {}))  # task data wins, as in Spiff
        return evaluate_expression(expression, data, self.report)

    def execute(self, script: str, context: Any, external_context: Any = None) -> bool:
        raise WorkflowError(SCRIPTS_REFUSED, details={"script": script})

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise WorkflowError(SCRIPTS_REFUSED, details={"service": str(kwargs.get("operation_name", ""))})


class SafeScriptEngine(PythonScriptEngine):
    """The only script engine the runtime installs on a workflow (it is not serialized: set on load).

    ``report``: the report a step's conditions may read (``report.<name>``). The shared ``SAFE_ENGINE`` has
    none; a step of a flow whose conditions read the report gets an engine of its own for that step
    (``runtime.complete``), so the report is never copied into the task data and stored with the state."""

    def __init__(self, report: Scope | None = None) -> None:
        super().__init__(environment=ExpressionEnvironment(report))

    def validate(self, expression: str) -> None:
        try:
            compile_expression(expression)
        except GrassrootsError as err:
            raise WorkflowError(f"表达式「{expression}」不合法：{err.message}") from err

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        # Overridden so the Chinese WorkflowError is not re-wrapped into an English WorkflowTaskException.
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except WorkflowError as err:
            err.details.setdefault("bpmn_id", task.task_spec.bpmn_id)
            raise

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        raise WorkflowError(SCRIPTS_REFUSED, details={"bpmn_id": task.task_spec.bpmn_id, "script": script})

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise WorkflowError(SCRIPTS_REFUSED, details={"bpmn_id": task.task_spec.bpmn_id})


SAFE_ENGINE = SafeScriptEngine()  # stateless, shared by every workflow
