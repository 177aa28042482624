"""One WTForms class per definition version (and one per page of it), built once with ``type()`` and cached.

The cache key is (code, version, content_hash[, page number]): a class is never changed per request
(per-request state — errors, warnings, hidden fields — lives on the form instance or the page view).
"""

from __future__ import annotations

import threading
from typing import Any

from wtforms import Form

from engine.forms.fields import BUILDERS


class GeneratedForm(Form):
    """Base of every generated form. CSRF is the web layer's (Flask-WTF CSRFProtect)."""

    class Meta:
        locales = ("zh_CN", "zh")  # WTForms' own messages, if any ever show, are Chinese

    _ind: Any = None
    _spec: Any = None  # the section/array/grid this (sub)form stands for; None for the root


_cache: dict[tuple[Any, ...], type[GeneratedForm]] = {}
_lock = threading.Lock()


def form_class_for(ind: Any) -> type[GeneratedForm]:
    key = (ind.code, ind.version, ind.content_hash)
    with _lock:
        cls = _cache.get(key)
        if cls is None:
            cls = _cache[key] = _build(ind, None, ind.sections)
        return cls


def page_form_class(ind: Any, page: Any) -> type[GeneratedForm]:
    """Only ``page``'s top-level fields, with the same HTML names as in the whole form: a fill page
    shows one section, and binding every field of a 180-field form per request cost more than the rest
    of the form work together."""
    key = (ind.code, ind.version, ind.content_hash, page.number)
    with _lock:
        cls = _cache.get(key)
        if cls is None:
            cls = _cache[key] = _build(ind, None, page.specs, suffix=f"page{page.number}")
        return cls


def _build(ind: Any, spec: Any, children: tuple[Any, ...], *, suffix: str | None = None) -> type[GeneratedForm]:
    def build(child: Any) -> type[GeneratedForm]:
        return _build(ind, child, child.children)

    attrs: dict[str, Any] = {"_ind": ind, "_spec": spec}
    attrs.update((child.name, BUILDERS[child.kind](child, build)) for child in children)
    suffix = suffix or (spec.key.replace(".", "_") if spec is not None else "root")
    cls = type(f"Form_{ind.code}_v{ind.version}_{suffix}", (GeneratedForm,), attrs)
    cls()  # WTForms fills its per-class caches on first use; do it now, under the lock, not in a request
    return cls
