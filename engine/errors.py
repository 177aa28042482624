"""One exception root for the engine.

Every engine error can carry two addresses:
- ``data_path``: where in the submitted data (a dotted key such as ``population.pop_total``
  or ``elders.2.id_number``), so a form can show the message on its field;
- ``definition``: where in the definition (file + JSON pointer, or file + BPMN element id).

Messages are Chinese because they reach users. HTTP status mapping lives only in the web layer
(``web/errors.py``), keyed by ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DefinitionRef:
    """A place in a definition: a file plus a JSON pointer (indicator sets) or element id (BPMN)."""

    file: str
    pointer: str = ""
    element_id: str | None = None

    def __str__(self) -> str:
        where = self.element_id if self.element_id else (self.pointer or "/")
        return f"{self.file}#{where}"


@dataclass(frozen=True)
class Problem:
    """One finding: an error in a definition, or a field error in submitted data."""

    message: str
    data_path: str | None = None
    definition: DefinitionRef | None = None
    code: str = "invalid"
    severity: str = "hard"  # "hard" blocks; "soft" needs an explanation
    rule_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "data_path": self.data_path,
            "definition": str(self.definition) if self.definition else None,
            "severity": self.severity,
            "rule_id": self.rule_id,
        }


class GrassrootsError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        data_path: str | None = None,
        definition: DefinitionRef | None = None,
        problems: list[Problem] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data_path = data_path
        self.definition = definition
        self.problems: list[Problem] = list(problems or [])
        self.details: dict[str, Any] = dict(details or {})

    def to_json(self) -> dict[str, Any]:
        details = dict(self.details)
        if self.problems:
            details["problems"] = [p.to_json() for p in self.problems]
        if self.data_path:
            details["data_path"] = self.data_path
        if self.definition:
            details["definition"] = str(self.definition)
        return {"code": self.code, "message": self.message, "details": details}


class DefinitionError(GrassrootsError):
    """A definition (indicator set or BPMN) is invalid; ``problems`` lists every finding."""

    code = "definition_invalid"


class ExpressionError(DefinitionError):
    """An expression does not parse, uses something forbidden, or names an unknown field."""

    code = "expression_invalid"


class ValidationFailed(GrassrootsError):
    """Submitted data breaks the schema or a hard rule; ``problems`` has one entry per field error."""

    code = "validation_failed"


class NotFound(GrassrootsError):
    code = "not_found"


class Unauthenticated(GrassrootsError):
    """No valid session or token."""

    code = "unauthenticated"


class TokenExpired(Unauthenticated):
    """An API token past its expiry: the client is told so, not just "unknown"."""

    code = "token_expired"


class PermissionDenied(GrassrootsError):
    code = "forbidden"


class Conflict(GrassrootsError):
    """A stale revision, a task already completed, or a version clash."""

    code = "conflict"


class RevisionMoved(Conflict):
    """The report was saved by someone else since the user opened the revision they edited."""

    def __init__(self, current: int, edited: int) -> None:
        # a revision ahead of the stored one was never read from the server (a client's own counter)
        why = (f"此表已被他人修改（当前第 {current} 版，您编辑的是第 {edited} 版）" if edited < current else
               f"您提交的版本号 {edited} 不存在（此表当前是第 {current} 版）")
        super().__init__(
            f"{why}。为避免覆盖，本次保存未生效：请复制您的修改，刷新后再保存。",
            details={"current_revision": current, "your_revision": edited},
        )


class BadInput(GrassrootsError):
    code = "bad_input"


@dataclass
class ProblemList:
    """Collects problems while checking; raise once at the end so the user sees all of them."""

    items: list[Problem] = field(default_factory=list)

    def add(self, message: str, **kw: Any) -> None:
        self.items.append(Problem(message, **kw))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, cls: type[GrassrootsError] = DefinitionError, summary: str = "定义有错误") -> None:
        if self.items:
            raise cls(f"{summary}（{len(self.items)} 处）", problems=list(self.items))
