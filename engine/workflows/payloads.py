"""What a person hands in when completing a user task, checked and normalised per task kind.

Task data in SpiffWorkflow is one dict copied forward through the flow, so everything stored in it must
survive JSON (and PostgreSQL JSONB) unchanged: the serializer fails on ``date``/``Decimal``/``bytes`` and
silently turns tuples into lists and int keys into strings (reference §1.8, pitfall 3). We therefore
accept JSON-native values only and say exactly where a bad one sits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import BadInput
from engine.workflows.vocabulary import DECISIONS

MAX_DEPTH = 32

_TYPE_NAMES = {
    "date": "日期对象",
    "datetime": "日期时间对象",
    "Decimal": "Decimal 数字",
    "bytes": "字节串",
    "tuple": "元组",
    "set": "集合",
}


_SCALARS = frozenset({int, bool, type(None)})
# A lone UTF-16 surrogate (a JSON body may carry one as "\ud800") has no UTF-8 form: PostgreSQL's jsonb,
# like U+0000, cannot hold it. Looked for only in text that is not ASCII (isascii is a quick scan).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _storable_text(text: str) -> bool:
    return "\x00" not in text and not _lone_surrogate(text)


def _plainly_native(value: Any, depth: int) -> bool:
    """The common case, answered without building a path per value: plain JSON types all the way down.
    False means "look closer" (``_explain`` accepts subclasses of these types, and names what it refuses)."""
    kind = type(value)
    if kind is str:
        return _storable_text(value)
    if kind in _SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _storable_text(key) or not _plainly_native(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            if not _plainly_native(item, depth + 1):
                return False
        return True
    return False


def require_json_native(value: Any, path: str = "", depth: int = 0, *,
                        labels: Mapping[str, str] | None = None) -> None:
    """Raise BadInput naming the first value that JSON cannot carry unchanged: by ``labels[path]`` when
    the caller knows what a person calls it there (审核意见, an indicator's title), else by its path."""
    if not _plainly_native(value, depth):
        _explain(value, path, depth, labels or {})


def _explain(value: Any, path: str, depth: int, labels: Mapping[str, str]) -> None:
    where = labels.get(path) or path or "（根）"
    if depth > MAX_DEPTH:
        raise BadInput(f"数据嵌套超过 {MAX_DEPTH} 层：{where}", data_path=path or None)
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL's jsonb cannot hold U+0000: refused here, not a 500 at the INSERT
            raise BadInput(f"「{where}」含有空字符（\\u0000），不能保存", data_path=path or None)
        if _lone_surrogate(value):
            raise BadInput(f"「{where}」含有无效字符（不成对的 UTF-16 代理项），不能保存", data_path=path or None)
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"「{where}」不是有限数字（NaN/无穷大不能保存）", data_path=path or None)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _explain(item, f"{path}.{i}" if path else str(i), depth + 1, labels)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadInput(f"「{where}」的键 {key!r} 不是文本，只允许文本键", data_path=path or None)
            if "\x00" in key:
                raise BadInput(f"「{where}」的键含有空字符（\\u0000），不能保存", data_path=path or None)
            if _lone_surrogate(key):
                raise BadInput(f"「{where}」的键含有无效字符（不成对的 UTF-16 代理项），不能保存", data_path=path or None)
            _explain(item, f"{path}.{key}" if path else key, depth + 1, labels)
        return
    kind = _TYPE_NAMES.get(type(value).__name__, type(value).__name__)
    raise BadInput(
        f"「{where}」的值是{kind}，不能保存：只允许 JSON 原生类型（文本、数字、真假、空、列表、对象），"
        '日期请写成 "YYYY-MM-DD" 文本',
        data_path=path or None,
    )


def _require_mapping(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise BadInput("提交的内容必须是一个对象（键值对）")
    return payload


# A handler returns (the record stored under data[<bpmn_id>], the decision variables to set).
PayloadHandler = Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def entry_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry hands in the indicator form (or a reference to the saved submission); no decision."""
    return {"data": dict(payload)}, {}


REVIEW_KEYS = frozenset({"decision", "comment", "field_comments"})


def review_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's own guard: raises the first problem. A caller that shows a person every problem at once
    runs the checks below one by one (``engine.review_comments.review_problems``)."""
    unknown = sorted(set(payload) - REVIEW_KEYS)
    if unknown:
        raise BadInput(f"审核提交中有不认识的项：{'、'.join(unknown)}", data_path=unknown[0])
    decision = review_decision(payload)
    comment = review_comment(payload)
    field_comments = _field_comments(payload.get("field_comments") or {})
    record = {"decision": decision, "comment": comment, "field_comments": field_comments}
    return record, {"decision": decision, "comment": comment}


def review_decision(payload: Mapping[str, Any]) -> str:
    decision = payload.get("decision")
    if not isinstance(decision, str) or decision not in DECISIONS:  # a list or an object is no decision either
        raise BadInput("审核结论必须是 approve（通过）或 return（退回）", data_path="decision")
    return decision


def review_comment(payload: Mapping[str, Any]) -> str:
    """The overall comment, trimmed; a return must say why (whatever else is wrong with the decision)."""
    comment = payload.get("comment") or ""
    if not isinstance(comment, str):
        raise BadInput("审核意见必须是文本", data_path="comment")
    comment = comment.strip()
    if payload.get("decision") == "return" and not comment:
        raise BadInput("退回时必须填写审核意见，说明需要修改的内容", data_path="comment")
    return comment


def field_comments_mapping(value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise BadInput("逐项意见必须是「字段路径 → 意见」的对象", data_path="field_comments")
    return value


def field_comment(data_path: Any, text: Any) -> str:
    """One per-field reason, trimmed: shown next to the field when the form goes back."""
    if not isinstance(data_path, str) or not data_path.strip() or any(c.isspace() for c in data_path):
        raise BadInput(f"逐项意见的字段路径「{data_path}」不合法", data_path="field_comments")
    if not isinstance(text, str):
        raise BadInput(f"字段「{data_path}」的逐项意见必须是文本", data_path=f"field_comments.{data_path}")
    if not text.strip():
        raise BadInput(f"字段「{data_path}」的逐项意见不能为空", data_path=f"field_comments.{data_path}")
    return text.strip()


def _field_comments(value: Any) -> dict[str, str]:
    """{data_path: text}: per-field reasons shown next to the field when the form goes back."""
    return {data_path: field_comment(data_path, text) for data_path, text in field_comments_mapping(value).items()}


PAYLOAD_HANDLERS: Mapping[str, PayloadHandler] = {"entry": entry_payload, "review": review_payload}


def normalise_payload(kind: str, payload: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    require_json_native(payload)
    return PAYLOAD_HANDLERS[kind](_require_mapping(payload))
