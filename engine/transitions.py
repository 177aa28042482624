"""Reusing workflow steps: the same step from the same state gives the same next state.

Every report of a collection walks the same path (entry -> township review -> county review -> end):
35,065 villages make the same few steps from the same few states. Running SpiffWorkflow for each
(deserialise, complete, serialise: ~40 % of an approval) recomputes one answer, so a step's result is
remembered under

    (process version, digest of the state before, task id, payload, acting role, minute,
     the report values the flow's gateway conditions read: none for most flows)

The state records the acting role, not the person (``engine.tasks`` passes the task's role as the
actor); who acted is the task row's ``completed_by`` and the audit log, so states do not multiply by
the number of clerks and reviewers.

and later identical steps take the stored result instead of running the engine. The state is a pure
function of those inputs except for clock readings SpiffWorkflow writes into it (when a task became
ready, so a review's ``due`` date; when a deadline timer was armed); the minute in the key bounds how
stale those can be: a reused state's times are at most a minute older than a fresh run's.

States are named by digest (BLAKE2b of the canonical JSON): ``workflow_states`` stores each distinct
state once and an instance row holds only the digest of its current one, so a hit never reads, hashes
or writes a state. Results are shared, never mutated: ``load_state`` does not modify its input, and a
new step always produces a new dict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.workflows import (
    ProcessDefinition,
    ReadyTask,
    dump_state,
    is_finished,
    next_timer,
    outcome,
    ready_tasks,
)
from engine.workflows.vocabulary import APPROVED

MEMO_SIZE = 256  # entries; a state is ~5-10 KB of JSON, so a worker holds at most a few MiB


@dataclass(frozen=True)
class Transition:
    """An instance's state after a step, with what the indexed columns need from it."""

    state: dict[str, Any]
    digest: str
    finished: bool
    next_timer: dt.datetime | None
    ready: tuple[ReadyTask, ...]
    outcome: str | None = None  # the outcome of the end event a finished flow reached

    @property
    def final(self) -> bool:
        """The flow ended approved: the report is final. Finished any other way (only a version published
        before the checker required every ending to approve can) is not."""
        return self.finished and self.outcome == APPROVED


def state_digest(state: Mapping[str, Any]) -> str:
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def observe(definition: ProcessDefinition, workflow: BpmnWorkflow) -> Transition:
    """Serialise a just-stepped workflow and read off its ready tasks, timer and end."""
    state = dump_state(definition, workflow)
    return Transition(
        state, state_digest(state), is_finished(workflow), next_timer(workflow), tuple(ready_tasks(definition, workflow)),
        outcome(definition, workflow),
    )


Key = tuple[int, str, str, str, str, int, str]


def step_key(process_version_id: int, digest: str, task_id: str, payload: Mapping[str, Any],
             actor: str, now: dt.datetime, report: Mapping[str, Any] | None = None) -> Key | None:
    """The memo key of a step, or None when it must not be reused (a payload that is not JSON).

    ``report``: for a flow whose gateway conditions read the report, the values they can read
    (``engine.flow_fields.report_values``); the same step from the same state goes elsewhere for a small
    village than for a large one."""
    try:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        read = "" if report is None else json.dumps(report, sort_keys=True, separators=(",", ":"),
                                                    ensure_ascii=False)
    except (TypeError, ValueError):
        return None  # not JSON: the engine will refuse it with a proper message
    return (process_version_id, digest, task_id, canonical, actor, int(now.timestamp()) // 60, read)


class TransitionMemo:
    """A small thread-safe LRU of step results (one per process: gunicorn threads share it)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Key, Transition] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Key | None) -> Transition | None:
        if key is None:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Key | None, transition: Transition) -> None:
        if key is None:
            return
        with self._lock:
            self._items[key] = transition
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


MEMO = TransitionMemo()
