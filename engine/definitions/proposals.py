"""What a new version leaves unsaid about the previous one, and the mapping that would say it.

For every field of the previous version that the new version's ``x-mappings`` do not mention — gone,
moved, retitled, re-typed, in another unit — one ``Proposal``: the mapping that accepting it adds, and
what dismissing it adds instead (``dismiss``: "确认不对应", the decision recorded in the definition, so
a re-check does not raise it again and the comparison says it was confirmed). A version with an open
proposal is not published (the checker's ``correspondence`` and ``mapping`` findings): undeclared, a
moved field's old figures would vanish from the comparison and a retitled field with a new meaning would
be compared as the same indicator (docs/definitions.md, "Mappings between versions").

A proposal's ``key`` is the previous version's field it is about: each old field has at most one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.definitions.builder import KIND_NAMES
from engine.definitions.model import FieldSpec, MappingSpec
from engine.validation.messages import TYPE_NAMES

# (old unit, new unit) -> factor for a proposed unit mapping (new value = old value × factor).
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("亩", "公顷"): 0.0666667, ("公顷", "亩"): 15.0, ("亩", "万亩"): 0.0001, ("万亩", "亩"): 10000.0,
    ("元", "万元"): 0.0001, ("万元", "元"): 10000.0, ("万元", "亿元"): 0.0001, ("亿元", "万元"): 10000.0,
    ("人", "万人"): 0.0001, ("万人", "人"): 10000.0, ("户", "万户"): 0.0001, ("万户", "户"): 10000.0,
    ("千克", "吨"): 0.001, ("吨", "千克"): 1000.0, ("吨", "万吨"): 0.0001, ("万吨", "吨"): 10000.0,
    ("公顷", "千公顷"): 0.001, ("千公顷", "公顷"): 1000.0,
}

# The note a dismissed move leaves on the new field: what the comparison shows beside it.
CONFIRMED_NEW = "上一版本无对应指标（发布时确认）"


@dataclass(frozen=True)
class Proposal:
    key: str  # the previous version's field (the proposal's id)
    change: str  # moved | removed | retitled | retyped | unit
    mapping: dict[str, Any]  # accepting adds this to x-mappings.fields
    reason: str  # what the comparison saw
    advice: str  # what to do, in the words of the buttons
    accept_label: str
    dismiss: tuple[dict[str, Any], ...] = ()  # dismissing adds these; () = only a mapping settles it
    dismiss_label: str = ""
    pointer: str = "/x-mappings"  # where in the new version it is settled

    # every open proposal stops publishing; kept in the JSON for clients that read it
    blocking: bool = True

    @property
    def one_choice(self) -> bool:
        """Accepting and dismissing write the same (a field removed): one button says it."""
        return self.dismiss == (self.mapping,)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.key, "change": self.change, "mapping": self.mapping, "reason": self.reason,
                "advice": self.advice, "accept_label": self.accept_label, "dismiss": list(self.dismiss),
                "dismiss_label": self.dismiss_label, "blocking": self.blocking, "pointer": self.pointer}


def value_shape(spec: FieldSpec) -> str:
    """What a stored value looks like, in Chinese: JSON type plus format (a date string is not free text); a
    multiple choice is a list of its options' type, not the rows of a repeat. Two versions of a field
    with different shapes hold values that do not compare (the checker and the workbench's diff)."""
    if spec.multiple:
        items = spec.schema.get("items")
        item_type = items.get("type") if isinstance(items, dict) else "?"
        return f"多选（{TYPE_NAMES.get(item_type, item_type)}）"
    json_type = spec.schema.get("type", spec.kind)
    fmt = spec.schema.get("format")
    name = TYPE_NAMES.get(json_type, json_type)
    return f"{name}（{KIND_NAMES.get(fmt, fmt)}）" if fmt else name


def mentioned_keys(mappings: MappingSpec | None) -> frozenset[str]:
    return (mappings.mentioned_old_keys() | mappings.mentioned_new_keys()) if mappings else frozenset()


def _data(spec: FieldSpec) -> bool:
    return not spec.is_container


def _named(spec: FieldSpec) -> str:
    return f"「{spec.title}」（{spec.key}）"


def propose(old_fields: Mapping[str, FieldSpec], new_fields: Mapping[str, FieldSpec],
            mentioned: frozenset[str]) -> list[Proposal]:
    """A proposal for every data field of the previous version the declared mappings do not mention
    and that the new version does not keep as it was (same key, value shape, unit and title)."""
    proposals: list[Proposal] = []
    added = [s for k, s in new_fields.items() if k not in old_fields and k not in mentioned and _data(s)]
    for key, spec in old_fields.items():
        if key in mentioned or not _data(spec):
            continue
        new = new_fields.get(key)
        if new is None:
            proposals.append(_gone(spec, added))
        elif value_shape(spec) != value_shape(new):
            proposals.append(_retyped(spec, new))
        elif spec.unit != new.unit:
            proposals.append(_unit_change(spec, new))
        elif spec.title != new.title:
            proposals.append(_retitled(spec, new))
    return proposals


def _gone(spec: FieldSpec, added: list[FieldSpec]) -> Proposal:
    """A new field with the same name (moved to another section) or the same label, and the same kind of
    value, is most likely the old one moved or renamed; otherwise the field was removed."""
    for candidate in added:
        if (candidate.name == spec.name or candidate.title == spec.title) and value_shape(candidate) == value_shape(spec):
            added.remove(candidate)
            return Proposal(
                spec.key, "moved", {"kind": "rename", "from": spec.key, "to": candidate.key},
                f"{_named(spec)}在本版本中没有了，{_named(candidate)}像是它移动或改键名后的字段",
                "若是同一指标，请采用建议（声明改键名 rename：上年数据带入，跨年可比）；若不是，请确认不对应"
                f"（声明 {spec.key} 已删除、{candidate.key} 为本版本新增）",
                f"采用：{candidate.key} 即原 {spec.key}",
                dismiss=({"kind": "removed", "from": spec.key}, {"kind": "added", "to": candidate.key}),
                dismiss_label="确认不对应：原字段已删除，新字段为新增", pointer=candidate.pointer)
    removed = {"kind": "removed", "from": spec.key}
    return Proposal(
        spec.key, "removed", removed, f"{_named(spec)}在本版本中没有了",
        "若已并入或改为本版本的其他字段，请在「与上一版本的映射」中声明（如合并 merge、改键名 rename）；"
        "若确已删除，请确认不对应（声明 removed：上一版本的数据不再参与对比）",
        "确认已删除", dismiss=(removed,), dismiss_label="确认不对应：已删除")


def _retitled(old: FieldSpec, new: FieldSpec) -> Proposal:
    return Proposal(
        old.key, "retitled",
        {"kind": "not_comparable", "from": old.key, "to": old.key,
         "note": f"名称由「{old.title}」改为「{new.title}」，口径改变"},
        f"{_named(old)}改名为「{new.title}」",
        "名称改变常意味着统计口径改变：若口径改变，请采用建议（声明不可比 not_comparable，不再与上年对比）；"
        "若只是措辞改变，请确认口径未变（声明同一指标 same，仍与上年对比）",
        "采用：口径改变，不可比",
        dismiss=({"kind": "same", "from": old.key, "to": old.key,
                  "note": f"名称由「{old.title}」改为「{new.title}」，口径未变"},),
        dismiss_label="口径未变：同一指标，仍可比", pointer=f"{new.pointer}/title")


def _retyped(old: FieldSpec, new: FieldSpec) -> Proposal:
    was, now = value_shape(old), value_shape(new)
    return Proposal(
        old.key, "retyped",
        {"kind": "not_comparable", "from": old.key, "to": old.key, "note": f"类型由 {was} 改为 {now}"},
        f"{_named(old)}类型由 {was} 改为 {now}，与上一版本的数据不可比",
        "请采用建议（声明不可比 not_comparable），或改用新的键名", "采用：类型改变，不可比", pointer=new.pointer)


def _unit_change(old: FieldSpec, new: FieldSpec) -> Proposal:
    factor = UNIT_FACTORS.get((old.unit or "", new.unit or ""))
    reason = f"{_named(old)}单位由 {old.unit or '无'} 改为 {new.unit or '无'}"
    if factor is not None:
        return Proposal(old.key, "unit", {"kind": "unit", "from": old.key, "to": new.key, "factor": factor},
                        reason, f"请采用建议（声明换算单位 unit：上年数据 ×{factor:g} 后对比）",
                        f"采用：换算 ×{factor:g}", pointer=new.pointer)
    return Proposal(old.key, "unit", {"kind": "not_comparable", "from": old.key, "to": new.key, "note": reason},
                    reason, "没有已知的换算系数：请采用建议（声明不可比），或在映射中写明换算系数",
                    "采用：单位改变，不可比", pointer=new.pointer)
