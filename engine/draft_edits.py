"""Structured edits of an indicator-set draft: everyday changes without writing JSON.

Each operation is a function ``(doc, params) -> None`` that edits the definition document in place;
``OPERATIONS`` maps the operation name (sent by the editor page or the API) to it. Params come from an
HTML form (strings) or from JSON (typed), so every value goes through a small normaliser. Anything an
operation cannot express is left to the raw JSON editor; the checker judges the result either way.

``outline(doc)`` reads the same document back as a tree for the editor, and works on drafts that do
not load (the checker's problems are shown on the tree by JSON pointer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.definitions import pointers
from engine.definitions.fill import FILL_SOURCES
from engine.definitions.vocabulary import vocabulary
from engine.errors import BadInput, GrassrootsError, Problem
from engine.expressions.expression import compile_expression


@dataclass(frozen=True)
class FieldType:
    label: str
    fragment: dict[str, Any]  # the schema keywords that make this type
    numeric: bool = False
    options: bool = False  # labelled options (oneOf) are part of the type
    text: bool = False  # minLength/maxLength/pattern apply
    multiple: bool = False  # several options may be ticked: the options live in ``items``


# Editor field type -> schema fragment (most specific first: the reverse lookup takes the first match).
FIELD_TYPES: dict[str, FieldType] = {
    "text": FieldType("多行文本", {"type": "string", "x-widget": "textarea"}, text=True),
    "radio": FieldType("单选（按钮）", {"type": "string", "x-widget": "radio"}, options=True),
    "select": FieldType("单选（下拉）", {"type": "string", "x-widget": "select"}, options=True),
    "checkboxes": FieldType("多选（复选框）", {"type": "array", "uniqueItems": True}, options=True, multiple=True),
    "date": FieldType("日期", {"type": "string", "format": "date"}),
    "email": FieldType("电子邮箱", {"type": "string", "format": "email"}),
    "integer": FieldType("整数", {"type": "integer"}, numeric=True),
    "number": FieldType("数值（可有小数）", {"type": "number"}, numeric=True),
    "string": FieldType("单行文本", {"type": "string"}, text=True),
    "boolean": FieldType("是/否", {"type": "boolean"}),
    "section": FieldType("分组（第一层的分组为一页）", {"type": "object"}),
}

# What a container is, in the editor's words (a grid's rows share their columns; a repeat group is
# the household list kind of table, one row per person or household, as many rows as the clerk adds).
KIND_LABELS = {"page": "分组（一页）", "section": "分组", "grid": "表格", "grid_row": "表格的一行",
               "repeat": "可重复的明细表"}

TYPE_KEYWORDS = ("type", "format", "x-widget", "oneOf", "enum", "items", "uniqueItems")
COUNT_KEYWORDS = ("minItems", "maxItems")  # a multiple choice's: kept while it stays one
NUMERIC_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "x-unit")
TEXT_KEYWORDS = ("minLength", "maxLength", "pattern")
NUMERIC_AGGREGATES = frozenset({"sum", "avg", "min", "max"})
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

SENSITIVITY_LABELS = {"personal": "个人信息", "id_number": "身份证号", "health": "健康信息",
                      "financial": "财务信息", "contact": "联系方式"}
AGGREGATE_LABELS = {"sum": "求和", "avg": "平均", "count": "计数", "count_each": "按选项分别计数",
                    "min": "最小值", "max": "最大值", "none": "不汇总"}
PERIOD_LABELS = {"year": "年报", "quarter": "季报", "month": "月报"}
# x-fill: where a field's value comes from when not from the clerk (empty: 由填报人填写)
FILL_LABELS = {name: source.description for name, source in FILL_SOURCES.items()}
SEVERITY_LABELS = {"hard": "必须满足（阻止提交）", "soft": "核实提示（写明原因可提交）"}


def units() -> list[str]:
    return list(vocabulary()["$defs"]["x-unit"]["enum"])


# --- reading the document ----------------------------------------------------------------------


def _resolve(doc: dict[str, Any], node: Any, pointer: str) -> tuple[dict[str, Any], str]:
    """A node with a local $ref followed (once per hop, cycles stop): the schema and its pointer."""
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target_pointer = pointers.from_fragment(node["$ref"])
        target = pointers.lookup(doc, target_pointer) if target_pointer is not None else pointers.MISSING
        if target is pointers.MISSING:
            break
        node, pointer = target, target_pointer or ""
    return (node if isinstance(node, dict) else {}), pointer


def _container(doc: dict[str, Any], node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Where a field's children live: the object itself, or an array's ``items``."""
    schema, at = _resolve(doc, node, pointer)
    if schema.get("type") == "array":
        return _resolve(doc, schema.get("items"), pointers.join(at, "items"))
    return schema, at


