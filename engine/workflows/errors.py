"""The workflow runtime's own error: a flow cannot proceed (refused script, failed condition, bad state)."""

from __future__ import annotations

from engine.errors import GrassrootsError


class WorkflowError(GrassrootsError):
    """A running approval flow hit something it must not do or cannot do; the message is Chinese."""

    code = "workflow_error"
