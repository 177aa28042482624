"""Structural checks: the Draft 2020-12 meta-schema, the supported keyword set, and the x- keywords'
own meta-schema (x-vocabulary.schema.json). Every finding names the keyword and its JSON pointer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from engine.definitions import pointers
from engine.definitions.labels import labelled
from engine.errors import DefinitionRef, Problem, ProblemList
from engine.validation.messages import TYPE_NAMES

VOCABULARY_FILE = Path(__file__).with_name("x-vocabulary.schema.json")

# The JSON Schema subset the engine knows how to turn into forms, validation and rollups.
SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "type", "properties",
        "required", "items", "minItems", "maxItems", "uniqueItems", "enum", "const", "oneOf", "default",
        "readOnly", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
        "maxLength", "pattern", "format", "if", "then", "else", "allOf", "dependentRequired",
        "additionalProperties", "examples",
    }
)  # fmt: skip
SUPPORTED_FORMATS = frozenset({"date", "email"})
OPTION_KEYWORDS = frozenset({"const", "title", "description", "$comment"})
CONDITIONAL_BLOCK_KEYWORDS = frozenset({"if", "then", "else", "$comment"})

# Where a subschema sits decides which x- keywords it may carry (a context of the vocabulary meta-schema).
# keyword -> (how its value holds subschemas, context of those subschemas); conditions carry no x- keywords.
CHILD_CONTEXTS: dict[str, tuple[str, str]] = {
    "properties": ("map", "field"),
    "$defs": ("map", "definition"),
    "items": ("single", "row"),
    "oneOf": ("list", "option"),
    "allOf": ("list", "conditional_block"),
    "if": ("single", "condition"),
    "then": ("single", "condition"),
    "else": ("single", "condition"),
    "additionalProperties": ("single", "condition"),
}
NO_EXTENSIONS = frozenset({"option", "conditional_block", "condition"})

# Chinese wording of the jsonschema error kinds that x- values can produce.
VALUE_MESSAGES: dict[str, str] = {
    "enum": "取值「{instance}」无效，应为以下之一：{expected}",
    "const": "取值应为 {expected}",
    "type": "类型应为 {expected}",
    "required": "缺少必填项：{detail}",
    "additionalProperties": "包含未声明的属性：{detail}",
    "pattern": "{pattern_message}（现在是「{instance}」）",
    "minimum": "取值不能小于 {expected}",
    "exclusiveMinimum": "取值必须大于 {expected}",
    "maximum": "取值不能大于 {expected}",
    "exclusiveMaximum": "取值必须小于 {expected}",
    "minLength": "不能为空",
    "maxLength": "不能超过 {expected} 个字",
    "minItems": "至少需要 {expected} 项",
    "maxItems": "最多 {expected} 项",
    "minProperties": "不能为空对象",
    "format": "「{instance}」不是有效的 {expected}",
    "dependentRequired": "有此项时还须写明：{expected}",
    "anyOf": "「{instance}」不符合任何一种允许的写法",
    "oneOf": "「{instance}」不符合（或同时符合多种）允许的写法",
    "uniqueItems": "不能有重复项",
    "not": "该类型的映射不允许属性「{detail}」",
}
CONTEXT_NAMES = {"root": "根节点", "field": "字段", "row": "数组的 items（行）", "definition": "$defs 定义"}
# x- values that are lists of items a finding names by number (and by id): keyword -> (where the list
# is inside the value, what one item is called, the item's own name)
ITEM_LISTS: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    "x-rules": ((), "规则", "id"),
    "x-mappings": (("fields",), "映射", None),
}
# A wrong value of these kinds reads wrong but is read the same way (a rule's message without Chinese, an
# id with capitals, an unknown unit): the field tree can still be built, so the other checks still run and
# the author sees every finding in one round. x-widget and a mapping's kind decide how the rest is read.
VALUE_ONLY = frozenset({"pattern", "enum"})
SHAPE_DECIDING = frozenset({"x-widget", "x-mappings"})


@cache
def vocabulary() -> dict[str, Any]:
    return json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))


@cache
def _context_validator(context: str) -> Draft202012Validator:
    vocab = vocabulary()
    registry = Registry().with_resource(vocab["$id"], Resource.from_contents(vocab))
    return Draft202012Validator({"$ref": f"{vocab['$id']}#/$defs/{context}"}, registry=registry)


def context_keywords(context: str) -> frozenset[str]:
    return frozenset(vocabulary()["$defs"][context]["properties"])


def _keyword_contexts(keyword: str) -> list[str]:
    return [c for c in CONTEXT_NAMES if keyword in context_keywords(c)]


def check_structure(doc: Any, file: str, problems: ProblemList) -> bool:
    """Meta-schema, supported keywords and x- vocabulary; adds every finding to ``problems``. True when
    the document's shape is sound: no finding, or only x- values that read wrong (see VALUE_ONLY)."""
    before = len(problems.items)
    value_only: list[Problem] = []
    for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(doc):
        problems.add(
            f"不符合 JSON Schema 2020-12 元模式：{_metaschema_message(error)}",
            definition=DefinitionRef(file, pointers.from_path(error.absolute_path)),
            code="metaschema",
        )
    if isinstance(doc, dict):
        _walk(doc, "", "root", file, problems, value_only)
    return len(problems.items) - before == len(value_only)


