"""Approval flows: BPMN definitions checked and run by SpiffWorkflow with a safe script engine.

See docs/processes.md for what a definition may contain and docs/architecture.md for the contracts.
"""

from engine.workflows.definition import (
    ProcessDefinition,
    ReportRead,
    UserTaskInfo,
    check_process_definition,
    load_process_definition,
    load_process_directory,
    load_process_file,
)
from engine.workflows.errors import WorkflowError
from engine.workflows.runtime import (
    FiredTimer,
    ReadyTask,
    complete,
    dump_state,
    fire_due_timers,
    is_finished,
    load_state,
    next_timer,
    outcome,
    ready_tasks,
    start,
    state_definition_key,
    task_data,
)
from engine.workflows.script_engine import SAFE_ENGINE, SafeScriptEngine

__all__ = [
    "SAFE_ENGINE",
    "FiredTimer",
    "ProcessDefinition",
    "ReadyTask",
    "ReportRead",
    "SafeScriptEngine",
    "UserTaskInfo",
    "WorkflowError",
    "check_process_definition",
    "complete",
    "dump_state",
    "fire_due_timers",
    "is_finished",
    "load_process_definition",
    "load_process_directory",
    "load_process_file",
    "load_state",
    "next_timer",
    "outcome",
    "ready_tasks",
    "start",
    "state_definition_key",
    "task_data",
]
