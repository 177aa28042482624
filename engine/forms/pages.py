"""Pages: one per section (and per top-level grid or repeat); top-level simple fields share page 1."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

BASIC_PAGE_TITLE = "基本信息"


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as shown to the user ("第 2 / 6 页")
    id: str  # "basic" for the page of top-level fields, else the section's key
    title: str
    specs: tuple[Any, ...]  # top-level FieldSpecs shown on this page

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(spec.key for spec in self.specs)


@lru_cache(maxsize=256)
def _pages(ind: Any) -> tuple[Page, ...]:
    simple = tuple(s for s in ind.sections if not s.is_container)
    groups: list[tuple[str, str, tuple[Any, ...]]] = [("basic", BASIC_PAGE_TITLE, simple)] if simple else []
    groups += [(s.key, s.title, (s,)) for s in ind.sections if s.is_container]
    return tuple(Page(i, page_id, title, specs) for i, (page_id, title, specs) in enumerate(groups, start=1))


def pages(ind: Any) -> list[Page]:
    return list(_pages(ind))


def page_for(ind: Any, number_or_id: int | str) -> Page:
    """A page by number (1-based) or id; the first page when out of range (a stale link still works)."""
    all_pages = _pages(ind)
    for page in all_pages:
        if number_or_id in (page.number, page.id):
            return page
    return all_pages[0]


def page_of_path(ind: Any, data_path: str | None) -> Page:
    """The page that shows ``data_path`` (first page for document-level problems)."""
    top = (data_path or "").split(".")[0]
    return next((p for p in _pages(ind) if any(s.name == top for s in p.specs)), _pages(ind)[0])


def page_fields(form: Any, page: Page) -> list[Any]:
    """The bound top-level fields of ``form`` that ``page`` shows."""
    return [form[spec.name] for spec in page.specs]
