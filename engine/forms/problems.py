"""Putting validation problems on their fields: errors into ``field.errors``, soft warnings into
``field.warnings``. Problems that have no field of their own (document-level, a whole section) are
returned, for the page's summary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields import FieldList, FormField
from wtforms.form import BaseForm

from engine.errors import Problem


def find_field(form: Any, data_path: str | None) -> Any:
    """The bound field for a data path (``elders.2.id_number``), or None."""
    if not data_path:
        return None
    node: Any = form
    for part in data_path.split("."):
        if isinstance(node, FieldList):
            node = node.entries[int(part)] if part.isdigit() and int(part) < len(node.entries) else None
        elif isinstance(node, FormField | BaseForm):
            node = (node.form if isinstance(node, FormField) else node)._fields.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def attach_problems(form: Any, problems: Iterable[Problem]) -> list[Problem]:
    """Attach each problem's Chinese message to its field; return those without a field."""
    unplaced: list[Problem] = []
    for problem in problems:
        field = find_field(form, problem.data_path)
        if field is None or isinstance(field, FormField):
            unplaced.append(problem)  # no field, or a whole section (its errors are its fields' errors)
            continue
        if problem.severity == "hard":
            field.errors = [*field.errors, problem.message]
        else:
            field.warnings = [*getattr(field, "warnings", []), problem.message]
    return unplaced
