"""Personal fields (``x-sensitive``) hidden from readers whose roles may not see them at that unit.

One rule everywhere a document is shown (pages, API, review, history): the value is replaced, the
field stays, so a reader sees that something was entered without seeing what. The same readers read the
free text written about the report (comments, explanations) with its personal values masked
(``FreeText``), and validation problems on personal fields without their details (``readable_problems``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import Principal
from engine.db.models import Submission, SubmissionRevision
from engine.definitions import IndicatorSet
from engine.diffs import Change
from engine.errors import DefinitionRef, Problem
from engine.validation.cleaning import referenced_keys
from engine.validation.messages import number_text
from engine.validation.paths import key_of

MASK = "***"


def mask_document(ind: IndicatorSet, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every filled sensitive value replaced by MASK (repeat rows and sections included)."""
    return _mask(ind.sections, data)


def _mask(specs: tuple[Any, ...], obj: Any) -> Any:
    if not isinstance(obj, Mapping):
        return obj
    out = dict(obj)
    for spec in specs:
        value = out.get(spec.name)
        if value is None:
            continue
        if spec.kind == "array" and isinstance(value, list):
            out[spec.name] = [_mask(spec.children, row) if isinstance(row, Mapping) or not _holds_sensitive(spec)
                              else MASK for row in value]
        elif spec.is_container:
            # a draft stored in another shape (a list where the section is) is masked whole when a personal
            # field is below: its values cannot be told apart, and must not be shown for want of a shape
            shaped = isinstance(value, Mapping) and spec.kind != "array"
            out[spec.name] = _mask(spec.children, value) if shaped or not _holds_sensitive(spec) else MASK
        elif spec.sensitive:
            out[spec.name] = MASK
    return out


def _holds_sensitive(spec: Any) -> bool:
    return bool(spec.sensitive) or any(_holds_sensitive(child) for child in spec.children or ())