def type_code(node: dict[str, Any]) -> str | None:
    """The editor type of a field schema (None: something only the raw editor shows, e.g. a grid or an
    integer with options), so saving the structured form never silently drops a keyword."""
    if "x-grid" in node:
        return None
    if node.get("type") == "array":  # a repeat, or a multiple choice of text options
        items = node.get("items")
        choice = isinstance(items, dict) and items.get("type") == "string" and ("oneOf" in items or "enum" in items)
        return "checkboxes" if choice else None
    has_options = "oneOf" in node or "enum" in node
    for code, ft in FIELD_TYPES.items():
        if (ft.options == has_options and node.get("type") == ft.fragment["type"]
                and all(node.get(k) == ft.fragment.get(k) for k in ("format", "x-widget"))):
            return code
    return None


@dataclass
class Node:
    key: str
    name: str
    pointer: str  # where the property is written
    schema_pointer: str  # where its (resolved) schema lives: differs under $ref
    depth: int
    schema: dict[str, Any]
    required: bool
    type: str | None
    kind: str = "field"  # "field", or a container: "page" "section" "grid" "grid_row" "repeat"
    in_grid: bool = False  # a grid's cell: its field is a column of the grid
    # where the field is written is a $defs entry used this many times (>1: an edit changes every use)
    shared_by: int = 1
    shared_at: str = ""  # that $defs entry
    children: list[Node] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.schema.get("title") or self.name)

    @property
    def is_container(self) -> bool:
        return self.schema.get("type") == "object" or (self.schema.get("type") == "array" and self.type is None)

    @property
    def label(self) -> str:
        """What it is, in the editor's words."""
        if self.kind != "field":
            return KIND_LABELS[self.kind]
        return FIELD_TYPES[self.type].label if self.type else "其他（请用 JSON 编辑）"

    @property
    def takes_fields(self) -> bool:
        """Whether the editor offers 添加字段 in it: a section, a repeat group (a new column) or a grid
        (a new column in every row); a grid's row does not (its columns are the grid's)."""
        return self.kind in ("page", "section", "repeat", "grid")

    @property
    def problems_below(self) -> int:
        """Problems on this field and everything inside it (a section with any is shown open)."""
        return len(self.problems) + sum(c.problems_below for c in self.children)


def outline(doc: Any) -> list[Node]:
    """The document's properties as a tree in file order (best effort on a broken document)."""
    if not isinstance(doc, dict):
        return []
    root, at = _resolve(doc, doc, "")
    return _nodes(doc, root, at, None, 0, _Walk(_ref_counts(doc)))


def _ref_counts(doc: Any) -> dict[str, int]:
    """How many times each local $ref target is used."""
    counts: dict[str, int] = {}
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            target = pointers.from_fragment(node["$ref"]) if isinstance(node.get("$ref"), str) else None
            if target is not None:
                counts[target] = counts.get(target, 0) + 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return counts


@dataclass(frozen=True)
class _Walk:
    refs: dict[str, int]
    parent_kind: str | None = None
    via: str = ""  # the $defs entry the fields at this level are written in ("" in the document itself)


def _ref_target(node: Any) -> str:
    return (pointers.from_fragment(node["$ref"]) or "") if isinstance(node, dict) and isinstance(
        node.get("$ref"), str) else ""


def _kind(doc: dict[str, Any], schema: dict[str, Any], depth: int, parent_kind: str | None) -> str:
    if schema.get("type") == "array":  # rows of fields; an array of plain values (a multiple choice) is a field
        return "repeat" if _resolve(doc, schema.get("items"), "")[0].get("type") == "object" else "field"
    if schema.get("type") != "object":
        return "field"
    if "x-grid" in schema:
        return "grid"
    if parent_kind == "grid":
        return "grid_row"
    return "page" if depth == 0 else "section"


def _nodes(doc: dict[str, Any], parent: dict[str, Any], at: str, prefix: str | None, depth: int,
           walking: _Walk) -> list[Node]:
    properties = parent.get("properties")
    if not isinstance(properties, dict) or depth > 8:
        return []
    required = parent.get("required") if isinstance(parent.get("required"), list) else []
    nodes = []
    for name, raw in properties.items():
        pointer = pointers.join(at, "properties", name)
        schema, schema_at = _resolve(doc, raw, pointer)
        merged = {**schema, **{k: v for k, v in (raw or {}).items() if k != "$ref"}} if isinstance(raw, dict) else {}
        key = f"{prefix}.{name}" if prefix else name
        kind = _kind(doc, merged, depth, walking.parent_kind)
        node = Node(key, name, pointer, schema_at, depth, merged, name in required, type_code(merged), kind=kind,
                    in_grid=walking.parent_kind == "grid_row",
                    shared_by=walking.refs.get(walking.via, 1) if walking.via else 1, shared_at=walking.via)
        if merged.get("type") in ("object", "array"):
            child, child_at = _container(doc, raw, pointer)
            items = schema.get("items") if merged.get("type") == "array" else None
            via = _ref_target(items) or _ref_target(raw) or walking.via
            node.children = _nodes(doc, child, child_at, key, depth + 1, _Walk(walking.refs, kind, via))
        nodes.append(node)
    return nodes


def walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from walk(node.children)


def _under(pointer: str, prefix: str) -> bool:
    return pointer == prefix or pointer.startswith(prefix + "/")


def place_problems(nodes: list[Node], problems: list[Problem]) -> tuple[dict[int, list[Problem]], list[Problem]]:
    """Attach each problem to the deepest fields whose pointer contains it, or to a rule (by index);
    returns (rule index -> problems, problems with no place of their own)."""
    flat = list(walk(nodes))
    rules: dict[int, list[Problem]] = {}
    general: list[Problem] = []
    for problem in problems:
        at = problem.definition.pointer if problem.definition else ""
        match = re.match(r"/x-rules/(\d+)", at)
        if match:
            rules.setdefault(int(match.group(1)), []).append(problem)
            continue
        depth = {id(n): max((len(p) for p in (n.pointer, n.schema_pointer) if _under(at, p)), default=-1)
                 for n in flat}
        deepest = max(depth.values(), default=-1)
        if deepest >= 0:  # the deepest fields; a shared $defs schema shows its problem on every use
            for owner in flat:
                if depth[id(owner)] == deepest:
                    owner.problems.append(problem)
        else:
            general.append(problem)
    return rules, general


# --- what changed between two versions of the document ------------------------------------------

_ABSENT = object()
CHANGES_SHOWN = 60  # a longer list is cut (a whole document replaced says little more line by line)


@dataclass(frozen=True)
class DocChange:
    """One difference between two versions of a definition document, for people: where (a field's
    title and key, a rule, or the JSON pointer) and the value before and after (``None``: absent)."""

    pointer: str
    where: str
    before: Any
    after: Any
    moved: bool = False  # the same keys in another order (a moved field): before/after are key lists

    @property
    def kind(self) -> str:
        if self.moved:
            return "moved"
        return "added" if self.before is None else "removed" if self.after is None else "changed"

    @staticmethod
    def text(value: Any, limit: int = 300) -> str:
        """A value as the editor's JSON shows it (text without quotes), cut at ``limit`` characters."""
        if value is None:
            return "（无）"
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= limit else shown[:limit] + "…"


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _differences(before: Any, after: Any, at: str) -> Iterator[tuple[str, Any, Any, bool]]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*after, *(k for k in before if k not in after)]:
            yield from _differences(before.get(key, _ABSENT), after.get(key, _ABSENT), pointers.join(at, key))
        if set(before) == set(after) and list(before) != list(after):
            yield at, list(before), list(after), True
    elif isinstance(before, list) and isinstance(after, list) and _ids(before) and _ids(after):
        old_ids, new_ids = _ids(before), _ids(after)  # rules: matched by their id, wherever they moved
        for i, rule_id in enumerate(new_ids):
            old = before[old_ids.index(rule_id)] if rule_id in old_ids else _ABSENT
            yield from _differences(old, after[i], pointers.join(at, i))
        for i, rule_id in enumerate(old_ids):
            if rule_id not in new_ids:
                yield pointers.join(at, i), before[i], _ABSENT, False
        common = [r for r in new_ids if r in old_ids]
        if [r for r in old_ids if r in new_ids] != common:
            yield at, [r for r in old_ids if r in new_ids], common, True
    elif (isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
          and all(isinstance(v, dict) for v in before + after)):
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            yield from _differences(a, b, pointers.join(at, i))
    elif not _same(before, after):
        yield at, before, after, False


def _ids(items: list[Any]) -> list[str]:
    """The ids of a list of rules (empty unless every item is an object with its own id)."""
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if not items or len(ids) != len(items) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        return []
    return ids


# what a keyword of a field is called on the editor's forms
KEYWORD_LABELS = {"title": "名称", "description": "说明", "type": "类型", "x-widget": "类型（控件）",
                  "format": "类型（格式）", "x-unit": "单位", "minimum": "最小值", "maximum": "最大值",
                  "oneOf": "选项", "enum": "选项", "x-relevant": "显示条件", "x-calculate": "计算公式",
                  "x-fill": "取值来源", "x-sensitive": "敏感类别", "x-aggregate": "汇总方式", "required": "必填",
                  "readOnly": "只读", "properties": "字段顺序", "expr": "表达式", "message": "提示信息",
                  "severity": "严重程度", "fields": "显示在哪些字段", "id": "规则编号"}


