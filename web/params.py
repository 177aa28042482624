"""Reading numbers out of query strings and bodies at the edge: ASCII digits only, within an id's range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.db.models import MAX_ID
from engine.errors import BadInput


def id_param(values: Mapping[str, Any], name: str, label: str | None = None) -> int | None:
    """``values[name]`` as an id, None when absent or empty; a BadInput naming ``label`` (else ``name``)
    otherwise. "²" and "１" are digits to ``str.isdigit`` but not ids."""
    value = values.get(name)
    if value in (None, ""):
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ID):
        raise BadInput(f"{label}应为正整数" if label else f"{name} 应为正整数", data_path=name)
    return int(text)
