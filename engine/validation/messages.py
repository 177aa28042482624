"""Chinese messages for jsonschema errors: one template per keyword, so English never reaches a user.

Each entry maps a jsonschema keyword to a function of the error and the field (may be None) that
returns the message. Keywords not listed fall back to a generic message.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from jsonschema.exceptions import ValidationError

GENERIC = "填写的内容不符合要求"
REQUIRED = "此项为必填项"
CHOOSE = "请选择列表中的选项"

TYPE_MESSAGES = {
    "integer": "请输入整数",
    "number": "请输入数字",
    "string": "请输入文字",
    "boolean": "请选择“是”或“否”",
    "array": "应为多行列表",
    "object": "数据格式不正确",
    "null": "此项应为空",
}

# JSON Schema type names as a definition's editor or an API caller reads them ("应为 整数")
TYPE_NAMES = {"string": "字符串", "number": "数字", "integer": "整数", "boolean": "true/false", "object": "对象 {…}",
              "array": "列表 […]", "null": "null"}

FORMAT_MESSAGES = {
    "date": "请输入正确的日期，格式如 2024-01-31",
    "email": "请输入正确的电子邮箱地址，如 name@example.com",
    "date-time": "请输入正确的日期和时间，格式如 2024-01-31T08:30:00",
    "time": "请输入正确的时间，格式如 08:30:00",
    "uri": "请输入正确的网址，如 https://www.example.com",
    "ipv4": "请输入正确的 IP 地址",
}


def number_text(value: Any) -> str:
    """1e-2 -> "0.01", 10.0 -> "10": numbers as a person writes them."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def _unit(field: Any) -> str:
    unit = getattr(field, "unit", None)
    return f" {unit}" if unit else ""


def _limit(template: str) -> Callable[[ValidationError, Any], str]:
    return lambda error, field: template.format(limit=number_text(error.validator_value), unit=_unit(field))


def _type(error: ValidationError, field: Any) -> str:
    expected = error.validator_value
    if isinstance(expected, list):  # ["integer", "null"]: the non-null type is what the user must enter
        expected = next((t for t in expected if t != "null"), "null")
    return TYPE_MESSAGES.get(expected, GENERIC)


def _format(error: ValidationError, field: Any) -> str:
    return FORMAT_MESSAGES.get(error.validator_value, "格式不正确")


def _multiple_of(error: ValidationError, field: Any) -> str:
    step = Decimal(str(error.validator_value)).normalize()
    exponent = step.as_tuple().exponent
    # 0.01 is how a definition says "two decimal places"; say so instead of "multiple of 0.01"
    if step.as_tuple().digits == (1,) and isinstance(exponent, int) and exponent < 0:
        return f"最多保留 {-exponent} 位小数"
    return f"必须是 {number_text(error.validator_value)} 的整数倍"


def _max_length(error: ValidationError, field: Any) -> str:
    length = len(error.instance) if isinstance(error.instance, str) else 0
    return f"最多填写 {error.validator_value} 个字（现在 {length} 个字）"


def _const(error: ValidationError, field: Any) -> str:
    options = getattr(field, "options", ()) or ()
    return CHOOSE if options else f"只能填写“{error.validator_value}”"


def _additional(error: ValidationError, field: Any) -> str:
    return "包含表单中没有的数据项，请删除后再提交"


MESSAGES: dict[str, Callable[[ValidationError, Any], str]] = {
    "required": lambda error, field: REQUIRED,
    "dependentRequired": lambda error, field: REQUIRED,
    "type": _type,
    "format": _format,
    "minimum": _limit("不能小于 {limit}{unit}"),
    "maximum": _limit("不能大于 {limit}{unit}"),
    "exclusiveMinimum": _limit("必须大于 {limit}{unit}"),
    "exclusiveMaximum": _limit("必须小于 {limit}{unit}"),
    "multipleOf": _multiple_of,
    "minLength": _limit("至少填写 {limit} 个字"),
    "maxLength": _max_length,
    "pattern": lambda error, field: "格式不正确，请检查后重新填写",
    "enum": lambda error, field: CHOOSE,
    "oneOf": lambda error, field: CHOOSE,
    "anyOf": lambda error, field: CHOOSE,
    "const": _const,
    "minItems": _limit("至少需要填写 {limit} 行"),
    "maxItems": _limit("最多只能填写 {limit} 行"),
    "uniqueItems": lambda error, field: "有重复的行，请检查",
    "minProperties": _limit("至少需要填写 {limit} 项"),
    "maxProperties": _limit("最多只能填写 {limit} 项"),
    "additionalProperties": _additional,
    "unevaluatedProperties": _additional,
}


# A multiple choice (a list of option values) is told in terms of boxes ticked, not of rows. Errors on
# one of its values (``facilities.2``) are shown on the field itself and name the value.
AT_LEAST_ONE = "至少选择一项"


def _not_an_option(error: ValidationError, field: Any) -> str:
    return f"选项「{error.instance}」不在可选范围内"


def _choices_type(error: ValidationError, field: Any) -> str:
    # on the field: not a list at all; on one of its values: a value of another type than the options'
    return "请从选项中选择（可多选）" if error.validator_value == "array" else _not_an_option(error, field)


def _at_least(error: ValidationError, field: Any) -> str:
    return AT_LEAST_ONE if error.validator_value == 1 else f"至少选择 {error.validator_value} 项"


MULTICHOICE_MESSAGES: dict[str, Callable[[ValidationError, Any], str]] = {
    "required": lambda error, field: AT_LEAST_ONE,
    "dependentRequired": lambda error, field: AT_LEAST_ONE,
    "type": _choices_type,
    "enum": _not_an_option,
    "oneOf": _not_an_option,
    "anyOf": _not_an_option,
    "const": _not_an_option,
    "minItems": _at_least,
    "maxItems": lambda error, field: f"最多选择 {error.validator_value} 项",
    "uniqueItems": lambda error, field: "同一选项不能选择两次",
}
# Field kind -> its own messages (for the keywords it words differently); the rest come from MESSAGES.
KIND_MESSAGES: dict[str, dict[str, Callable[[ValidationError, Any], str]]] = {
    "multichoice": MULTICHOICE_MESSAGES,
}
REQUIRED_MESSAGES = {"multichoice": AT_LEAST_ONE}


def required_message(field: Any) -> str:
    """What a missing required field says: 此项为必填项, or 至少选择一项 for a multiple choice."""
    return REQUIRED_MESSAGES.get(getattr(field, "kind", None), REQUIRED)


def message_for(error: ValidationError, field: Any = None) -> str:
    """The Chinese message for one jsonschema error on ``field`` (a FieldSpec, or None)."""
    own = KIND_MESSAGES.get(getattr(field, "kind", None))
    build = (own or {}).get(str(error.validator)) or MESSAGES.get(str(error.validator))
    return build(error, field) if build else GENERIC
