"""Checks of x-mappings against the previous version, and of meaning changes left without a mapping.

The previous version's fields that the mappings leave unsaid (``engine.definitions.proposals``) are
findings too: a type or unit change under the same key always (``mapping``: read wrongly, the figures
would be wrong), a moved, removed or retitled field when the author's choices are judged
(``correspondence``: a version published earlier loads without it, like the other judgements)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions import pointers
from engine.definitions.labels import labelled
from engine.definitions.model import NUMERIC_KINDS, FieldMapping, FieldSpec, IndicatorSet, MappingSpec
from engine.definitions.proposals import mentioned_keys, propose, value_shape
from engine.errors import DefinitionRef, ProblemList

MAPPINGS = labelled("x-mappings")


def parse_mappings(raw: dict[str, Any] | None, pointer: str = "/x-mappings") -> MappingSpec | None:
    if raw is None:
        return None

    def keys(value: Any) -> tuple[str, ...]:
        return tuple(value) if isinstance(value, list) else ((value,) if value is not None else ())

    return MappingSpec(
        from_version=raw["from_version"],
        fields=tuple(
            FieldMapping(
                kind=m["kind"],
                from_keys=keys(m.get("from")),
                to_keys=keys(m.get("to")),
                factor=float(m.get("factor", 1.0)),
                note=m.get("note"),
                pointer=pointers.join(pointer, "fields", i),
            )
            for i, m in enumerate(raw["fields"])
        ),
        pointer=pointer,
    )


class MappingChecker:
    def __init__(self, file: str, problems: ProblemList) -> None:
        self.file = file
        self.problems = problems

    def _problem(self, message: str, pointer: str) -> None:
        self.problems.add(message, definition=DefinitionRef(self.file, pointer), code="mapping")

    def check(
        self,
        mappings: MappingSpec | None,
        fields: Mapping[str, FieldSpec],
        version: int | None,
        previous: IndicatorSet | None,
        *,
        judge: bool = True,
    ) -> None:
        if mappings is not None:
            self._check_declared(mappings, fields, version, previous)
        if previous is not None:
            self._check_meaning_changes(mappings, fields, previous)
            if judge:
                self._check_open_proposals(mappings, fields, previous)

    def _check_declared(
        self,
        mappings: MappingSpec,
        fields: Mapping[str, FieldSpec],
        version: int | None,
        previous: IndicatorSet | None,
    ) -> None:
        at = pointers.join(mappings.pointer, "from_version")
        if version is not None and mappings.from_version >= version:
            self._problem(
                f"{MAPPINGS}的{labelled('from_version')}（{mappings.from_version}）必须小于本版本号 {version}", at
            )
        if previous is not None and mappings.from_version != previous.version:
            self._problem(
                f"{MAPPINGS}的{labelled('from_version')}是 {mappings.from_version}，但上一版本是 v{previous.version}",
                at,
            )
        claimed_old: dict[str, str] = {}
        claimed_new: dict[str, str] = {}
        for m in mappings.fields:
            for i, key in enumerate(m.from_keys):
                where = pointers.join(m.pointer, "from", *([i] if len(m.from_keys) > 1 else []))
                if previous is not None and key not in previous.fields:
                    self._problem(f"映射的来源字段「{key}」在上一版本 v{previous.version} 中不存在", where)
                if key in claimed_old and m.kind != "split":
                    self._problem(f"来源字段「{key}」被多条映射引用（另见 {claimed_old[key]}）", where)
                claimed_old.setdefault(key, m.pointer)
                if m.kind == "removed" and key in fields:
                    self._problem(f"字段「{key}」标记为 removed，但本版本仍有同名字段", where)
            for i, key in enumerate(m.to_keys):
                where = pointers.join(m.pointer, "to", *([i] if len(m.to_keys) > 1 else []))
                if key not in fields:
                    self._problem(f"映射的目标字段「{key}」在本版本中不存在", where)
                if key in claimed_new:
                    self._problem(f"目标字段「{key}」被多条映射引用（另见 {claimed_new[key]}）", where)
                claimed_new.setdefault(key, m.pointer)
            check = self._KIND_CHECKS.get(m.kind)
            if check is not None and previous is not None:
                check(self, m, fields, previous)

    def _check_unit_mapping(
        self, m: FieldMapping, fields: Mapping[str, FieldSpec], previous: IndicatorSet
    ) -> None:
        old, new = previous.fields.get(m.from_keys[0]), fields.get(m.to_keys[0])
        if (
            old is not None
            and new is not None
            and not (old.kind in NUMERIC_KINDS and new.kind in NUMERIC_KINDS)
        ):
            self._problem(f"{labelled('kind')}为 unit（换算单位）的映射只能用于数值字段", m.pointer)

    def _check_added(self, m: FieldMapping, fields: Mapping[str, FieldSpec], previous: IndicatorSet) -> None:
        for key in m.to_keys:
            if key in previous.fields:
                self._problem(
                    f"字段「{key}」在上一版本 v{previous.version} 中已有，不能声明为新增（added）；"
                    "同一指标不必声明，名称改了而口径未变请声明 same", pointers.join(m.pointer, "to"))

    def _check_same(self, m: FieldMapping, fields: Mapping[str, FieldSpec], previous: IndicatorSet) -> None:
        """``same`` says a field kept under its key is the same indicator: the key cannot change, and
        neither can what its values are (that is what ``not_comparable`` or ``unit`` say)."""
        old_key, new_key = m.from_keys[0], m.to_keys[0]
        if old_key != new_key:
            self._problem(f"同一指标（same）的原字段与新字段须是同一个键（现在是「{old_key}」和「{new_key}」）；"
                          "键名改变请声明 rename", pointers.join(m.pointer, "to"))
            return
        old, new = previous.fields.get(old_key), fields.get(new_key)
        if old is None or new is None:
            return  # said above: a key that does not exist
        if value_shape(old) != value_shape(new) or old.unit != new.unit:
            self._problem(f"字段「{new_key}」的类型或单位已改变，不能声明为同一指标（same）；"
                          "请声明换算单位（unit）或不可比（not_comparable）", m.pointer)

    # what one kind of mapping must hold beyond its shape, against the previous version
    _KIND_CHECKS = {"unit": _check_unit_mapping, "added": _check_added, "same": _check_same}

    def _check_open_proposals(
        self, mappings: MappingSpec | None, fields: Mapping[str, FieldSpec], previous: IndicatorSet
    ) -> None:
        """A moved, removed or retitled field the mappings leave unsaid (type and unit changes are
        findings of their own, above)."""
        for p in propose(previous.fields, fields, mentioned_keys(mappings)):
            if p.change in ("retyped", "unit"):
                continue
            self.problems.add(f"{p.reason}：{p.advice}", data_path=p.key,
                              definition=DefinitionRef(self.file, p.pointer), code="correspondence")

    def _check_meaning_changes(
        self, mappings: MappingSpec | None, fields: Mapping[str, FieldSpec], previous: IndicatorSet
    ) -> None:
        mentioned = mentioned_keys(mappings)
        for key, new in fields.items():
            old = previous.fields.get(key)
            if old is None or key in mentioned:
                continue
            was, now = _value_shape(old), _value_shape(new)
            if was != now:
                self._problem(
                    f"字段「{key}」的{labelled('type')}由{was}改为{now}，但{MAPPINGS}没有声明映射（同名字段含义改变）；"
                    "请改用新键名并声明 rename/not_comparable，或声明 not_comparable",
                    new.pointer,
                )
            elif old.unit != new.unit:
                self._problem(
                    f"字段「{key}」的{labelled('x-unit')}由 {old.unit or '无'} 改为 {new.unit or '无'}，"
                    f"但{MAPPINGS}没有声明 unit（换算单位）映射",
                    new.pointer,
                )


def _value_shape(spec: FieldSpec) -> str:
    return f"「{value_shape(spec)}」"