ROOT_LABELS = {"/title": "指标集名称", "/description": "指标集说明", "/x-period": "报告周期",
               "/properties": "分组顺序", "/x-mappings": "与上一版本的映射", "/x-rules": "审核规则"}


def _keyword_words(rest: str) -> str:
    tokens = [t for t in rest.split("/") if t]
    if not tokens:
        return ""
    if len(tokens) == 1 and tokens[0] in KEYWORD_LABELS:
        return f"的{KEYWORD_LABELS[tokens[0]]}"
    if tokens[0] in KEYWORD_LABELS and all(t.isdigit() or t in ("const", "title") for t in tokens[1:]):
        return f"的{KEYWORD_LABELS[tokens[0]]}"
    return " " + rest


def _where(doc: Any, nodes: list[Node], pointer: str) -> str:
    match = re.match(r"/x-rules/(\d+)(.*)", pointer)
    if match and isinstance(doc, dict) and isinstance(doc.get("x-rules"), list):
        rules = doc["x-rules"]
        index = int(match.group(1))
        rule_id = rules[index].get("id") if index < len(rules) and isinstance(rules[index], dict) else None
        return f"规则「{rule_id or index + 1}」{_keyword_words(match.group(2))}"
    best, length = None, -1
    for node in walk(nodes):
        for own in (node.pointer, node.schema_pointer):
            if own and _under(pointer, own) and len(own) > length:
                best, length = node, len(own)
    if best is None:
        return ROOT_LABELS.get(pointer, pointer or "/")
    return f"字段「{best.title}」（{best.key}）{_keyword_words(pointer[length:])}"


def document_changes(before: Any, after: Any) -> list[DocChange]:
    """What changed from ``before`` to ``after``, value by value (a list of rows or options compared
    item by item when its length is kept, else as a whole), each placed on its field or rule."""
    found = list(_differences(before, after, ""))
    nodes_after, nodes_before = outline(after), outline(before)
    changes = []
    for pointer, old, new, moved in found:
        nodes, doc = (nodes_after, after) if new is not _ABSENT else (nodes_before, before)
        changes.append(DocChange(pointer, _where(doc, nodes, pointer), None if old is _ABSENT else old,
                                 None if new is _ABSENT else new, moved))
    return changes


# --- what uses a field (said before it is removed) ------------------------------------------------


