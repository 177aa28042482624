"""A review, checked against the report it is about before it is run: a decision, a reason for a return,
every field comment on a place the indicator set has, every comment fitting on the clerk's page, and a
text PostgreSQL cannot hold named as the reviewer knows it (审核意见, the indicator's title), not by its
key in the request. Every problem is found, not only the first (``review_problems``). One check for the
review page and the task API; bulk approval checks its one comment (``engine.tasks``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from engine.definitions import IndicatorSet
from engine.errors import BadInput, Problem
from engine.validation.paths import join, key_of
from engine.workflows.payloads import (
    field_comment,
    field_comments_mapping,
    require_json_native,
    review_comment,
    review_decision,
)

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


def review_problems(ind: IndicatorSet, payload: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a review as sent, each at its place (``decision``, ``comment``,
    ``field_comments.<data path>``), so the reviewer fixes them all in one round: the decision, the overall
    comment (a return must have one), and each field comment (a place the indicator set has, text, not too
    long, storable). One problem per place, the first found there; the same checks and words as the run's
    own guard (``engine.workflows.payloads``)."""
    comments = payload.get("field_comments") or {}
    labels = {**PAYLOAD_LABELS, **({f"field_comments.{path}": field_comment_label(ind, path) for path in comments
                                    if isinstance(path, str)} if isinstance(comments, Mapping) else {})}
    checks: list[Callable[[], object]] = [partial(review_decision, payload), partial(_comment, payload, labels)]
    if isinstance(comments, Mapping):
        checks += [partial(_field_comment, ind, path, text, labels) for path, text in comments.items()]
    else:
        checks.append(partial(field_comments_mapping, comments))
    return [problem for problem in map(_problem, checks) if problem is not None]


def check_review(ind: IndicatorSet, payload: Mapping[str, Any]) -> None:
    """Raise BadInput listing every problem of the review in ``problems`` (the shape every multi-problem
    refusal has: ``details.problems``); a single problem is also the message and ``data_path``, as it was
    before reviews listed them all."""
    problems = review_problems(ind, payload)
    if len(problems) == 1:
        raise BadInput(problems[0].message, data_path=problems[0].data_path, problems=problems)
    if problems:
        raise BadInput(f"审核结论未提交，有 {len(problems)} 处需要修改：" + "；".join(p.message for p in problems),
                       problems=problems)


def _problem(check: Callable[[], object]) -> Problem | None:
    try:
        check()
    except BadInput as err:
        return Problem(err.message, data_path=err.data_path)
    return None


def _comment(payload: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    check_texts({"comment": payload.get("comment")}, labels)
    review_comment(payload)


def _field_comment(ind: IndicatorSet, data_path: Any, text: Any, labels: Mapping[str, str]) -> None:
    # storable first: an unknown path may hold what cannot be shown
    require_json_native({data_path: text}, "field_comments", 1, labels=labels)
    if isinstance(data_path, str) and not names_a_place(ind, data_path):
        raise BadInput(f"逐项意见所指的指标在本表中不存在：{data_path}", data_path=f"field_comments.{data_path}")
    field_comment(data_path, text)
    check_texts({f"field_comments.{data_path}": text}, labels)
