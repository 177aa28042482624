"""Checks of x-mappings against the previous version, and of meaning changes left without a mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions import pointers
from engine.definitions.builder import KIND_NAMES
from engine.definitions.labels import labelled
from engine.definitions.model import NUMERIC_KINDS, FieldMapping, FieldSpec, IndicatorSet, MappingSpec
from engine.errors import DefinitionRef, ProblemList
from engine.validation.messages import TYPE_NAMES

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
    ) -> None:
        if mappings is not None:
            self._check_declared(mappings, fields, version, previous)
        if previous is not None:
            self._check_meaning_changes(mappings, fields, previous)

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
            if m.kind == "unit" and previous is not None:
                self._check_unit_mapping(m, fields, previous)

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

    def _check_meaning_changes(
        self, mappings: MappingSpec | None, fields: Mapping[str, FieldSpec], previous: IndicatorSet
    ) -> None:
        mentioned = (
            (mappings.mentioned_old_keys() | mappings.mentioned_new_keys()) if mappings else frozenset()
        )
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
