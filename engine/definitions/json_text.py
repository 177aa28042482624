"""A definition's JSON text, read strictly: errors in Chinese with the line, and a key given twice in one
object refused (``json`` keeps the last silently, dropping whichever copy the editor meant)."""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any

from engine.errors import BadInput


def parse_json(text: str) -> Any:
    """The raw editor's text as JSON, or BadInput saying where it breaks (line and column, in Chinese,
    with the line's text). A key given twice in one object is refused too: ``json`` would keep the last
    silently, dropping whichever copy the editor meant."""
    try:
        return _STRICT_JSON.decode(text)
    except json.JSONDecodeError as err:
        what = next((zh for en, zh in _JSON_ERRORS if err.msg.startswith(en)), err.msg)
        raise BadInput(f"JSON 格式错误（第 {err.lineno} 行第 {err.colno} 列）：{what}。该行：{_line_at(text, err.pos)}",
                       details={"line": err.lineno, "column": err.colno}) from None
    except _DuplicateKey as dup:
        line = text.count("\n", 0, dup.pos) + 1
        raise BadInput(f"JSON 中同一对象里键「{dup.key}」出现了两次（第二次在第 {line} 行），请合并或删去一处",
                       details={"line": line, "key": dup.key}) from None


# json's messages (CPython's scanner; the 3.13 trailing-comma ones too) -> what an editor should do
_JSON_ERRORS = (
    ("Expecting value", "此处缺少一个值（或多了一个逗号）"),
    ("Expecting ',' delimiter", "缺少英文逗号“,”"),
    ("Expecting ':' delimiter", "缺少英文冒号“:”"),
    ("Expecting property name enclosed in double quotes", "键名须用英文双引号括起（或多了一个逗号）"),
    ("Illegal trailing comma before end of object", "对象末尾多了一个逗号"),
    ("Illegal trailing comma before end of array", "列表末尾多了一个逗号"),
    ("Unterminated string starting at", "字符串缺少结束的英文双引号"),
    ("Invalid control character at", "字符串里不能直接换行或含控制字符（换行请写 \\n）"),
    ("Invalid \\uXXXX escape", "无效的 \\uXXXX 转义"),
    ("Invalid \\escape", "无效的反斜杠转义"),
    ("Extra data", "JSON 已结束，后面还有多余内容"),
)


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start:end if end >= 0 else None].strip()
    return f"“{line[:80]}{'…' if len(line) > 80 else ''}”" if line else "（空行）"


class _DuplicateKey(Exception):
    def __init__(self, key: str, pos: int) -> None:
        self.key, self.pos = key, pos


def _checked_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, _hook: Any, _pairs_hook: Any,
                    memo: dict[str, str]) -> tuple[Any, int]:
    """json's own object parser, then a refusal of a key given twice (at the second one's position)."""
    pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, memo)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key, _second_key_at(s_and_end[0], s_and_end[1], end, key))
        seen.add(key)
    return dict(pairs), end


def _second_key_at(text: str, start: int, end: int, key: str) -> int:
    """Where ``key`` is written the second time among the keys of the object in ``text[start:end]``."""
    found, depth, i = 0, 1, start
    while i < end:
        c = text[i]
        if c == '"':
            j = json.decoder.scanstring(text, i + 1)[1]
            if depth == 1 and text[j:].lstrip().startswith(":") and json.loads(text[i:j]) == key:
                found += 1
                if found == 2:
                    return i
            i = j
            continue
        depth += 1 if c in "{[" else -1 if c in "}]" else 0
        i += 1
    return start  # not reached: json found the key twice there


_STRICT_JSON = json.JSONDecoder()
_STRICT_JSON.parse_object = _checked_object  # type: ignore[assignment]
_STRICT_JSON.scan_once = json.scanner.py_make_scanner(_STRICT_JSON)  # the C scanner ignores parse_object