def _walk(
    node: Any, pointer: str, context: str, file: str, problems: ProblemList, value_only: list[Problem]
) -> None:
    if not isinstance(node, dict):
        return
    allowed = _allowed_keywords(context)
    extensions: dict[str, Any] = {}
    for keyword, value in node.items():
        at = pointers.join(pointer, keyword)
        if keyword.startswith("x-"):
            extensions[keyword] = value
        elif keyword not in allowed:
            problems.add(
                f"不支持的关键字「{keyword}」（{_context_hint(context)}）",
                definition=DefinitionRef(file, at),
                code="keyword",
            )
        elif keyword == "format" and value not in SUPPORTED_FORMATS:
            problems.add(
                f"format 只支持 date 和 email，不支持「{value}」",
                definition=DefinitionRef(file, at),
                code="keyword",
            )
        if keyword in CHILD_CONTEXTS and keyword in allowed:
            shape, child_context = CHILD_CONTEXTS[keyword]
            if context == "condition":  # everything below a condition is condition too
                child_context = "condition"
            for child_pointer, child in _children(value, at, shape):
                _walk(child, child_pointer, child_context, file, problems, value_only)
    if context == "option" and "const" not in node:
        problems.add(
            "oneOf 只能用于带标签的选项，每项须为 {const, title}",
            definition=DefinitionRef(file, pointer),
            code="keyword",
        )
    if context == "conditional_block" and "if" not in node:
        problems.add("allOf 只能由 if/then 块组成", definition=DefinitionRef(file, pointer), code="keyword")
    _check_extensions(extensions, node, pointer, context, file, problems, value_only)


def _allowed_keywords(context: str) -> frozenset[str]:
    return {"option": OPTION_KEYWORDS, "conditional_block": CONDITIONAL_BLOCK_KEYWORDS}.get(
        context, SUPPORTED_KEYWORDS
    )


def _context_hint(context: str) -> str:
    return {
        "option": "oneOf 的选项只能有 const、title、description",
        "conditional_block": "allOf 的每项只能有 if、then、else",
    }.get(context, "请检查拼写，或参见 docs/definitions.md 中支持的关键字")


def _children(value: Any, pointer: str, shape: str) -> Iterator[tuple[str, Any]]:
    if shape == "map" and isinstance(value, dict):
        yield from ((pointers.join(pointer, k), v) for k, v in value.items())
    elif shape == "list" and isinstance(value, list):
        yield from ((pointers.join(pointer, i), v) for i, v in enumerate(value))
    elif shape == "single":
        yield pointer, value


