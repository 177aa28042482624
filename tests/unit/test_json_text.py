"""A definition's JSON text: errors in Chinese with line and the line's text; a key twice is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.definitions import load_indicator_file
from engine.definitions.json_text import parse_json
from engine.errors import BadInput, DefinitionError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "line", "message"), [
    ('{"a": 1,\n "b": 2\n "c": 3}', 3, "缺少英文逗号“,”。该行：“\"c\": 3}”"),
    ('{"a": [1, 2,]}', 1, "此处缺少一个值（或多了一个逗号）"),
    ('{"a": 1,}', 1, "键名须用英文双引号括起（或多了一个逗号）"),
    ('{"a" 1}', 1, "缺少英文冒号“:”"),
    ('{"a": "没有结束}', 1, "字符串缺少结束的英文双引号"),
    ('{"a": "\\q"}', 1, "无效的反斜杠转义"),
    ('{"a": 1} x', 1, "JSON 已结束，后面还有多余内容"),
])  # fmt: skip
def test_syntax_errors_in_chinese(text: str, line: int, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_json(text)
    assert f"JSON 格式错误（第 {line} 行" in caught.value.message and message in caught.value.message
    assert caught.value.details["line"] == line
    assert not any(c.isascii() and c.isalpha() for c in caught.value.message.split("。该行")[0]
                   .replace("JSON", ""))  # no English from json's own message


def test_a_key_twice_in_one_object_is_refused_at_its_second_place() -> None:
    text = '{"land": {\n  "cultivated": {"title": "耕地"},\n  "other": {"cultivated": 1},\n  "cultivated": {}\n}}'
    with pytest.raises(BadInput) as caught:
        parse_json(text)
    assert "键「cultivated」出现了两次（第二次在第 4 行）" in caught.value.message
    assert caught.value.details == {"line": 4, "key": "cultivated"}
    # the same key in different objects (a nested one, rows of a list) is fine
    assert parse_json('{"a": {"a": 1}, "l": [{"k": 1}, {"k": 2}]}') == {"a": {"a": 1}, "l": [{"k": 1}, {"k": 2}]}


def test_the_shipped_definitions_read_the_same_as_json_does() -> None:
    for path in sorted((ROOT / "definitions/indicators").glob("*/v*.json")):
        text = path.read_text(encoding="utf-8")
        assert parse_json(text) == json.loads(text), path


def test_a_definition_file_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "tiny" / "v1.json"
    target.parent.mkdir()
    target.write_text('{"title": "测试",\n "title": "又一个"}', encoding="utf-8")
    with pytest.raises(DefinitionError, match="键「title」出现了两次（第二次在第 2 行）"):
        load_indicator_file(target)
