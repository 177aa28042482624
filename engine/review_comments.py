"""A reviewer's comments, checked against the report they are about before a review is stored: every field
comment names a place the indicator set has, every comment fits on the clerk's page, and a text
PostgreSQL cannot hold is named as the reviewer knows it (审核意见, the indicator's title), not by its
key in the request. One check for the review page, the task API and bulk approval (``engine.tasks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions import IndicatorSet
from engine.errors import BadInput
from engine.validation.paths import join, key_of
from engine.workflows.payloads import require_json_native

# A comment is a reason for the clerk, not a document: a longer one floods the fill page, the return
# note and the history (a QA pass stored 10,000 characters). One limit for every comment a review carries.
MAX_COMMENT_CHARS = 1000

# The names of a review payload's own keys, as the review page labels them.
PAYLOAD_LABELS: Mapping[str, str] = {"decision": "审核结论", "comment": "审核意见", "field_comments": "逐项意见"}
BULK_COMMENT_LABEL = "批量通过意见"


def path_label(ind: IndicatorSet, data_path: str) -> str:
    """A field's title at a data path, with the row for repeat rows: ``花名册 第3行 姓名``."""
    parts = data_path.split(".")
    spec = ind.fields.get(key_of(data_path))
    if spec is None:
        return data_path
    rows = [f"第{int(p) + 1}行" for p in parts if p.isdigit()]
    return " ".join([*rows, spec.title]) if rows else spec.title


def field_comment_label(ind: IndicatorSet, data_path: str) -> str:
    return f"对“{path_label(ind, data_path)}”的意见"  # as the review page labels its comment box


def names_a_place(ind: IndicatorSet, data_path: str) -> bool:
    """Whether ``data_path`` is a place in the indicator set: a field, section or repeat table by its key,
    a row number (ASCII digits) after a repeat table and nowhere else (``elders``, ``elders.2``,
    ``elders.2.name``)."""
    key, wants_row = "", False
    for part in data_path.split("."):
        is_row = part.isascii() and part.isdigit()
        if not part or is_row != wants_row:
            return False
        if is_row:
            wants_row = False
            continue
        key = join(key, part)
        spec = ind.fields.get(key)
        if spec is None:
            return False
        wants_row = spec.kind == "array"
    return True


def check_texts(texts: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Each text (by its place in the request) storable and within ``MAX_COMMENT_CHARS``; a value that
    is not text is left to the payload check, which names its type."""
    for place, text in texts.items():
        if not isinstance(text, str):
            continue
        require_json_native(text, place, labels=labels)
        length = len(text.strip())
        if length > MAX_COMMENT_CHARS:
            raise BadInput(f"{labels[place]}最多 {MAX_COMMENT_CHARS} 字，现有 {length} 字，请精简后再提交",
                           data_path=place)


def check_review_comments(ind: IndicatorSet, payload: Mapping[str, Any]) -> None:
    """Raise BadInput (in Chinese, naming the comment) for a field comment on a place the indicator set
    does not have, a comment too long, or a text PostgreSQL cannot store."""
    comments = payload.get("field_comments")
    comments = comments if isinstance(comments, Mapping) else {}  # another type: the payload check names it
    labels = {**PAYLOAD_LABELS,
              **{f"field_comments.{path}": field_comment_label(ind, path) for path in comments}}
    require_json_native(dict(payload), labels=labels)  # first: an unknown path may hold what cannot be shown
    unknown = [path for path in comments if not names_a_place(ind, path)]
    if unknown:
        raise BadInput(f"逐项意见所指的指标在本表中不存在：{'、'.join(unknown)}",
                       data_path=f"field_comments.{unknown[0]}")
    check_texts({"comment": payload.get("comment"),
                 **{f"field_comments.{path}": text for path, text in comments.items()}}, labels)