def _check_extensions(
    extensions: dict[str, Any],
    node: dict[str, Any],
    pointer: str,
    context: str,
    file: str,
    problems: ProblemList,
    value_only: list[Problem],
) -> None:
    if not extensions:
        return
    if context in NO_EXTENSIONS:
        for keyword in extensions:
            problems.add(
                f"扩展关键字{labelled(keyword)}不能用在条件或选项中",
                definition=DefinitionRef(file, pointers.join(pointer, keyword)),
                code="x-keyword",
            )
        return
    declared = context_keywords(context)
    for keyword in extensions:
        if keyword not in declared:
            problems.add(
                _undeclared_message(keyword, context),
                definition=DefinitionRef(file, pointers.join(pointer, keyword)),
                code="x-keyword",
            )
    known = {k: v for k, v in extensions.items() if k in declared}
    for error in _context_validator(context).iter_errors(known):
        problem = Problem(
            f"{_owner(context, node, pointer)}{_part(error.absolute_path, known)}不合法：{_value_message(error)}",
            definition=DefinitionRef(file, pointers.join(pointer, *error.absolute_path)),
            code="x-keyword",
        )
        problems.items.append(problem)
        if (
            error.validator in VALUE_ONLY
            and isinstance(error.instance, str)
            and error.absolute_path[0] not in SHAPE_DECIDING
        ):
            value_only.append(problem)


def _owner(context: str, node: dict[str, Any], pointer: str) -> str:
    """Whose x- value it is, as the author knows it: 字段「户籍人口」的 (the root's needs no name)."""
    if context in ("field", "definition"):
        title = node.get("title")
        return f"字段「{title if isinstance(title, str) and title else pointer.rsplit('/', 1)[-1]}」的"
    return "数组每行的" if context == "row" else ""


def _part(path: Any, extensions: dict[str, Any]) -> str:
    """The keyword (and the rule or mapping in it) a bad value belongs to: 审核规则（x-rules）第 2 条规则
    「pop_sex_sum」的提示信息（message）."""
    keyword, rest = path[0], list(path)[1:]
    text = labelled(keyword)
    if keyword in ITEM_LISTS:
        inside, item_name, name_key = ITEM_LISTS[keyword]
        items = extensions[keyword]
        for step in inside:
            if not rest or rest[0] != step or not isinstance(items, dict):
                break
            items, rest = items.get(step), rest[1:]
        if rest and isinstance(rest[0], int) and isinstance(items, list):
            item = items[rest[0]]
            name = item.get(name_key) if name_key and isinstance(item, dict) else None
            text += f"第 {rest[0] + 1} 条{item_name}" + (f"「{name}」" if isinstance(name, str) and name else "")
            rest = rest[1:]
    if rest:
        text += "的" + "的".join(labelled(str(step)) for step in rest)
    return text


def _undeclared_message(keyword: str, context: str) -> str:
    elsewhere = _keyword_contexts(keyword)
    if elsewhere:
        places = "、".join(CONTEXT_NAMES[c] for c in elsewhere)
        return f"扩展关键字{labelled(keyword)}不能用在{CONTEXT_NAMES[context]}上，只能用在：{places}"
    return (
        f"未声明的扩展关键字「{keyword}」（请检查拼写；可用：{'、'.join(sorted(context_keywords(context)))}）"
    )


def _metaschema_message(error: ValidationError) -> str:
    """In Chinese: of an "any of these forms" failure, the alternative that came closest (``"float"`` as a
    type: not one of the type names), as jsonschema's ``best_match`` picks it."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        error = best_match(error.context)
    if error.validator == "type" and isinstance(error.validator_value, str):
        return f"「{error.instance}」的类型应为 {TYPE_NAMES.get(error.validator_value, error.validator_value)}"
    return _value_message(error)


def _value_message(error: ValidationError) -> str:
    template = VALUE_MESSAGES.get(str(error.validator))
    if template is None:
        return error.message
    expected = error.validator_value
    if isinstance(expected, list):
        expected = "、".join(map(str, expected))
    return template.format(
        instance=error.instance,
        expected=expected,
        detail=_detail(error),
        pattern_message=error.schema.get("x-pattern-message") or f"须符合格式 {error.validator_value}"
        if isinstance(error.schema, dict)
        else "",
    )


def _detail(error: ValidationError) -> str:
    if error.validator == "required":
        return "、".join(r for r in error.validator_value if r not in error.instance)
    if error.validator == "not" and error.path:
        return str(error.path[-1])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {})
        return "、".join(k for k in error.instance if k not in declared)
    return ""
