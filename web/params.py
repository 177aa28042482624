"""Reading numbers out of query strings and bodies at the edge: ASCII digits only, within an id's range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.db.models import MAX_ID
from engine.errors import BadInput
from engine.orgs import CODE_RE


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


def unit_param(values: Mapping[str, Any], name: str = "org_unit") -> str | None:
    """``values[name]`` as a unit's 12-digit code, None when absent or empty."""
    value = values.get(name)
    if value in (None, ""):
        return None
    if not (isinstance(value, str) and CODE_RE.match(value)):
        raise BadInput("单位代码应为 12 位数字", data_path=name)
    return value


_YES_NO = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def bool_param(values: Mapping[str, Any], name: str) -> bool:
    """``values[name]`` as yes or no; absent or empty is no."""
    value = str(values.get(name) or "false").lower()
    if value not in _YES_NO:
        raise BadInput(f"{name} 应为 true 或 false", data_path=name)
    return _YES_NO[value]
