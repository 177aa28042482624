"""The BPMN 2.0 XSD's findings in Chinese, with the names they are about.

libxml2 validates against the schema and reports English sentences ("Element '{…/MODEL}outgoin': This
element is not expected. Expected is one of ( {…/MODEL}documentation, … )."). The people who upload a
flow read the place and the names in Chinese instead: each known sentence has a Chinese template, and
one libxml2 words otherwise still gets a Chinese sentence with the element's name, never English prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from engine.workflows.vocabulary import BPMN_NS, SPIFF_NS

# namespace -> the prefix modellers see in their files
PREFIXES: Mapping[str, str] = {
    BPMN_NS: "bpmn",
    SPIFF_NS: "spiffworkflow",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
}

# XSD simple types -> what a value of that type looks like
TYPE_LABELS: Mapping[str, str] = {
    "xs:boolean": "“true”或“false”",
    "xs:integer": "整数",
    "xs:int": "整数",
    "xs:decimal": "数字",
    "xs:double": "数字",
    "xs:anyURI": "URI 地址",
    "xs:QName": "带前缀的名称（如 bpmn:tFormalExpression）",
    "xs:NCName": "以字母或下划线开头、不含冒号和空格的名称",
    "xs:IDREF": "本文件中某个元素的 id",
    "xs:dateTime": "日期时间（如 2026-01-01T00:00:00）",
}

MAX_EXPECTED = 6  # an "expected one of" list can name thirty elements: the first few say enough

_HEAD = re.compile(r"Element '(?P<element>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: (?P<rest>.*)", re.S)
_NAME = re.compile(r"\{(?P<ns>[^}]*)\}(?P<local>.+)")
_NCNAME = re.compile(r"[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*")


def prefixed(name: str) -> str:
    """``{ns}local`` -> ``bpmn:local`` (the local name alone for a namespace modellers do not write)."""
    match = _NAME.fullmatch(name.strip())
    if match is None:
        return name.strip()
    prefix = PREFIXES.get(match["ns"])
    return f"{prefix}:{match['local']}" if prefix else match["local"]


def _names(listed: str) -> str:
    names = [prefixed(n) for n in listed.split(",") if n.strip()]
    more = f" 等 {len(names)} 种" if len(names) > MAX_EXPECTED else ""
    return "、".join(f"<{n}>" for n in names[:MAX_EXPECTED]) + more


def _id_value(g: Mapping[str, str]) -> str:
    # libxml2 says the same for a malformed id and for one used twice: a well-formed one was used twice
    if _NCNAME.fullmatch(g["value"]):
        return f"id「{g['value']}」重复：<{g['element']}> 与文件中另一个元素用了同一个 id，每个元素的 id 必须唯一"
    return (f"<{g['element']}> 的 id「{g['value']}」写法不对：id 须以字母或下划线开头，"
            "只能含字母、数字、下划线、连字符和点，不能有空格")


def _typed_value(g: Mapping[str, str]) -> str:
    kind = TYPE_LABELS.get(g["type"], f"{g['type']} 类型的值")
    return f"<{g['element']}> 的{g['where']}值「{g['value']}」不合法，应为{kind}"


Template = str | Callable[[Mapping[str, str]], str]

# (what libxml2 says after "Element '…'[, attribute '…']: ", in Chinese); the first match wins
XSD_MESSAGES: tuple[tuple[re.Pattern[str], Template], ...] = tuple(
    (re.compile(pattern, re.S), template)
    for pattern, template in (
        (r"This element is not expected\. Expected is (?:one of )?\( (?P<expected>.+) \)\.?",
         "这里不应出现 <{element}>（名称写错了，或位置不对），此处应为 {expected}"),
        (r"This element is not expected\.?", "这里不应出现 <{element}>（名称写错了，或位置不对）"),
        (r"The attribute '[^']+' is not allowed\.?", "<{element}> 不允许有属性 {attribute}（名称写错了，或不属于此元素）"),
        (r"The attribute '(?P<missing>[^']+)' is required but missing\.?", "<{element}> 缺少必填的属性 {missing}"),
        (r"'(?P<value>[^']*)' is not a valid value of the atomic type 'xs:ID'\.?", _id_value),
        (r"'(?P<value>[^']*)' is not a valid value of the (?:atomic|list|union) type '(?P<type>[^']+)'\.?",
         _typed_value),
        (r"Missing child element\(s\)\. Expected is (?:one of )?\( (?P<expected>.+) \)\.?",
         "<{element}> 缺少子元素，应有 {expected}"),
        (r"Character content other than whitespace is not allowed.*", "<{element}> 中不能直接写文字"),
        (r"\[facet 'enumeration'\] The value '(?P<value>[^']*)' is not an element of the set \{(?P<set>.*)\}\.?",
         "<{element}> 的{where}值「{value}」不是允许的取值（可选：{set}）"),
        (r"\[facet '[^']+'\] The value '(?P<value>[^']*)'.*", "<{element}> 的{where}值「{value}」不符合格式要求"),
        (r"No matching global declaration available for the validation root\.?",
         "根元素 <{element}> 不是 BPMN 2.0 文件的 <bpmn:definitions>"),
        (r"The QName value '(?P<value>[^']*)' of the xsi:type attribute does not resolve to a type definition\.?",
         "<{element}> 的 xsi:type「{value}」不是已知的类型"),
    )
)
UNKNOWN = "<{element}> 不符合 BPMN 2.0 的结构要求"


def xsd_message(message: str, element_at_line: str | None = None) -> str:
    """libxml2's schema finding ``message`` in Chinese. ``element_at_line``: the local name of the element
    on the reported line, for a sentence that does not name one."""
    head = _HEAD.match(message.strip())
    if head is None:
        return UNKNOWN.format(element=element_at_line or "文件中的元素")
    element, attribute = prefixed(head["element"]), head["attribute"]
    for pattern, template in XSD_MESSAGES:
        found = pattern.fullmatch(head["rest"].strip())
        if found is None:
            continue
        fields = {k: v for k, v in found.groupdict().items() if v is not None}
        if "expected" in fields:
            fields["expected"] = _names(fields["expected"])
        if "set" in fields:  # {'None', 'Public'} -> None、Public
            fields["set"] = "、".join(v.strip().strip("'") for v in fields["set"].split(","))
        if pattern.pattern.startswith("The QName value"):
            fields["value"] = prefixed(fields["value"])
        fields.update(element=element, attribute=prefixed(attribute or ""),
                      where=f"属性 {prefixed(attribute)} 的" if attribute else "内容")
        return template(fields) if callable(template) else template.format(**fields)
    return UNKNOWN.format(element=element)
