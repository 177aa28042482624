"""The command line's own words are Chinese: help layout, the help option, usage errors (no database)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cli.main import cli

ENGLISH = re.compile(r"Usage|Options|Commands|Show this|Error|Missing|No such|Try '|is not a valid|required\]")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="grassroots")


def test_help_is_chinese_throughout():
    result = run("users", "add", "--help")
    assert result.exit_code == 0
    assert result.output.startswith("用法：grassroots users add [OPTIONS] USERNAME")
    assert "选项：" in result.output and "显示本帮助并退出。" in result.output
    assert not ENGLISH.search(result.output), result.output
    top = run("--help").output
    assert "命令：" in top and not ENGLISH.search(top), top


@pytest.mark.parametrize(("args", "said"), [
    (("users", "add"), "错误：缺少参数 'USERNAME'"),
    (("nosuch",), "错误：没有这个命令：nosuch"),
    (("users", "add", "x", "--bogus"), "错误：没有这个选项：--bogus"),
    (("export", "abc"), "错误：'COLLECTION_ID' 的值不合法：「abc」不是整数"),
])
def test_usage_errors_are_chinese(args, said):
    result = run(*args)
    assert result.exit_code == 2
    assert said in result.output and "用法：" in result.output and "查看帮助：" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_a_required_option_is_marked_in_chinese():
    from cli.chinese import _extras

    assert _extras("采集任务编号  [required]") == "采集任务编号  ［必填］"
    assert _extras("批大小  [default: 500]") == "批大小  ［默认：500］"
