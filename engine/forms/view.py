"""Everything the page macro needs, computed on the server: the form built from the cleaned document
(calculated values filled in, hidden fields known), problems on their fields, soft-rule warnings with
their explanations, grid totals, and the ARIA attributes that link each input to its help and errors.

```python
view = page_view(ind, data, 2, result=result, explanations=explanations)
{{ forms.render_form(view, action=url, csrf_token=csrf_token()) }}
```
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.definitions.fill import FILL_SOURCES
from engine.errors import Problem
from engine.forms.data import form_for
from engine.forms.grids import GridTotals, grid_options, grid_totals
from engine.forms.names import add_button, data_path_for, explain_name, remove_button
from engine.forms.pages import Page, page_fields, page_for, page_of_path, pages
from engine.forms.problems import attach_problems
from engine.validation.cleaning import clean, referenced_keys
from engine.validation.paths import is_hidden


@dataclass(frozen=True)
class WarningItem:
    problem: Problem
    name: str  # textarea name: explain__<rule_id>
    explanation: str
    count: int  # rows (or 1) where the soft rule failed


@dataclass
class PageView:
    ind: Any
    form: Any  # a form of this page's fields only (page_form_class)
    page: Page
    pages: list[Page]
    data: dict[str, Any]
    hidden: frozenset[str]
    summary: list[Problem] = field(default_factory=list)  # errors on this page without a field of their own
    warnings: list[WarningItem] = field(default_factory=list)
    error_pages: dict[int, int] = field(default_factory=dict)  # page number -> error count
    refresh_keys: frozenset[str] = frozenset()

    @property
    def number(self) -> int:
        return self.page.number

    @property
    def total(self) -> int:
        return len(self.pages)

    @property
    def fields(self) -> list[Any]:
        return page_fields(self.form, self.page)

    def path(self, bound: Any) -> str:
        return data_path_for(bound.name)

    def shown(self, bound: Any) -> bool:
        return not is_hidden(self.path(bound), self.hidden)

    def attrs(self, bound: Any, **extra: Any) -> dict[str, Any]:
        """ARIA and behaviour attributes for an input (or each radio of a group)."""
        described = [f"{bound.id}-fill"] if bound.spec.fill else []
        described += [f"{bound.id}-help"] if bound.description else []
        described += [f"{bound.id}-error"] if bound.errors else []
        described += [f"{bound.id}-warning"] if getattr(bound, "warnings", None) else []
        attrs: dict[str, Any] = dict(extra)
        if described:
            attrs["aria-describedby"] = " ".join(described)
        if bound.errors:
            attrs["aria-invalid"] = "true"
        if bound.spec.key in self.refresh_keys:
            attrs["data-refresh"] = "1"
        return attrs

    def required(self, bound: Any) -> bool:
        return bool(bound.spec.required and not bound.spec.calculate and not bound.spec.fill)

    def fill_hint(self, bound: Any) -> str:
        """Where a filled field's value comes from ("由系统按本单位填写"); empty for other fields."""
        source = FILL_SOURCES.get(bound.spec.fill or "")
        return source.hint if source else ""

    def grid(self, bound: Any) -> dict[str, Any]:
        grid = bound.spec
        totals: GridTotals = grid_totals(grid, self.data)
        columns = grid.children[0].children if grid.children else ()
        return {**grid_options(grid), "totals": totals, "columns": columns}

    def add_name(self, rows: Any) -> str:
        return add_button(self.path(rows))

    def remove_name(self, rows: Any, entry: Any) -> str:
        return remove_button(self.path(rows), int(entry.name.rsplit("-", 1)[1]))


@lru_cache(maxsize=256)
def _refresh_keys(ind: Any) -> frozenset[str]:
    """Fields that other fields' relevance reads: changing one re-renders the page (forms.js)."""
    keys: set[str] = set()
    for spec in ind.fields.values():
        if spec.relevant:
            keys |= referenced_keys(ind, spec.relevant, spec.array_key)
    return frozenset(keys)


def _warnings(ind: Any, page: Page, problems: list[Problem], explanations: dict[str, str]) -> list[WarningItem]:
    counts = Counter(p.rule_id for p in problems)
    items: dict[str, WarningItem] = {}
    for problem in problems:
        if problem.rule_id not in items and page_of_path(ind, problem.data_path) == page:
            rule_id = problem.rule_id or ""
            items[rule_id] = WarningItem(problem, explain_name(rule_id), explanations.get(rule_id, ""), counts[rule_id])
    return list(items.values())


def page_view(
    ind: Any,
    data: dict[str, Any] | None,
    number: int | str = 1,
    *,
    result: Any = None,
    explanations: dict[str, str] | None = None,
) -> PageView:
    """The view of page ``number`` (1-based, or a page id) for ``data``; ``result`` (from
    validate_submission) puts its errors and warnings on the fields."""
    cleaned = clean(ind, data or {}) if result is None else result
    page = page_for(ind, number)
    form = form_for(ind, cleaned.data, page=page)  # the page's fields only
    errors = list(result.errors) if result is not None else []
    warnings = list(result.warnings) if result is not None else []
    here = [p for p in errors + warnings if page_of_path(ind, p.data_path) == page]
    unplaced = attach_problems(form, here)
    return PageView(
        ind=ind,
        form=form,
        page=page,
        pages=pages(ind),
        data=cleaned.data,
        hidden=cleaned.hidden,
        summary=[p for p in unplaced if p.severity == "hard"],
        warnings=_warnings(ind, page, warnings, explanations or {}),
        error_pages=dict(Counter(page_of_path(ind, p.data_path).number for p in errors)),
        refresh_keys=_refresh_keys(ind),
    )


def first_error_page(ind: Any, result: Any) -> int:
    """The page to show after a failed submission: the first with an error or unexplained warning."""
    problems = list(result.errors) + list(getattr(result, "unexplained", []))
    return min((page_of_path(ind, p.data_path).number for p in problems), default=1)

