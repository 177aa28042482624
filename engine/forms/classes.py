"""One WTForms class per definition version, built once with ``type()`` and cached.

The cache key is (code, version, content_hash): a class is never changed per request (per-request
state — errors, warnings, hidden fields — lives on the form instance or the page view).
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


_cache: dict[tuple[str, int, str], type[GeneratedForm]] = {}
_lock = threading.Lock()


def form_class_for(ind: Any) -> type[GeneratedForm]:
    key = (ind.code, ind.version, ind.content_hash)
    with _lock:
        cls = _cache.get(key)
        if cls is None:
            cls = _cache[key] = _build(ind, None, ind.sections)
        return cls


def _build(ind: Any, spec: Any, children: tuple[Any, ...]) -> type[GeneratedForm]:
    def build(child: Any) -> type[GeneratedForm]:
        return _build(ind, child, child.children)

    attrs: dict[str, Any] = {"_ind": ind, "_spec": spec}
    attrs.update((child.name, BUILDERS[child.kind](child, build)) for child in children)
    suffix = spec.key.replace(".", "_") if spec is not None else "root"
    cls = type(f"Form_{ind.code}_v{ind.version}_{suffix}", (GeneratedForm,), attrs)
    cls()  # WTForms fills its per-class caches on first use; do it now, under the lock, not in a request
    return cls
