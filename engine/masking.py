"""Personal fields (``x-sensitive``) hidden from readers whose roles may not see them at that unit.

One rule everywhere a document is shown (pages, API, review, history): the value is replaced, the
field stays, so a reader sees that something was entered without seeing what.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.auth import Principal
from engine.definitions import IndicatorSet
from engine.diffs import Change
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


MASKED_COMMENT = "（涉及个人信息的意见，您的角色不能查看）"


def readable_comments(principal: Principal, ind: IndicatorSet, org_code: str,
                      comments: Mapping[str, Any] | None) -> dict[str, Any]:
    """A review's per-field comments as ``principal`` may read them: a comment on a personal field (or on
    a row or section holding one) quotes or names what the value is, so it is hidden like the value."""
    if not comments or principal.sees_sensitive(org_code):
        return dict(comments or {})
    return {path: MASKED_COMMENT if _about_sensitive(ind, path) else text for path, text in comments.items()}


def _about_sensitive(ind: IndicatorSet, path: str) -> bool:
    spec = ind.fields.get(key_of(path))
    return spec is None or _holds_sensitive(spec)  # a path the definition does not know: hidden too