def _uses(source: Any, names: set[str]) -> bool:
    """Whether an expression names one of ``names`` (a key, a bare leaf name, or a key inside one)."""
    if not isinstance(source, str) or not source.strip():
        return False
    try:
        written = {r.name for r in compile_expression(source).references}
    except GrassrootsError:  # not an expression the engine reads: look for the words
        return any(re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", source) for name in names)
    return any(w in names or any(w.startswith(n + ".") for n in names) for w in written)


def _rules(doc: dict[str, Any], nodes: list[Node]) -> Iterator[dict[str, Any]]:
    """The document's rules and its repeat groups' row rules."""
    yield from (r for r in doc.get("x-rules") or [] if isinstance(r, dict))
    for node in nodes:
        if node.kind == "repeat":
            items = _container(doc, node.schema, "")[0]
            yield from (r for r in items.get("x-rules") or [] if isinstance(r, dict))


def references_to(doc: Any, key: str) -> list[str]:
    """Where the field ``key`` — or anything inside it — is used: rules (their expression or the fields
    they show on) and other fields' conditions and formulas, as sentences for the confirmation."""
    if not isinstance(doc, dict):
        return []
    nodes = list(walk(outline(doc)))
    # by key, and by where it is written: a grid's column in a shared $defs entry goes from every row
    written = [n.pointer for n in nodes if n.key == key]
    inside = [n for n in nodes if n.key == key or n.key.startswith(key + ".")
              or any(_under(n.pointer, at) for at in written)]
    names = {n.key for n in inside} | {n.name for n in inside if n.kind == "field"}
    keys = {n.key for n in inside}
    found = []
    for rule in _rules(doc, nodes):
        shown_on = rule.get("fields") if isinstance(rule.get("fields"), list) else []
        if _uses(rule.get("expr"), names) or any(f in keys for f in shown_on):
            found.append(f"规则「{rule.get('id')}」：{rule.get('message') or rule.get('expr')}")
    for node in nodes:
        if node in inside:
            continue
        for keyword, label in (("x-relevant", "显示条件"), ("x-calculate", "计算公式")):
            if _uses(node.schema.get(keyword), names):
                found.append(f"字段「{node.title}」（{node.key}）的{label}：{node.schema[keyword]}")
    return found


# --- locating and normalising --------------------------------------------------------------------


def _locate(doc: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
    """(the schema whose ``properties`` holds the field, the field's name)."""
    parent: dict[str, Any] = _resolve(doc, doc, "")[0]
    parts = str(key or "").split(".")
    for part in parts[:-1]:
        node = parent.get("properties", {}).get(part)
        if not isinstance(node, dict):
            raise BadInput(f"找不到字段「{key}」")
        parent = _container(doc, node, "")[0]
    if parts[-1] not in parent.get("properties", {}):
        raise BadInput(f"找不到字段「{key}」")
    return parent, parts[-1]


def _parents_for_new(doc: dict[str, Any], parent_key: str) -> list[dict[str, Any]]:
    """Where a new field goes: the root, a section, a repeat group's row — or, for a grid, every row
    (a grid's rows have the same columns; rows sharing one $defs entry get it once)."""
    if not parent_key:
        return [_resolve(doc, doc, "")[0]]
    parent, name = _locate(doc, parent_key)
    node = parent["properties"][name]
    container = _container(doc, node, "")[0]
    if container.get("type") == "object" and "x-grid" in container:
        rows = [_container(doc, row, "")[0] for row in (container.get("properties") or {}).values()]
        rows = list({id(row): row for row in rows if row.get("type") == "object"}.values())
        if not rows:
            raise BadInput(f"表格「{parent_key}」还没有行，请先在 JSON 编辑器中添加行")
        return rows
    if container.get("type") != "object":
        raise BadInput(f"「{parent_key}」不是分组、表格或明细表，不能在其中添加字段")
    return [container]


def _parent_for_new(doc: dict[str, Any], parent_key: str) -> dict[str, Any]:
    parents = _parents_for_new(doc, parent_key)
    if len(parents) != 1:
        raise BadInput(f"「{parent_key}」是表格，请用“添加列”")
    return parents[0]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any, label: str) -> int | float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadInput(f"{label}必须是数字")
    if isinstance(value, int | float):
        return value
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        number = float(text)
    except ValueError:
        raise BadInput(f"{label}必须是数字，收到「{value}」") from None
    return int(number) if number.is_integer() and "." not in text else number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("1", "true", "on", "yes", "是")


def _keys(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value if _text(v)]
    return [k for k in re.split(r"[,，、\s]+", _text(value)) if k]


# "值=标签": a Chinese input method types the full-width ＝; ：/: only on a line without either (a label
# such as 其中：经营性收入 after an = stays whole)
_OPTION_SEPARATORS = (re.compile(r"[=＝]"), re.compile(r"[:：]"))


def _option_line(line: str) -> tuple[str, str]:
    for separator in _OPTION_SEPARATORS:
        parts = separator.split(line, maxsplit=1)
        if len(parts) == 2:
            code, label = parts[0].strip(), parts[1].strip()
            return code, label or code
    return line.strip(), line.strip()


def _options(value: Any, numeric: bool) -> list[dict[str, Any]]:
    """Labelled options from JSON ([[value, label]] / [{"value", "label"}]) or text lines "值=标签"
    (also 值＝标签, 值：标签). Each value once: two options with one value cannot be told apart."""
    if isinstance(value, list):
        pairs = [(o.get("value"), o.get("label")) if isinstance(o, dict) else (o[0], o[1]) for o in value]
    else:
        pairs = [_option_line(line) for line in _text(value).splitlines() if line.strip()]
    if not pairs:
        raise BadInput("单选、多选字段至少需要一个选项（每行一个，写成「值=标签」）")
    options, seen = [], {}
    for number, (v, label) in enumerate(pairs, start=1):
        if not _text(v):
            raise BadInput(f"第 {number} 个选项「{_text(label)}」缺少值（每行写成「值=标签」，如 1=燃煤）")
        const = _number(v, "选项值") if numeric else _text(v)
        key = json.dumps(const)
        if key in seen:
            raise BadInput(f"选项值「{const}」重复：第 {seen[key]} 个和第 {number} 个选项的值相同，"
                           "每个选项的值必须不同")
        seen[key] = number
        options.append({"const": const, "title": _text(label) or _text(v)})
    return options


def _set(node: dict[str, Any], keyword: str, value: Any) -> None:
    if value is None or value == "":
        node.pop(keyword, None)
    else:
        node[keyword] = value


def _check_name(name: str, container: dict[str, Any]) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise BadInput(f"字段键名「{name}」不合法：只能用英文字母、数字和下划线，以字母开头")
    if name in container.get("properties", {}):
        raise BadInput(f"已有键名为「{name}」的字段")


# --- field attributes: param name -> how it is written into the schema --------------------------


def _apply_type(node: dict[str, Any], code: Any, params: dict[str, Any]) -> None:
    ft = FIELD_TYPES.get(_text(code))
    if ft is None:
        raise BadInput(f"不支持的字段类型「{code}」")
    # kept from single to multiple choice and back; bare values (an enum) become labelled options
    old_options = (node.get("oneOf") or _items_options(node)
                   or [{"const": v, "title": str(v)} for v in node.get("enum") or []])
    stays_multiple = ft.multiple and type_code(node) == _text(code)
    for keyword in TYPE_KEYWORDS + (() if stays_multiple else COUNT_KEYWORDS):
        node.pop(keyword, None)
    node.update(ft.fragment)
    if not ft.numeric:
        for keyword in NUMERIC_KEYWORDS:
            node.pop(keyword, None)
        if node.get("x-aggregate") in NUMERIC_AGGREGATES:
            node.pop("x-aggregate")
    if not ft.text:
        for keyword in TEXT_KEYWORDS:
            node.pop(keyword, None)
    if not ft.options and node.get("x-aggregate") == "count_each":
        node.pop("x-aggregate")
    if ft.options:
        options = _options(params["options"], False) if "options" in params else (old_options or [])
        if ft.multiple:
            node["items"] = {"type": "string", "oneOf": options}
        else:
            node["oneOf"] = options
    if code == "section":
        node.setdefault("properties", {})


def _items_options(node: dict[str, Any]) -> Any:
    items = node.get("items")
    return items.get("oneOf") if isinstance(items, dict) else None


def _apply_options(node: dict[str, Any], value: Any, params: dict[str, Any]) -> None:
    ft = FIELD_TYPES.get(type_code(node) or "", FIELD_TYPES["string"])
    if ft.options and "type" not in params:
        if ft.multiple:
            node["items"] = {"type": "string", "oneOf": _options(value, False)}
        else:
            node["oneOf"] = _options(value, node.get("type") in ("integer", "number"))
            node.pop("enum", None)  # bare values (an enum) become labelled options: one list, not two


def _keyword(keyword: str, convert: Callable[[Any], Any]) -> Callable[[dict[str, Any], Any, dict[str, Any]], None]:
    return lambda node, value, params: _set(node, keyword, convert(value))


FIELD_ATTRIBUTES: dict[str, Callable[[dict[str, Any], Any, dict[str, Any]], None]] = {
    "type": _apply_type,  # first: later attributes may depend on the type
    "title": _keyword("title", _text),
    "description": _keyword("description", _text),
    "unit": _keyword("x-unit", _text),
    "minimum": _keyword("minimum", lambda v: _number(v, "最小值")),
    "maximum": _keyword("maximum", lambda v: _number(v, "最大值")),
    "options": _apply_options,
    "sensitive": _keyword("x-sensitive", _text),
    "aggregate": _keyword("x-aggregate", _text),
    "relevant": _keyword("x-relevant", _text),
    "calculate": _keyword("x-calculate", _text),
    "fill": _keyword("x-fill", _text),
}


# Keywords that only some types take: (keyword, the form's attribute that writes it or None, its label,
# does the type take it). A type change drops those the new type does not take, posted or stored.
TYPE_BOUND: tuple[tuple[str, str | None, str, Callable[[FieldType], bool]], ...] = (
    ("x-unit", "unit", "单位", lambda ft: ft.numeric),
    ("minimum", "minimum", "最小值", lambda ft: ft.numeric),
    ("maximum", "maximum", "最大值", lambda ft: ft.numeric),
    ("exclusiveMinimum", None, "最小值（不含）", lambda ft: ft.numeric),
    ("exclusiveMaximum", None, "最大值（不含）", lambda ft: ft.numeric),
    ("multipleOf", None, "倍数", lambda ft: ft.numeric),
    ("minLength", None, "最短长度", lambda ft: ft.text),
    ("maxLength", None, "最长长度", lambda ft: ft.text),
    ("pattern", None, "格式（正则表达式）", lambda ft: ft.text),
    ("oneOf", "options", "选项", lambda ft: ft.options),
)


def _not_for_type(ft: FieldType, params: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The posted attributes less those the new type does not take (the edit form posts every box,
    so a field turned from 整数 into 单行文本 would keep its unit and minimum), and what was dropped."""
    kept, dropped = dict(params), []
    for keyword, attr, label, takes in TYPE_BOUND:
        if takes(ft):
            continue
        posted = kept.pop(attr, None) if attr else None
        value = node.get(keyword) if keyword in node else (_text(posted) or None)
        if value is not None and keyword != "oneOf":
            dropped.append(f"{label}（{value}）")
        elif value is not None:
            dropped.append(label)
    aggregate = _text(kept.get("aggregate")) if "aggregate" in kept else node.get("x-aggregate")
    if not ft.numeric and aggregate in NUMERIC_AGGREGATES:
        kept.pop("aggregate", None)
        dropped.append(f"汇总方式（{AGGREGATE_LABELS[aggregate]}）")
    return kept, dropped


def _apply_attributes(container: dict[str, Any], name: str, params: dict[str, Any]) -> list[str]:
    """Write the posted attributes; returns notes for the user (what a type change dropped)."""
    node = container["properties"][name]
    notes = []
    ft = FIELD_TYPES.get(_text(params.get("type")))
    if ft is not None and _text(params.get("type")) != type_code(node):
        params, dropped = _not_for_type(ft, params, node)
        if dropped and node:  # a new field has nothing to drop: its form's boxes are just not for its type
            notes.append(f"类型已改为「{ft.label}」，去掉了不适用于该类型的设置：{'、'.join(dropped)}")
        elif dropped:
            notes.append(f"「{ft.label}」字段不用这些设置，未保存：{'、'.join(dropped)}")
    for attr, apply in FIELD_ATTRIBUTES.items():
        if attr in params and not (attr == "type" and not _text(params[attr])):  # blank type: keep it
            apply(node, params[attr], params)
    if node.get("x-calculate") or node.get("x-fill"):  # computed or set by the server: never typed
        node["readOnly"] = True
    else:
        node.pop("readOnly", None)
    if "required" in params:
        required = [k for k in container.get("required", []) if k != name]
        if _flag(params["required"]):
            required.append(name)
        _set(container, "required", required or None)
    return notes


# --- operations -------------------------------------------------------------------------------


def set_meta(doc: dict[str, Any], params: dict[str, Any]) -> None:
    for attr, keyword in (("title", "title"), ("description", "description"), ("period", "x-period")):
        if attr in params:
            _set(doc, keyword, _text(params[attr]))


def add_field(doc: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """A field in a section or a repeat group's row; in a grid, a column added to every row."""
    containers = _parents_for_new(doc, _text(params.get("parent")))
    name = _text(params.get("name"))
    for container in containers:
        _check_name(name, container)
    if not _text(params.get("title")):
        raise BadInput("请填写字段名称（中文标题）")
    notes: list[str] = []
    for container in containers:
        container.setdefault("properties", {})[name] = {}
        notes = _apply_attributes(container, name, {"type": "integer", **params})
    return notes


def add_repeat(doc: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """A repeat group (可重复的明细表: one row per household or person, as many as the clerk adds) with
    its first column, given as ``column_name``, ``column_title``, ``column_type`` …"""
    container = _parent_for_new(doc, _text(params.get("parent")))
    name = _text(params.get("name"))
    _check_name(name, container)
    if not _text(params.get("title")):
        raise BadInput("请填写明细表的名称（中文标题）")
    column = {k.removeprefix("column_"): v for k, v in params.items() if k.startswith("column_")}
    column_name = _text(column.get("name"))
    if not NAME_PATTERN.fullmatch(column_name):
        raise BadInput(f"第一列的键名「{column_name}」不合法：只能用英文字母、数字和下划线，以字母开头")
    if not _text(column.get("title")):
        raise BadInput("请填写第一列的名称（中文标题）")
    if _text(column.get("type")) == "section":
        raise BadInput("明细表的列不能是分组，请选择字段类型")
    items: dict[str, Any] = {"type": "object", "properties": {column_name: {}}}
    table = {"type": "array", "title": _text(params["title"]), "items": items}
    _set(table, "description", _text(params.get("description")))
    container.setdefault("properties", {})[name] = table
    return _apply_attributes(items, column_name, {"type": "string", **column})


def add_section(doc: dict[str, Any], params: dict[str, Any]) -> list[str]:
    return add_field(doc, {**params, "type": "section", "parent": ""})


def update_field(doc: dict[str, Any], params: dict[str, Any]) -> list[str]:
    container, name = _locate(doc, _text(params.get("key")))
    if "title" in params and not _text(params["title"]):
        raise BadInput("字段名称（中文标题）不能为空")
    return _apply_attributes(container, name, params)


def remove_field(doc: dict[str, Any], params: dict[str, Any]) -> None:
    container, name = _locate(doc, _text(params.get("key")))
    del container["properties"][name]
    required = [k for k in container.get("required", []) if k != name]
    _set(container, "required", required or None)


def move_field(doc: dict[str, Any], params: dict[str, Any]) -> None:
    container, name = _locate(doc, _text(params.get("key")))
    names = list(container["properties"])
    step = {"up": -1, "down": 1}.get(_text(params.get("direction")))
    if step is None:
        raise BadInput("移动方向只能是 up 或 down")
    i = names.index(name)
    j = min(max(i + step, 0), len(names) - 1)
    names[i], names[j] = names[j], names[i]
    container["properties"] = {n: container["properties"][n] for n in names}


def _rule_index(doc: dict[str, Any], rule_id: str) -> int:
    for i, rule in enumerate(doc.get("x-rules", [])):
        if isinstance(rule, dict) and rule.get("id") == rule_id:
            return i
    raise BadInput(f"找不到规则「{rule_id}」")


def _rule(params: dict[str, Any]) -> dict[str, Any]:
    rule = {"id": _text(params.get("id")), "expr": _text(params.get("expr")),
            "message": _text(params.get("message")), "severity": _text(params.get("severity")) or "hard",
            "fields": _keys(params.get("fields"))}
    missing = [label for key, label in (("id", "规则编号"), ("expr", "表达式"), ("message", "提示信息"),
                                        ("fields", "显示在哪些字段")) if not rule[key]]
    if missing:
        raise BadInput("请填写规则的" + "、".join(missing))
    return rule


def add_rule(doc: dict[str, Any], params: dict[str, Any]) -> None:
    rule = _rule(params)
    if any(isinstance(r, dict) and r.get("id") == rule["id"] for r in doc.get("x-rules", [])):
        raise BadInput(f"已有编号为「{rule['id']}」的规则")
    doc.setdefault("x-rules", []).append(rule)


def update_rule(doc: dict[str, Any], params: dict[str, Any]) -> None:
    i = _rule_index(doc, _text(params.get("original_id") or params.get("id")))
    doc["x-rules"][i] = _rule(params)


def remove_rule(doc: dict[str, Any], params: dict[str, Any]) -> None:
    del doc["x-rules"][_rule_index(doc, _text(params.get("id")))]
    if not doc["x-rules"]:
        del doc["x-rules"]


# The side of a mapping that names several keys; a form's text box gives them as one line.
_SEVERAL_KEYS = {"merge": "from", "split": "to"}
_KEY_SEPARATORS = re.compile(r"[\s,，、;；+]+")


def add_mapping(doc: dict[str, Any], params: dict[str, Any]) -> None:
    """``params``: the mapping (kind, from, to, factor, note) and ``from_version`` (the service adds it).
    The several keys of a merge's ``from`` or a split's ``to`` may come as one text (``a、b`` or ``a, b``)."""
    mapping = {k: params[k] for k in ("kind", "from", "to", "factor", "note") if params.get(k) not in (None, "")}
    several = _SEVERAL_KEYS.get(mapping.get("kind", ""))
    if several and isinstance(mapping.get(several), str):
        mapping[several] = [key for key in _KEY_SEPARATORS.split(mapping[several]) if key]
    if "factor" in mapping:
        mapping["factor"] = _number(mapping["factor"], "换算系数")
    side = "to" if mapping.get("kind") == "added" else "from"  # a new field has nothing it comes from
    if not mapping.get("kind") or not mapping.get(side):
        raise BadInput("映射需要写明类型（kind）和" + ("新字段（to）" if side == "to" else "来源字段（from）"))
    mappings = doc.setdefault("x-mappings", {"from_version": params.get("from_version"), "fields": []})
    mappings["from_version"] = params.get("from_version") or mappings.get("from_version")
    # a mapping replaces the one about the same field (added: the same new field)
    mappings["fields"] = [m for m in mappings.get("fields", [])
                          if not (m.get(side) == mapping[side] and ("from" in m) == ("from" in mapping))] + [mapping]


def remove_mapping(doc: dict[str, Any], params: dict[str, Any]) -> None:
    fields = doc.get("x-mappings", {}).get("fields", [])
    index = _number(params.get("index"), "映射序号")
    if not isinstance(index, int) or not 0 <= index < len(fields):
        raise BadInput("找不到要删除的映射")
    del fields[index]
    if not fields:
        del doc["x-mappings"]


# an operation returns nothing, or notes for the user about what it did beyond what was asked
OPERATIONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[str] | None]] = {
    "set_meta": set_meta,
    "add_section": add_section,
    "add_field": add_field,
    "add_repeat": add_repeat,
    "update_field": update_field,
    "remove_field": remove_field,
    "move_field": move_field,
    "add_rule": add_rule,
    "update_rule": update_rule,
    "remove_rule": remove_rule,
    "add_mapping": add_mapping,
    "remove_mapping": remove_mapping,
}


def apply_operation(doc: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """Apply one edit in place; returns notes for the user (e.g. what a type change dropped)."""
    if not isinstance(doc, dict):
        raise BadInput("定义不是 JSON 对象，请在 JSON 编辑器中修改")
    op = OPERATIONS.get(str(operation.get("op", "")))
    if op is None:
        raise BadInput(f"未知的编辑操作「{operation.get('op')}」", details={"operations": sorted(OPERATIONS)})
    return op(doc, {k: v for k, v in operation.items() if k != "op"}) or []
