"""A BPMN file's XML, parsed safely (no entities, no network, no DTD), its syntax errors told in Chinese.

libxml2 reports in English (``Premature end of data in tag sequenceFlow line 96``); the centre's staff
get the place and a Chinese reading of the error instead, from libxml2's error code.
"""

from __future__ import annotations

from types import MappingProxyType

from lxml import etree

_E = etree.ErrorTypes

# libxml2 error code -> what it means for the person who uploaded the file
SYNTAX_MESSAGES = MappingProxyType({
    _E.ERR_DOCUMENT_EMPTY: "文件为空，或不是 XML 文件",
    _E.ERR_DOCUMENT_START: "文件开头不是 XML",
    _E.ERR_DOCUMENT_END: "文档结束后还有多余内容",
    _E.ERR_TAG_NOT_FINISHED: "有标签没有结束",
    _E.ERR_TAG_NAME_MISMATCH: "开始标签与结束标签不匹配",
    _E.ERR_GT_REQUIRED: "标签缺少结尾的“>”",
    _E.ERR_LTSLASH_REQUIRED: "缺少结束标签“</…>”",
    _E.ERR_NAME_REQUIRED: "缺少标签或属性名称",
    _E.ERR_ATTRIBUTE_NOT_STARTED: "属性值应写在引号中",
    _E.ERR_ATTRIBUTE_WITHOUT_VALUE: "属性缺少取值",
    _E.ERR_ATTRIBUTE_NOT_FINISHED: "属性值没有结束",
    _E.ERR_SPACE_REQUIRED: "属性之间缺少空格",
    _E.NS_ERR_QNAME: "标签或属性名称无效",
    _E.ERR_ATTRIBUTE_REDEFINED: "同一标签中属性重复",
    _E.ERR_STRING_NOT_CLOSED: "引号没有闭合",
    _E.ERR_LT_IN_ATTRIBUTE: "属性值中不能有“<”",
    _E.ERR_UNDECLARED_ENTITY: "使用了未定义的实体（&…;）",
    _E.ERR_ENTITY_IS_EXTERNAL: "引用了外部实体（出于安全原因不允许）",
    _E.ERR_ENTITYREF_SEMICOL_MISSING: "实体引用缺少结尾的“;”（文本中的“&”应写作 &amp;）",
    _E.ERR_INVALID_CHAR: "含有 XML 不允许的字符",
    _E.ERR_INVALID_CHARREF: "字符引用（&#…;）无效",
    _E.ERR_INVALID_ENCODING: "文件编码不正确（应为 UTF-8）",
    _E.ERR_UNSUPPORTED_ENCODING: "文件编码不受支持（应为 UTF-8）",
})


def parse_xml(data: bytes) -> etree._Element:
    """The root element; raises ``etree.XMLSyntaxError`` (see ``syntax_message``)."""
    # A fresh parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser=parser)


TRUNCATED = "文件在此意外结束（文件可能不完整，例如只复制或下载了一部分）"
# what libxml2 reports when the data stops inside a tag, a name or an attribute
_RAN_OUT = frozenset({
    _E.ERR_DOCUMENT_EMPTY, _E.ERR_TAG_NOT_FINISHED, _E.ERR_NAME_REQUIRED, _E.ERR_GT_REQUIRED, _E.NS_ERR_QNAME,
    _E.ERR_ATTRIBUTE_WITHOUT_VALUE, _E.ERR_ATTRIBUTE_NOT_STARTED, _E.ERR_ATTRIBUTE_NOT_FINISHED,
    _E.ERR_SPACE_REQUIRED, _E.ERR_LTSLASH_REQUIRED, _E.ERR_STRING_NOT_CLOSED, _E.ERR_INVALID_ENCODING,
})


def syntax_message(err: etree.XMLSyntaxError, data: bytes) -> str:
    """``XML 无法解析：第 L 行第 C 列附近<what>``; running out of data where ``data`` ends is a cut-off
    file, whatever libxml2 made of the last, partial construct."""
    line, column = err.position if err.position else (err.lineno, 0)
    where = f"第 {line} 行第 {column} 列附近" if column else f"第 {line} 行附近"
    last = data.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    at_end = err.code in _RAN_OUT and bool(data.strip()) and line >= data.count(b"\n") + 1 and column >= len(last)
    return f"XML 无法解析：{where}{TRUNCATED if at_end else SYNTAX_MESSAGES.get(err.code, '格式错误')}"