def readable(principal: Principal, ind: IndicatorSet, org_code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What ``principal`` may read of a unit's document."""
    return dict(data) if principal.sees_sensitive(org_code) else mask_document(ind, data)


def mask_changes(ind: IndicatorSet, changes: list[Change]) -> list[Change]:
    """Differences between two revisions with personal values masked: the change stays (added, removed
    or changed), so the reader sees that it changed. Diffing two masked documents instead would hide it
    (``***`` equals ``***``)."""
    return [Change(c.data_path, c.label, None if c.old is None else MASK, None if c.new is None else MASK)
            if _about_sensitive(ind, c.data_path) else c for c in changes]


def readable_changes(principal: Principal, ind: IndicatorSet, org_code: str, changes: list[Change]) -> list[Change]:
    """What ``principal`` may read of the differences between two revisions of a unit's document."""
    return list(changes) if principal.sees_sensitive(org_code) else mask_changes(ind, changes)


def _about_sensitive(ind: IndicatorSet, path: str) -> bool:
    spec = ind.fields.get(key_of(path))
    return spec is None or _holds_sensitive(spec)  # a path the definition does not know: hidden too


# --- free text written about a report ---------------------------------------------------------------
# A reviewer's overall comment, field comments and a clerk's explanations of soft-rule warnings quote
# personal data as often as the personal fields hold it ("已核实：李桂兰 身份证3901…"). For a reader who may
# not see personal data at the report's unit, every personal value of the report is masked in them, and
# every number shaped like a personal one, quoted from this report or not (a reviewer quotes the wrong
# number the clerk has since corrected). Text attached to a personal field, or to a rule that reads or is
# shown on one, is hidden whole: it is about the person even where it quotes nothing.

MASKED_COMMENT = "（涉及个人信息的意见，您的角色不能查看）"
MASKED_EXPLANATION = "（涉及个人信息的说明，您的角色不能查看）"

# A run of ASCII digits, in groups of 3 or more joined by one space or hyphen as people write phone and
# card numbers ("139-1234-5678", "6228 4800 …"), maybe ending in X (an ID number's check digit).
_NUMBER_RUN = re.compile(r"(?<![0-9])[0-9]{3,}(?:[ -][0-9]{3,})*[Xx]?(?![0-9])")

# The shapes of personal numbers, as tests of a run's digits (separators removed).
NUMBER_SHAPES: dict[str, Callable[[str], bool]] = {
    "公民身份号码": lambda run: len(run) == 18 and run[:17].isdigit(),  # 17 digits + a digit or X
    "手机号码": lambda run: len(run) == 11 and run.isdigit() and run.startswith("1"),
    "银行卡号": lambda run: 16 <= len(run) <= 19 and run.isdigit(),
}

# Shorter values are not masked: a one-character value (男, 女) would mask that character everywhere.
MIN_VALUE_CHARS = 2


def _shaped(match: re.Match[str]) -> str:
    run = re.sub(r"[ -]", "", match.group())
    return MASK if any(test(run) for test in NUMBER_SHAPES.values()) else match.group()


@lru_cache(maxsize=256)
def personal_keys(ind: IndicatorSet) -> frozenset[str]:
    """Keys of the personal fields: marked ``x-sensitive``, or inside a section or table that is."""
    found: set[str] = set()

    def walk(specs: tuple[Any, ...], inherited: bool) -> None:
        for spec in specs:
            personal = inherited or bool(spec.sensitive)
            if personal:
                found.add(spec.key)
            walk(spec.children or (), personal)

    walk(ind.sections, False)
    return frozenset(found)


def _names_personal(ind: IndicatorSet, key: str) -> bool:
    return key in personal_keys(ind) or key not in ind.fields  # a key the definition does not know: hidden too


@lru_cache(maxsize=256)
def personal_rules(ind: IndicatorSet) -> frozenset[str]:
    """Ids of the rules that read a personal field or are shown on one: their failures and their
    explanations are about the person (``age_over_105``, shown on the ID number)."""
    return frozenset(rule.id for rule in ind.rules
                     if any(_names_personal(ind, key)
                            for key in (*rule.fields, *referenced_keys(ind, rule.expr, rule.scope))))


def personal_values(ind: IndicatorSet, documents: Iterable[Any]) -> tuple[str, ...]:
    """Every personal value in ``documents`` (a report and its revisions, all rows) as text of
    ``MIN_VALUE_CHARS`` or more, longest first (a name is masked whole, not the name it begins with)."""
    keys = personal_keys(ind)
    found: set[str] = set()

    def walk(specs: tuple[Any, ...], obj: Any) -> None:
        if not isinstance(obj, Mapping):
            return
        for spec in specs:
            value = obj.get(spec.name)
            if spec.key in keys:
                found.update(_texts(value))
            elif spec.kind == "array" and isinstance(value, list):
                for row in value:
                    walk(spec.children, row)
            elif spec.children:
                walk(spec.children, value)

    for document in documents:
        walk(ind.sections, document)
    return tuple(sorted((v for v in found if len(v) >= MIN_VALUE_CHARS), key=lambda v: (-len(v), v)))


def _texts(value: Any) -> Iterator[str]:
    """A stored value as the texts a comment would quote it by (a draft may hold any shape)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, int | float):
        yield from {str(value), number_text(value)}
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


@dataclass(frozen=True)
class FreeText:
    """The free text written about one report as one reader may read it (see above). ``masked`` False: as
    written."""

    ind: IndicatorSet
    masked: bool = False
    values: tuple[str, ...] = ()  # the report's personal values, longest first

    def text(self, text: str | None) -> str | None:
        if not self.masked or not text:
            return text
        for value in self.values:  # plain substring search: a report has hundreds of values, a text few
            if value in text:
                text = text.replace(value, MASK)
        return _NUMBER_RUN.sub(_shaped, text)

    def field_comments(self, comments: Mapping[str, Any] | None) -> dict[str, Any]:
        """A review's per-field comments: hidden whole on a personal field, or a row or section holding one
        (it names what the value is: "电话 139… 少一位"); masked elsewhere."""
        if not self.masked:
            return dict(comments or {})
        return {path: MASKED_COMMENT if _about_sensitive(self.ind, path) else self.text(text)
                for path, text in (comments or {}).items()}

    def explanations(self, explanations: Mapping[str, Any] | None) -> dict[str, Any]:
        """The clerk's explanations by rule id: hidden whole for a rule about a personal field (or one the
        definition does not have); masked for the others."""
        if not self.masked:
            return dict(explanations or {})
        known = {rule.id for rule in self.ind.rules}
        hidden = personal_rules(self.ind) | (explanations or {}).keys() - known
        return {rule_id: MASKED_EXPLANATION if rule_id in hidden else self.text(text)
                for rule_id, text in (explanations or {}).items()}


def free_text(principal: Principal, ind: IndicatorSet, org_code: str,
              documents: Callable[[], Iterable[Any]]) -> FreeText:
    """How ``principal`` reads the free text about a unit's report; ``documents`` (the report's data, as
    stored and as revised) are read only for a reader who may not see personal data there."""
    if principal.sees_sensitive(org_code):
        return FreeText(ind)
    return FreeText(ind, True, personal_values(ind, documents()))


def report_text(session: Session, principal: Principal, sub: Submission, ind: IndicatorSet) -> FreeText:
    """``free_text`` for a stored report: its personal values as it is now and in every revision, since a
    comment quotes the value it was written about, which the clerk may have corrected since."""
    return free_text(principal, ind, sub.org_code, lambda: [sub.data, *session.scalars(
        select(SubmissionRevision.data).where(SubmissionRevision.submission_id == sub.id))])


# --- validation answers -------------------------------------------------------------------------------
# A problem on a personal field tells what the reader may not see: its length ("现在 40 个字"), its shape,
# that it is no valid ID number. For a reader who may not see personal data it keeps its path and
# severity and says only that the field has a problem (no rule id: the definition would tell the rest).

PERSONAL_PROBLEM = "personal"
MASKED_PROBLEMS: dict[str, str] = {
    "hard": "个人信息字段有误（您的角色不能查看详情）",
    "soft": "个人信息字段有需要核实的提示（您的角色不能查看详情）",
}


def _about_personal(ind: IndicatorSet, problem: Problem) -> bool:
    if problem.rule_id is not None and problem.rule_id in personal_rules(ind):
        return True
    return bool(problem.data_path) and _names_personal(ind, key_of(problem.data_path or ""))


def mask_problems(ind: IndicatorSet, problems: Iterable[Problem]) -> list[Problem]:
    out = []
    for p in problems:
        if not _about_personal(ind, p):
            out.append(p)
            continue
        spec = ind.fields.get(key_of(p.data_path or ""))
        out.append(Problem(MASKED_PROBLEMS.get(p.severity, MASKED_PROBLEMS["hard"]), p.data_path,
                           DefinitionRef(ind.source, spec.pointer) if spec else None, PERSONAL_PROBLEM, p.severity))
    return out


def readable_problems(principal: Principal, ind: IndicatorSet, org_code: str,
                      problems: Iterable[Problem]) -> list[Problem]:
    """Validation problems of a unit's report as ``principal`` may read them."""
    return list(problems) if principal.sees_sensitive(org_code) else mask_problems(ind, problems)
