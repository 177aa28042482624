"""Form data <-> documents.

``formdata_for`` turns a stored document into the strings a browser would post, and every form is built
from such formdata (GET and POST alike), so a value the user typed that is not valid — "12a" in an
integer field — is shown back exactly as typed. ``form_to_data`` reads posted strings back into a typed
document: blank means absent, rows keep their order, a blank row stays (as ``{}``) until it is deleted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms.fields import FieldList, FormField
from wtforms.form import BaseForm

from engine.forms.classes import form_class_for, page_form_class
from engine.forms.names import EXPLAIN
from engine.forms.pages import Page
from engine.validation.coercion import BLANK, coerce_value, option_text
from engine.validation.messages import number_text


def _leaf_text(value: Any) -> str:
    if isinstance(value, bool):
        return option_text(value)
    if isinstance(value, int | float):
        return number_text(value)
    return str(value)


def formdata_for(ind: Any, data: dict[str, Any] | None, *, page: Page | None = None) -> MultiDict:
    """With ``page``, only that page's fields."""
    return MultiDict(list(_emit(ind.sections if page is None else page.specs, data or {}, "")))


def _emit(specs: tuple[Any, ...], obj: Any, prefix: str) -> Iterator[tuple[str, str]]:
    obj = obj if isinstance(obj, dict) else {}
    for spec in specs:
        name, value = f"{prefix}{spec.name}", obj.get(spec.name)
        if spec.kind == "array":
            for i, row in enumerate(value if isinstance(value, list) else []):
                pairs = list(_emit(spec.children, row, f"{name}-{i}-"))
                # a blank row must still post something, or it would vanish on the way back
                yield from pairs or [(f"{name}-{i}-{_first_leaf(spec.children)}", "")]
        elif spec.is_container:
            yield from _emit(spec.children, value, f"{name}-")
        elif spec.multiple and isinstance(value, list):  # one pair per ticked box, as a browser posts them
            yield from ((name, _leaf_text(v)) for v in value)
        elif value is not None:
            yield name, _leaf_text(value)


def _first_leaf(specs: tuple[Any, ...]) -> str:
    spec = specs[0]
    return spec.name if not spec.is_container else f"{spec.name}-{_first_leaf(spec.children)}"


def form_for(ind: Any, data: dict[str, Any] | None = None, formdata: Any = None, *, page: Page | None = None) -> Any:
    """A form instance showing ``data`` (or posted ``formdata``); with ``page``, only that page's fields."""
    cls = form_class_for(ind) if page is None else page_form_class(ind, page)
    return cls(formdata=formdata if formdata is not None else formdata_for(ind, data, page=page))


def _raw(form: Any) -> MultiDict:
    pairs: list[tuple[str, str]] = []

    def walk(fields: Any) -> None:
        for field in fields:
            if isinstance(field, FieldList):
                for entry in field.entries:
                    walk(entry.form)
            elif isinstance(field, FormField):
                walk(field.form)
            else:
                pairs.extend((field.name, v) for v in (field.raw_data or []))

    walk(form)
    return MultiDict(pairs)


def form_to_data(ind: Any, source: Any, *, page: Page | None = None) -> dict[str, Any]:
    """The typed document posted in ``source`` (a form, or request.form-like formdata).

    With ``page``, only that page's fields are read (each page posts only its own fields).
    Calculated and filled (``x-fill``) fields are never read: the server computes or sets them.
    """
    formdata = _raw(source) if isinstance(source, BaseForm) else source
    specs = ind.sections if page is None else page.specs
    return _read(specs, formdata, "", list(formdata.keys()))


def _row_indices(keys: list[str], name: str) -> list[int]:
    pattern = re.compile(re.escape(name) + r"-(\d+)-")
    return sorted({int(m.group(1)) for k in keys if (m := pattern.match(k))})


def _read(specs: tuple[Any, ...], formdata: Any, prefix: str, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        name = f"{prefix}{spec.name}"
        if spec.kind == "array":
            out[spec.name] = [_read(spec.children, formdata, f"{name}-{i}-", keys) for i in _row_indices(keys, name)]
        elif spec.is_container:
            value = _read(spec.children, formdata, f"{name}-", keys)
            if value:
                out[spec.name] = value
        elif not spec.calculate and not spec.fill and name in formdata:
            posted = formdata.getlist(name)
            value = coerce_value(spec, posted if spec.multiple else posted[0])
            if value is not BLANK:
                out[spec.name] = value
    return out


def update_from_page(ind: Any, data: dict[str, Any] | None, page: Page, formdata: Any) -> dict[str, Any]:
    """``data`` with ``page``'s fields replaced by what was posted (a cleared field is removed)."""
    updated = copy.deepcopy(data or {})
    posted = form_to_data(ind, formdata, page=page)
    for spec in page.specs:
        if spec.name in posted:
            updated[spec.name] = posted[spec.name]
        else:
            updated.pop(spec.name, None)
    return updated


def explanations_from(formdata: Any, previous: dict[str, str] | None = None) -> dict[str, str]:
    """Soft-rule explanations posted as ``explain__<rule_id>`` merged over ``previous``."""
    merged = dict(previous or {})
    for key in formdata.keys():
        if key.startswith(EXPLAIN):
            text = str(formdata.get(key) or "").strip()
            rule_id = key[len(EXPLAIN) :]
            if text:
                merged[rule_id] = text
            else:
                merged.pop(rule_id, None)
    return merged
