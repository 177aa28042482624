"""Builds the field tree (FieldSpec) and rule list (RuleSpec) from a structurally valid document,
reporting the problems that only show once $ref is resolved (kinds, grids, repeats, titles)."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field, replace
from typing import Any

from engine.definitions import pointers
from engine.definitions.fill import FILL_SOURCES
from engine.definitions.kinds import kind_of, options_of
from engine.definitions.labels import labelled
from engine.definitions.model import NUMERIC_KINDS, OPTION_KINDS, FieldSpec
from engine.definitions.refs import RefResolver
from engine.errors import DefinitionRef, ProblemList

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
NUMERIC_AGGREGATES = frozenset({"sum", "avg", "min", "max"})
OPTION_WIDGETS = frozenset({"radio", "select"})
# A multiple choice's items: a plain option list, one value type, nothing per option beyond its label.
MULTICHOICE_ITEM_TYPES = ("string", "integer")
MULTICHOICE_ITEM_KEYWORDS = frozenset({"type", "enum", "oneOf", "title", "description", "$comment"})
# The aggregate each kind gets when the field declares none.
DEFAULT_AGGREGATES = {"integer": "sum", "number": "sum", "multichoice": "count_each"}
EXPRESSION_KEYWORDS = ("x-relevant", "x-calculate")
# Field kinds as the centre reads them (definition errors).
KIND_NAMES = {"string": "单行文本", "text": "多行文本", "integer": "整数", "number": "数值", "date": "日期",
              "email": "电子邮箱", "boolean": "是/否", "choice": "单选", "multichoice": "多选", "section": "分组",
              "grid": "表格", "array": "数组（填报行）"}


@dataclass
class RawRule:
    """A rule as written, before its names are resolved."""

    body: dict[str, Any]
    scope: str | None  # array key for per-row rules
    pointer: str


@dataclass
class Built:
    sections: tuple[FieldSpec, ...] = ()
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    rules: list[RawRule] = field(default_factory=list)
    # key -> keyword -> pointer of that keyword in the file (problems point where the author must edit)
    keyword_pointers: dict[str, dict[str, str]] = field(default_factory=dict)


class FieldTreeBuilder:
    def __init__(self, doc: dict[str, Any], file: str, problems: ProblemList) -> None:
        self.doc = doc
        self.file = file
        self.problems = problems
        self.resolver = RefResolver(doc, file, problems)
        self.built = Built()

    def build(self) -> Built:
        root, origin = self.resolver.resolve(self.doc, "")
        if root.get("type") != "object" or not isinstance(root.get("properties"), dict):
            self._problem("指标集的根必须是 type 为 object 且带 properties 的对象", "")
        if not root.get("title"):
            self._problem(f"指标集缺少中文{labelled('title')}", "")
        self.built.sections = self._children(root, origin, parent_key=None, array_key=None)
        self.built.fields = {f.key: f for f in _preorder(self.built.sections)}
        for i, body in enumerate(root.get("x-rules", [])):
            self.built.rules.append(
                RawRule(body, None, pointers.join(origin.get("x-rules", ""), "x-rules", i))
            )
        return self.built

    def _problem(self, message: str, pointer: str) -> None:
        self.problems.add(message, definition=DefinitionRef(self.file, pointer), code="definition")

    def _children(
        self, schema: dict[str, Any], origin: dict[str, str], parent_key: str | None, array_key: str | None
    ) -> tuple[FieldSpec, ...]:
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return ()
        base = pointers.join(origin.get("properties", ""), "properties")
        required = set(schema.get("required", []))
        return tuple(
            self._field(name, node, pointers.join(base, name), parent_key, array_key, name in required)
            for name, node in properties.items()
        )

    def _field(
        self,
        name: str,
        node: Any,
        pointer: str,
        parent_key: str | None,
        array_key: str | None,
        required: bool,
    ) -> FieldSpec:
        key = f"{parent_key}.{name}" if parent_key else name
        schema, origin = self.resolver.resolve(node, pointer)
        at = {k: pointers.join(p, k) for k, p in origin.items()}
        self.built.keyword_pointers[key] = at
        self._check_name(name, pointer)
        items = self._items(schema, at, pointer) if schema.get("type") == "array" else None
        kind = kind_of(schema, items[0] if items else None) or self._unsupported_kind(schema, pointer)
        if not schema.get("title"):
            self._problem(f"字段「{key}」缺少中文{labelled('title')}", pointer)
        if "x-rules" in schema:
            self._problem(f"{labelled('x-rules')}只能写在根节点或数组的 items 上", at["x-rules"])
        children: tuple[FieldSpec, ...] = ()
        if kind in ("section", "grid"):
            children = self._children(schema, origin, key, array_key)
        elif kind == "array" and items is not None:
            children = self._rows(key, *items)
        if schema.get("x-sensitive"):
            children = _inherit_sensitive(children, schema["x-sensitive"])
        spec = FieldSpec(
            key=key,
            name=name,
            path=tuple(key.split(".")),
            pointer=pointer,
            kind=kind,
            schema=self.resolver.deep(node, pointer),
            title=str(schema.get("title") or name),
            description=schema.get("description"),
            unit=schema.get("x-unit"),
            required=required,
            sensitive=schema.get("x-sensitive"),
            # numbers are summed by default, but not one the server fills in (统计年度 合计 2,025 × villages)
            aggregate=schema.get("x-aggregate")
            or ("none" if schema.get("x-fill") else DEFAULT_AGGREGATES.get(kind, "none")),
            relevant=schema.get("x-relevant"),
            calculate=schema.get("x-calculate"),
            options=options_of(items[0] if kind == "multichoice" and items else schema),
            widget=schema.get("x-widget"),
            children=children,
            array_key=array_key,
            fill=schema.get("x-fill"),
        )
        self._check_field(spec, schema, at)
        if kind == "multichoice" and items is not None:
            self._check_multichoice(spec, schema, at, *items)
        return spec

    def _check_name(self, name: str, pointer: str) -> None:
        if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name) or name in ("True", "False", "None"):
            self._problem(
                f"字段名「{name}」无效：只能由字母、数字、下划线组成，以字母开头，且不能是保留字（表达式要引用它）",
                pointer,
            )

    def _unsupported_kind(self, schema: dict[str, Any], pointer: str) -> str:
        shape = ", ".join(
            f"{k}={schema[k]!r}" for k in ("type", "format", "x-widget", "x-grid") if k in schema
        )
        self._problem(
            f"不支持的字段类型组合（{shape or '缺少 type'}），参见 docs/definitions.md 的字段类型表", pointer
        )
        return "string"

    def _items(
        self, schema: dict[str, Any], at: dict[str, str], pointer: str
    ) -> tuple[dict[str, Any], dict[str, str], str]:
        """An array's ``items`` resolved: (schema, pointer per keyword, pointer of items)."""
        items_pointer = at.get("items", pointers.join(pointer, "items"))
        items, items_origin = self.resolver.resolve(schema.get("items"), items_pointer)
        return items, items_origin, items_pointer

    def _rows(
        self, key: str, items: dict[str, Any], items_origin: dict[str, str], items_pointer: str
    ) -> tuple[FieldSpec, ...]:
        if items.get("type") != "object" or not isinstance(items.get("properties"), dict):
            self._problem(
                f"数组「{key}」的 items 必须是带 properties 的对象（每行一组字段），"
                "或带 enum/oneOf 选项的 string/integer（多选，见 docs/definitions.md）",
                items_pointer,
            )
            return ()
        for i, body in enumerate(items.get("x-rules", [])):
            self.built.rules.append(RawRule(body, key, pointers.join(items_origin["x-rules"], "x-rules", i)))
        return self._children(items, items_origin, key, key)

    def _check_field(self, spec: FieldSpec, schema: dict[str, Any], at: dict[str, str]) -> None:
        numeric = spec.kind in NUMERIC_KINDS or (
            spec.kind == "choice" and schema.get("type") in NUMERIC_KINDS
        )
        if spec.unit and not numeric:
            self._problem(f"{labelled('x-unit')}只能用于数值字段，{_named(spec)}", at["x-unit"])
        if spec.aggregate in NUMERIC_AGGREGATES and not numeric:
            self._problem(
                f"{labelled('x-aggregate')}「{spec.aggregate}」只能用于数值字段，{_named(spec)}", at["x-aggregate"]
            )
        if spec.aggregate == "count_each" and spec.kind not in OPTION_KINDS:
            self._problem(
                f"{labelled('x-aggregate')}「count_each」（按选项分别计数）只能用于单选或多选字段，{_named(spec)}",
                at["x-aggregate"],
            )
        if spec.widget in OPTION_WIDGETS and not spec.options and schema.get("type") != "boolean":
            self._problem(f"{labelled('x-widget')}「{spec.widget}」需要{labelled('oneOf')}", at["x-widget"])
        if spec.widget == "textarea" and spec.options:
            self._problem(f"{labelled('x-widget')}「textarea」不能用于有选项的字段", at["x-widget"])
        if spec.calculate and spec.is_container:
            self._problem(
                f"{labelled('x-calculate')}只能用于数据字段，不能用于分组、表格或数组", at["x-calculate"]
            )
        if spec.fill is not None:
            self._check_fill(spec, at["x-fill"])
        if spec.kind == "grid":
            self._check_grid(spec, schema, at)

    def _check_multichoice(
        self,
        spec: FieldSpec,
        schema: dict[str, Any],
        at: dict[str, str],
        items: dict[str, Any],
        items_origin: dict[str, str],
        items_pointer: str,
    ) -> None:
        """A multiple choice is exactly ``{"type": "array", "items": {"type": "string"|"integer", "oneOf"|"enum":
        …}, "uniqueItems": true}`` (uniqueItems may be left out: it is implied), optionally min/maxItems."""
        label = f"多选字段「{spec.key}」"
        if items.get("type") not in MULTICHOICE_ITEM_TYPES:
            self._problem(
                f"{label}的 items 须写明 type 为 string（文字选项）或 integer（整数选项），"
                f"现在是「{items.get('type', '（未写）')}」",
                pointers.join(items_origin["type"], "type") if "type" in items_origin else items_pointer,
            )
        for word in items:
            if word not in MULTICHOICE_ITEM_KEYWORDS:
                self._problem(
                    f"{label}的 items 只能写 type 和选项（enum 或 oneOf），不能有「{word}」",
                    pointers.join(items_origin[word], word),
                )
        if schema.get("uniqueItems", True) is not True:
            self._problem(
                f"{label}的 uniqueItems 必须为 true（同一选项不能选两次），或省略不写", at["uniqueItems"]
            )
        least, most = schema.get("minItems", 0), schema.get("maxItems")
        if least > len(spec.options):
            self._problem(
                f"{label}的 minItems（{least}）大于选项个数（{len(spec.options)}），永远无法填写", at["minItems"]
            )
        if most is not None and most < max(least, 1 if spec.required else 0):
            self._problem(
                f"{label}的 maxItems（{most}）小于{'必填要求的 1 项' if least < 1 else f'minItems（{least}）'}，"
                "永远无法填写",
                at["maxItems"],
            )

    def _check_fill(self, spec: FieldSpec, pointer: str) -> None:
        source = FILL_SOURCES.get(str(spec.fill))
        if source is None:
            allowed = "；".join(f"{name}（{s.description}）" for name, s in FILL_SOURCES.items())
            self._problem(f"{labelled('x-fill')}「{spec.fill}」不是可用的取值来源，可用：{allowed}", pointer)
            return
        if spec.kind not in source.kinds:
            kinds = "、".join(KIND_NAMES.get(k, k) for k in sorted(source.kinds))
            self._problem(
                f"{labelled('x-fill')}「{spec.fill}」（{source.description}）只能用于{kinds}字段，"
                f"「{spec.key}」是{KIND_NAMES.get(spec.kind, spec.kind)}",
                pointer,
            )
        if spec.calculate:
            self._problem(
                f"「{spec.key}」不能同时有{labelled('x-fill')}和{labelled('x-calculate')}：值只能有一个来源", pointer
            )
        if spec.array_key is not None:
            self._problem(
                f"{labelled('x-fill')}不能用于数组「{spec.array_key}」的行内字段「{spec.key}」："
                "本单位、本期的值每份报表只有一个",
                pointer,
            )
        if source.needs_period and self.doc.get("x-period") is None:
            self._problem(
                f"{labelled('x-fill')}「{spec.fill}」需要根节点写明{labelled('x-period')}（year、quarter 或 month）",
                pointer,
            )

    def _check_grid(self, spec: FieldSpec, schema: dict[str, Any], at: dict[str, str]) -> None:
        if not spec.children:
            self._problem(f"表格「{spec.key}」至少需要一行", at["x-grid"])
            return
        columns = [c.name for c in spec.children[0].children]
        totals = schema["x-grid"].get("row_total") or schema["x-grid"].get("column_total")
        for row in spec.children:
            if row.kind != "section" or [c.name for c in row.children] != columns:
                self._problem(
                    f"表格「{spec.key}」的每一行都必须是对象，且列与第一行相同（{', '.join(columns)}）",
                    row.pointer,
                )
            for cell in row.children:
                if cell.multiple:  # a column of checkbox lists does not fit a table cell
                    self._problem(f"表格单元格「{cell.key}」不能是多选字段：请放在表格外", cell.pointer)
                elif cell.is_container or (totals and cell.kind not in NUMERIC_KINDS):
                    self._problem(
                        f"表格单元格「{cell.key}」必须是{'数值' if totals else '数据'}字段", cell.pointer
                    )
                if cell.fill is not None:  # a grid shows no hint per cell: the clerk would not see why it is fixed
                    self._problem(f"{labelled('x-fill')}不能用于表格单元格「{cell.key}」：请放在表格外的字段上",
                                  pointers.join(cell.pointer, "x-fill"))


def _named(spec: FieldSpec) -> str:
    """字段「备注」（housing.note）是单行文本字段: a field by its title and key, and its kind in Chinese."""
    return f"字段「{spec.title}」（{spec.key}）是{KIND_NAMES.get(spec.kind, spec.kind)}字段"


def _preorder(specs: tuple[FieldSpec, ...]):
    for spec in specs:
        yield spec
        yield from _preorder(spec.children)


def _inherit_sensitive(children: tuple[FieldSpec, ...], category: str) -> tuple[FieldSpec, ...]:
    """A personal section, grid or table makes every field inside it personal (unless a field names its own
    category): masking, exports, roll-ups and rosters all decide field by field, and would otherwise show
    the children of a section marked as a whole."""
    out = []
    for child in children:
        own = child.sensitive or category
        out.append(replace(child, sensitive=own, children=_inherit_sensitive(child.children, own)))
    return tuple(out)
