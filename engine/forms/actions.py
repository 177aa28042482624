"""Row actions without JavaScript: submit buttons named ``__add__<array path>`` and
``__remove__<array path>__<index>`` (``__refresh__`` re-renders after an answer that shows/hides fields).

The server handles them with ``apply_row_action`` and re-renders the page; everything already typed is
kept, because the whole page is posted along with the button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.forms.data import form_to_data, update_from_page
from engine.forms.names import ADD, REFRESH, REMOVE, html_name
from engine.forms.pages import Page

_REMOVE = re.compile(re.escape(REMOVE) + r"(.+)__(\d+)")


@dataclass(frozen=True)
class RowAction:
    kind: str  # "add" | "remove" | "refresh"
    path: str | None = None  # data path of the array ("elders", "household.members", "tasks.0.steps")
    index: int | None = None  # row removed


def find_action(formdata: Any) -> RowAction | None:
    for key in formdata.keys():
        if key.startswith(ADD):
            return RowAction("add", key[len(ADD) :])
        if (match := _REMOVE.fullmatch(key)) is not None:
            return RowAction("remove", match.group(1), int(match.group(2)))
        if key == REFRESH:
            return RowAction("refresh")
    return None


def _without_row(formdata: Any, action: RowAction) -> MultiDict:
    prefix = f"{html_name(action.path or '')}-{action.index}-"
    return MultiDict([(k, v) for k, v in formdata.items(multi=True) if not k.startswith(prefix)])


def _rows_at(data: dict[str, Any], path: str) -> list[Any] | None:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else (
            node.setdefault(part, {}) if isinstance(node, dict) else None
        )
        if node is None:
            return None
    if not isinstance(node, dict):
        return None
    rows = node.setdefault(parts[-1], [])
    return rows if isinstance(rows, list) else None


def apply_row_action(
    ind: Any, formdata: Any, *, data: dict[str, Any] | None = None, page: Page | None = None
) -> tuple[dict[str, Any], RowAction | None]:
    """The posted document with the pressed row button applied, and the action (None: no row button).

    With ``data`` and ``page``, the posted page is merged into ``data`` (multi-page forms); otherwise the
    whole form is read from ``formdata``.
    """
    action = find_action(formdata)
    if action is not None and action.kind == "remove":
        formdata = _without_row(formdata, action)
    if data is not None and page is not None:
        result = update_from_page(ind, data, page, formdata)
    else:
        result = form_to_data(ind, formdata, page=page)
    if action is not None and action.kind == "add" and action.path:
        rows = _rows_at(result, action.path)
        if rows is not None:
            rows.append({})
    return result, action


@dataclass(frozen=True)
class Navigation:
    kind: str  # "prev" | "next" | "goto" | "save" | "submit" | "row" (a row/refresh button: stay)
    page: int  # the page to show next (1-based)


NAV_STEPS = {"__prev__": ("prev", -1), "__next__": ("next", 1), "__save__": ("save", 0), "__submit__": ("submit", 0)}


def navigation(formdata: Any, *, current: int, total: int) -> Navigation:
    """Which page button was pressed (the macros' __prev__/__next__/__goto__/__save__/__submit__).
    Every button saves the posted page first; a page number out of range stays on the current page."""
    if "__goto__" in formdata:
        target = str(formdata.get("__goto__") or "")
        wanted = int(target) if target.isdigit() else current
        return Navigation("goto", wanted if 1 <= wanted <= total else current)
    for button, (kind, step) in NAV_STEPS.items():
        if button in formdata:
            return Navigation(kind, min(max(current + step, 1), total))
    return Navigation("row", current)
