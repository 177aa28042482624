"""Form strings -> typed JSON values, per field kind (a lookup table of converters).

Lenient on purpose: what cannot be converted stays a string, so validation reports it in Chinese
("请输入整数") next to the field instead of the value silently vanishing. Blank means absent.
Full-width digits and thousands separators typed on a Chinese keyboard are accepted, in numbers and in
text fields with a pattern (phone and ID numbers, codes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

BLANK = object()

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
TRUE_WORDS = frozenset({"true", "1", "y", "yes", "on", "是"})
FALSE_WORDS = frozenset({"false", "0", "n", "no", "off", "否"})


def _numeric_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").replace("，", "")


def _integer(text: str, spec: Any) -> Any:
    clean = _numeric_text(text)
    if _INTEGER.fullmatch(clean):
        return int(clean)
    if _NUMBER.fullmatch(clean) and float(clean).is_integer():
        return int(float(clean))
    return text


def _number(text: str, spec: Any) -> Any:
    clean = _numeric_text(text)
    if _INTEGER.fullmatch(clean):
        return int(clean)
    return float(clean) if _NUMBER.fullmatch(clean) else text


def _boolean(text: str, spec: Any) -> Any:
    word = text.lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text


def _choice(text: str, spec: Any) -> Any:
    # option values may be numbers or booleans; the form only ever sends their text
    return next((value for value, _label in spec.options if option_text(value) == text), text)


def _date(text: str, spec: Any) -> Any:
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text))
    if not match:
        return text
    try:
        return date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        return text


# full-width ASCII (U+FF01–FF5E, as a Chinese input method types digits and letters) -> ASCII
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _text(text: str, spec: Any) -> Any:
    # A field with a pattern (a phone number, an ID number, a code) expects ASCII, and １３９… is what
    # the user meant as 139…; free text keeps its full-width punctuation (，is not ,).
    return text.translate(_HALF_WIDTH) if "pattern" in spec.schema else text


CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "choice": _choice,
    "date": _date,
    "string": _text,
    "text": _text,
    "email": _text,
}


def option_text(value: Any) -> str:
    """The text an option value has in HTML (booleans as true/false, like JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choices(value: Any, spec: Any) -> Any:
    """A multiple choice: one string per ticked box (a form posts the name once per box), each read as
    the option it names; none ticked -> BLANK. The same option twice counts once."""
    values = value if isinstance(value, list) else [value]
    chosen: list[Any] = []
    for item in values:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            item = _choice(item, spec)
        if not any(type(c) is type(item) and c == item for c in chosen):  # 1 and True are two values
            chosen.append(item)
    return chosen or BLANK


# Kinds whose value is a list: the converter gets every posted value at once.
LIST_CONVERTERS: dict[str, Callable[[Any, Any], Any]] = {
    "multichoice": _choices,
}


def coerce_value(spec: Any, value: Any) -> Any:
    """One leaf: strings converted by kind; blank -> BLANK; non-strings (already typed JSON) unchanged.
    A multiple choice takes the list of posted strings (or one of them)."""
    several = LIST_CONVERTERS.get(spec.kind)
    if several is not None:
        return several(value, spec)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return BLANK
    return CONVERTERS.get(spec.kind, _text)(text, spec)


def coerce_types(ind: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` (strings as typed by a user) with typed values; blank values removed."""
    return _coerce(ind.sections, data if isinstance(data, dict) else {})


def _coerce(specs: tuple[Any, ...], obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for spec in specs:
        if spec.name not in out:
            continue
        value = out[spec.name]
        if spec.kind == "array" and isinstance(value, list):
            out[spec.name] = [_coerce(spec.children, row) if isinstance(row, dict) else row for row in value]
        elif spec.is_container and isinstance(value, dict):
            out[spec.name] = _coerce(spec.children, value)
        elif not spec.is_container:
            converted = coerce_value(spec, value)
            if converted is BLANK:
                del out[spec.name]
            else:
                out[spec.name] = converted
    return out
