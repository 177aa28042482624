"""What the workbench calls each keyword: every definition finding names a keyword by its Chinese label
first, with the keyword in brackets (单位（x-unit）), so an official finds the input the message means and
a JSON editor the key. One table, read by every message."""

from __future__ import annotations

# keyword -> the label of its input in the workbench (admin_ui/templates/workbench/_editor_macros.html)
KEYWORD_LABELS: dict[str, str] = {
    "title": "标题",
    "description": "说明",
    "type": "类型",
    "required": "必填",
    "minimum": "最小值",
    "maximum": "最大值",
    "exclusiveMinimum": "下限（不含）",
    "exclusiveMaximum": "上限（不含）",
    "minLength": "最少字数",
    "maxLength": "最多字数",
    "minItems": "最少行数",
    "maxItems": "最多行数",
    "pattern": "格式",
    "oneOf": "选项",
    "enum": "选项",
    "x-unit": "单位",
    "x-sensitive": "敏感类别",
    "x-aggregate": "汇总方式",
    "x-relevant": "显示条件",
    "x-calculate": "计算公式",
    "x-fill": "取值来源",
    "x-widget": "输入方式",
    "x-grid": "表格合计",
    "x-rules": "审核规则",
    "x-mappings": "版本映射",
    "x-period": "报告期类型",
    "x-code": "指标集编码",
    "x-version": "版本号",
    # the parts of a rule
    "id": "规则编号",
    "expr": "表达式",
    "message": "提示信息",
    "severity": "严重程度",
    "fields": "显示在哪些字段",
    # the parts of a mapping and of a grid
    "from_version": "上一版本号",
    "kind": "映射方式",
    "from": "原字段",
    "to": "新字段",
    "factor": "换算系数",
    "note": "说明",
    "row_total": "行合计",
    "column_total": "列合计",
}


def labelled(keyword: str) -> str:
    """「单位（x-unit）」: the label first, the keyword in brackets (the keyword alone if it has none)."""
    label = KEYWORD_LABELS.get(keyword)
    return f"{label}（{keyword}）" if label else keyword
