"""The names a process definition may use: task kinds, decision variables, extension properties.

These tables are the contract between BPMN authors, the checker and the runtime; docs/processes.md
explains them to modellers.
"""

from __future__ import annotations

from types import MappingProxyType

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# spiffworkflow:property names read from a task's extensionElements.
KIND_PROPERTY = "kind"  # user tasks: one of TASK_KINDS
DUE_PROPERTY = "due"  # user tasks: ISO 8601 duration from the moment the task becomes ready
OUTCOME_PROPERTY = "outcome"  # end events: what reaching this end means (e.g. "approved")

# What a user task asks of a person (the payload handler is chosen by kind, see payloads.py).
TASK_KINDS = MappingProxyType(
    {
        "entry": "填报（填写或修改本次采集的指标表）",
        "review": "审核（通过或退回，附审核意见和逐项意见）",
    }
)

# Variables the runtime sets when a review task completes; with the report's fields (REPORT_NAMESPACE),
# the only names a gateway condition may use.
# They are cleared whenever a user task completes or becomes ready again, so a value from an earlier
# round can never decide a later gateway.
DECISION_VARIABLES = MappingProxyType(
    {
        "decision": '最近一次审核的结论："approve"（通过）或 "return"（退回）',
        "comment": "最近一次审核的意见（文本）",
    }
)

DECISIONS = MappingProxyType({"approve": "通过", "return": "退回"})

# A gateway condition reads the report it routes through this namespace: ``report.pop_total`` (a field
# name as the indicator set's rules write it: a bare name unique in the set, or a full dotted key). The
# flow is published on its own, so the names after it are checked against the indicator set when a
# collection is launched with it (engine.flow_fields); the report is handed to the step, never stored
# in the workflow's state.
REPORT_NAMESPACE = "report"

# What reaching an end event means (its `outcome` property). Only one ending exists: approval. A return
# is a flow back to the entry task, never an end, and the runtime counts a report final only when its
# flow ended on APPROVED.
APPROVED = "approved"
OUTCOMES = MappingProxyType({APPROVED: "审核通过（终审通过，计入汇总）"})
