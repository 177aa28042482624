"""The command line's own words in Chinese: help layout, the help option, usage errors.

click writes its headings, the help option's text and its usage errors in English (its ``gettext``
catalog would follow the machine's locale, which on a server is ``C``). The commands' own help is
Chinese already; these classes translate what click adds, by lookup tables, and every command and
group made under ``cli`` inherits them (``command_class``/``group_class``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

HEADINGS = {"Options": "选项", "Commands": "命令", "Positional arguments": "参数"}
HELP_TEXT = "显示本帮助并退出。"
# extras click appends to an option's help line
EXTRAS = ((re.compile(r"\[required\]"), "［必填］"), (re.compile(r"\[default: (.*?)\]"), r"［默认：\1］"))
# the value types click names when a value does not convert
TYPE_NAMES = {"integer": "整数", "float": "数", "boolean": "是/否值", "UUID": "UUID"}
PARAM_KINDS = {"argument": "参数", "option": "选项"}


class ChineseHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _extras(text)) for term, text in rows], col_max, col_spacing)


def _extras(text: str) -> str:
    for pattern, chinese in EXTRAS:
        text = pattern.sub(chinese, text)
    return text


class ChineseContext(click.Context):
    formatter_class = ChineseHelpFormatter


class _Chinese:
    context_class = ChineseContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option


class ChineseCommand(_Chinese, click.Command):
    pass


class ChineseGroup(_Chinese, click.Group):
    command_class = ChineseCommand

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """click's standalone main, with its usage errors said in Chinese."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            # without standalone mode click returns ctx.exit()'s code (--help: 0) instead of exiting
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # a group given no command: its help
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:  # Ctrl-C or end of input at a prompt read while parsing (a password)
            click.echo("\n已取消（未完成的操作没有保存）", err=True)
            sys.exit(1)
        except click.UsageError as err:
            if err.ctx is not None:
                click.echo(err.ctx.get_usage(), err=True)
                click.echo(f"查看帮助：{err.ctx.command_path} --help", err=True)
            click.echo(f"\n错误：{usage_message(err)}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            click.echo(f"错误：{err.format_message()}", err=True)
            sys.exit(err.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


ChineseGroup.group_class = ChineseGroup


def _missing(err: click.MissingParameter) -> str:
    kind = PARAM_KINDS.get(err.param_type or "", "参数")
    name = err.param_hint if isinstance(err.param_hint, str) else (
        err.param.get_error_hint(err.ctx) if err.param is not None and err.ctx is not None else "")
    return f"缺少{kind} {name}".rstrip()


def _no_such_option(err: click.NoSuchOption) -> str:
    close = f"（是否想用：{'、'.join(err.possibilities)}）" if err.possibilities else ""
    return f"没有这个选项：{err.option_name}{close}"


def _no_such_command(err: click.exceptions.NoSuchCommand) -> str:
    close = f"（是否想用：{'、'.join(err.possibilities)}）" if err.possibilities else ""
    return f"没有这个命令：{err.command_name}{close}"


_NOT_A = re.compile(r"^'?(.*?)'? is not a valid (\w+)\.$")


def _bad_parameter(err: click.BadParameter) -> str:
    hint = err.param_hint if isinstance(err.param_hint, str) else (
        err.param.get_error_hint(err.ctx) if err.param is not None and err.ctx is not None else "")
    found = _NOT_A.match(err.message)
    detail = f"「{found.group(1)}」不是{TYPE_NAMES.get(found.group(2), found.group(2))}" if found else err.message
    return f"{hint} 的值不合法：{detail}" if hint else f"值不合法：{detail}"


# most specific first: MissingParameter and NoSuchOption are kinds of BadParameter/UsageError
USAGE_MESSAGES: tuple[tuple[type[click.UsageError], Callable[[Any], str]], ...] = (
    (click.MissingParameter, _missing),
    (click.NoSuchOption, _no_such_option),
    (click.exceptions.NoSuchCommand, _no_such_command),
    (click.BadParameter, _bad_parameter),
)


def usage_message(err: click.UsageError) -> str:
    for kind, say in USAGE_MESSAGES:
        if isinstance(err, kind):
            return say(err)
    if err.message == "Missing command.":
        return "缺少命令"
    return err.format_message()
