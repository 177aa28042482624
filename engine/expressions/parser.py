"""Parse an expression with ``ast`` and admit only a whitelist of node types.

Nothing here executes code: the tree is inspected and handed to the evaluator, which interprets it
itself. Every construct not in ``_CHECKS`` is refused with a Chinese message naming it and its column.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.functions import FUNCTIONS
from engine.expressions.operators import ARITHMETIC, COMPARISONS, UNARY
from engine.expressions.values import MAX_MAGNITUDE

MAX_SOURCE_LENGTH = 2000
MAX_NODES = 400
MAX_DEPTH = 64  # a sum of ~60 terms written out with "+" still fits; the evaluator recurses this deep

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda 匿名函数",
    ast.ListComp: "列表推导式",
    ast.SetComp: "集合推导式",
    ast.DictComp: "字典推导式",
    ast.GeneratorExp: "生成器表达式",
    ast.JoinedStr: "f-字符串",
    ast.FormattedValue: "f-字符串",
    ast.NamedExpr: "赋值表达式 :=",
    ast.Starred: "星号展开 *",
    ast.Subscript: "下标访问 []",
    ast.Slice: "切片",
    ast.Dict: "字典",
    ast.Set: "集合",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.Pow: "乘方运算 **",
    ast.MatMult: "矩阵乘法 @",
    ast.LShift: "位移运算 <<",
    ast.RShift: "位移运算 >>",
    ast.BitAnd: "按位与 &",
    ast.BitOr: "按位或 |",
    ast.BitXor: "按位异或 ^",
    ast.Invert: "按位取反 ~",
    ast.Is: "is 比较（请用 == 或 !=）",
    ast.IsNot: "is not 比较（请用 == 或 !=）",
}

_STATEMENTS: dict[type[ast.AST], str] = {
    ast.Import: "import 导入",
    ast.ImportFrom: "import 导入",
    ast.Assign: "赋值",
    ast.AugAssign: "赋值",
    ast.AnnAssign: "赋值",
}

# What to write instead of a statement, when the author meant an expression (a = b: meant a == b).
_STATEMENT_HINTS: dict[type[ast.AST], Callable[[str], str]] = {
    ast.Assign: lambda source: "判断相等请写 ==（两个等号），如 "
    + _outside_strings(source, lambda code: re.sub(r"(?<![=<>!])=(?!=)", "==", code)),
}
# Symbols an input method or a maths habit types where the language needs ASCII. Full-width forms
# (（ ＞ ＝ １) are found by their NFKC compatibility form; these have none.
_ASCII_FOR = {"≥": ">=", "≤": "<=", "≠": "!=", "×": "*", "÷": "/", "“": "'", "”": "'", "‘": "'", "’": "'",
              "—": "-"}  # fmt: skip
# Operators of other languages (Excel, C, SQL) -> this language's spelling
_FOREIGN_OPERATORS = {"=>": ">=", "=<": "<=", "<>": "!=", "&&": "and", "||": "or"}
_STRING_LITERAL = re.compile(r"('[^']*'|\"[^\"]*\")")

_CONSTANT_TYPES = (int, float, str, bool, type(None))


@dataclass(frozen=True)
class Reference:
    """A field reference as written. ``row_of`` names the collection when used inside a per-row argument."""

    name: str
    row_of: str | None = None


def data_path(node: ast.AST) -> str | None:
    """The dotted text of a Name or an Attribute chain rooted at a Name (a data path), else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def row_collection(call: ast.Call) -> str | None:
    """The written collection of a per-row aggregate call ``f(rows, expr)``, else None."""
    function = FUNCTIONS.get(call.func.id) if isinstance(call.func, ast.Name) else None
    if function is None or function.reduce_rows is None or len(call.args) != 2:
        return None
    return data_path(call.args[0])


def parse(source: str) -> tuple[ast.expr, tuple[Reference, ...]]:
    """The checked tree and its field references (deduplicated, in order of appearance)."""
    if not isinstance(source, str):
        raise ExpressionError("表达式必须是文本", details={"source": repr(source)})
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"表达式过长（{len(source)} 个字符，最多 {MAX_SOURCE_LENGTH} 个）",
            details={"source": source[:100], "construct": "length", "limit": MAX_SOURCE_LENGTH},
        )
    if not source.strip():
        raise ExpressionError("表达式为空", details={"source": source})
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(source, exc) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, pathological nesting
        raise ExpressionError("表达式无法解析", details={"source": source, "reason": str(exc)}) from None
    checker = _Checker(source)
    checker.visit(tree.body, 1, None)
    return tree.body, tuple(dict.fromkeys(checker.references))


def _syntax_error(source: str, exc: SyntaxError) -> ExpressionError:
    details = {
        "source": source,
        "construct": "syntax",
        "reason": exc.msg,
        "line": exc.lineno,
        "column": exc.offset,
    }
    try:
        # Only to name the statement in the message; nothing is executed.
        module = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        module = None
    if module is not None and module.body and not isinstance(module.body[0], ast.Expr):
        statement = module.body[0]
        name = _STATEMENTS.get(type(statement), type(statement).__name__)
        details["construct"] = type(statement).__name__
        hint = _STATEMENT_HINTS.get(type(statement))
        return ExpressionError(
            f"表达式不能包含语句（{name}），只能写一个表达式" + (f"；{hint(source)}" if hint else ""), details=details
        )
    where = f"第 {exc.lineno} 行第 {exc.offset} 列" if (exc.lineno or 1) > 1 else f"第 {exc.offset} 列"
    replacements = _symbol_replacements(source)
    hint = f"：请把{'、'.join(f'「{a}」换成「{b}」' for a, b in replacements)}（表达式中的符号要用英文半角）"
    return ExpressionError(f"表达式语法错误（{where}附近）{hint if replacements else ''}", details=details)


def _outside_strings(source: str, fix: Callable[[str], str]) -> str:
    """``fix`` applied to the source outside its text constants ('是（含）' is data, not a symbol)."""
    parts = _STRING_LITERAL.split(source)
    return "".join(part if i % 2 else fix(part) for i, part in enumerate(parts))


def _ascii_for(char: str) -> str | None:
    if char.isascii():
        return None
    compatible = unicodedata.normalize("NFKC", char)
    return compatible if compatible.isascii() and compatible.strip() else _ASCII_FOR.get(char)


def _symbol_replacements(source: str) -> list[tuple[str, str]]:
    """(written, meant) for each full-width or foreign symbol outside text constants, in order of
    appearance: （ → (, ≥ → >=, <> → !=."""
    code = "".join(" " if i % 2 else part for i, part in enumerate(_STRING_LITERAL.split(source)))
    found = {char: meant for char in code if (meant := _ascii_for(char))}
    found.update((written, meant) for written, meant in _FOREIGN_OPERATORS.items() if written in code)
    return list(found.items())


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes = 0
        self.references: list[Reference] = []

    def visit(self, node: ast.AST, depth: int, row_of: str | None) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(node, f"表达式过于复杂（超过 {MAX_NODES} 个语法节点）", "nodes")
        if depth > MAX_DEPTH:
            raise self.error(node, f"表达式嵌套过深（超过 {MAX_DEPTH} 层）", "depth")
        check = _CHECKS.get(type(node))
        if check is None:
            raise self.forbidden(node, node)
        check(self, node, depth, row_of)

    def forbidden(self, node: ast.AST, construct: ast.AST) -> ExpressionError:
        name = type(construct).__name__
        return self.error(node, f"表达式不允许使用{_FORBIDDEN.get(type(construct), f'「{name}」语法')}", name)

    def error(self, node: ast.AST, message: str, construct: str) -> ExpressionError:
        line, column, offset = self.position(node)
        where = f"第 {line} 行第 {column} 列" if line > 1 else f"第 {column} 列"
        details = {
            "source": self.source,
            "construct": construct,
            "line": line,
            "column": column,
            "offset": offset,
        }
        return ExpressionError(f"{message}（{where}）", details=details)

    def position(self, node: ast.AST) -> tuple[int, int, int]:
        """(line, 1-based column, 0-based offset into the source) in characters; ast counts UTF-8 bytes."""
        line = getattr(node, "lineno", 1)
        lines = self.source.splitlines(keepends=True) or [""]
        text = lines[min(line, len(lines)) - 1]
        chars = len(text.encode("utf-8")[: getattr(node, "col_offset", 0)].decode("utf-8", errors="ignore"))
        return line, chars + 1, sum(len(x) for x in lines[: line - 1]) + chars

    def add_reference(self, node: ast.AST, path: str, row_of: str | None) -> None:
        for segment in path.split("."):
            if segment.startswith("_"):
                raise self.error(node, f"表达式不允许使用以下划线开头的名字「{segment}」", segment)
        self.references.append(Reference(path, row_of))


def _check_constant(checker: _Checker, node: ast.Constant, depth: int, row_of: str | None) -> None:
    value = node.value
    if not isinstance(value, _CONSTANT_TYPES):
        raise checker.error(node, f"表达式不允许使用 {type(value).__name__} 类型的常量", type(value).__name__)
    if isinstance(value, int | float) and not isinstance(value, bool) and not abs(value) <= MAX_MAGNITUDE:
        raise checker.error(node, f"数值超出允许范围（绝对值不超过 {MAX_MAGNITUDE:.0e}）", "Constant")


def _check_path(checker: _Checker, node: ast.Name | ast.Attribute, depth: int, row_of: str | None) -> None:
    path = data_path(node)
    if path is None:
        raise checker.error(
            node, "表达式不允许使用属性访问（点号只能用于字段路径，如 population.pop_total）", "Attribute"
        )
    checker.nodes += path.count(".")  # the chain's inner nodes are not visited one by one
    checker.add_reference(node, path, row_of)


def _check_sequence(checker: _Checker, node: ast.List | ast.Tuple, depth: int, row_of: str | None) -> None:
    for item in node.elts:
        checker.visit(item, depth + 1, row_of)


def _check_binop(checker: _Checker, node: ast.BinOp, depth: int, row_of: str | None) -> None:
    if type(node.op) not in ARITHMETIC:
        raise checker.forbidden(node, node.op)
    checker.visit(node.left, depth + 1, row_of)
    checker.visit(node.right, depth + 1, row_of)


def _check_unary(checker: _Checker, node: ast.UnaryOp, depth: int, row_of: str | None) -> None:
    if type(node.op) not in UNARY:
        raise checker.forbidden(node, node.op)
    checker.visit(node.operand, depth + 1, row_of)


def _check_boolop(checker: _Checker, node: ast.BoolOp, depth: int, row_of: str | None) -> None:
    for value in node.values:
        checker.visit(value, depth + 1, row_of)


def _check_compare(checker: _Checker, node: ast.Compare, depth: int, row_of: str | None) -> None:
    for op in node.ops:
        if type(op) not in COMPARISONS:
            raise checker.forbidden(node, op)
    checker.visit(node.left, depth + 1, row_of)
    for comparator in node.comparators:
        checker.visit(comparator, depth + 1, row_of)


def _check_ifexp(checker: _Checker, node: ast.IfExp, depth: int, row_of: str | None) -> None:
    for part in (node.test, node.body, node.orelse):
        checker.visit(part, depth + 1, row_of)


def _check_call(checker: _Checker, node: ast.Call, depth: int, row_of: str | None) -> None:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    function = FUNCTIONS.get(name) if name else None
    if function is None:
        written = (
            name or data_path(node.func) or (ast.get_source_segment(checker.source, node.func) or "")[:40]
        )
        available = "、".join(FUNCTIONS)
        raise checker.error(node, f"不允许调用「{written}」：只能调用这些函数：{available}", written)
    if node.keywords:
        raise checker.error(node, f"表达式不允许使用关键字参数（{name}() 的参数只能按位置传递）", "keyword")
    count = len(node.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise checker.error(node, f"函数 {name}() 的参数个数不对（写法：{function.signature}）", "Call")
    collection = row_collection(node)
    if count == 2 and function.reduce_rows and not function.scalar_pair and collection is None:
        raise checker.error(
            node, f"{name}() 有两个参数时，第一个参数必须是重复行字段（写法：{function.signature}）", "Call"
        )
    for index, arg in enumerate(node.args):
        inner = collection if collection is not None and index == 1 else row_of
        checker.visit(arg, depth + 1, inner)


_CHECKS: dict[type[ast.AST], Callable[[_Checker, Any, int, str | None], None]] = {
    ast.Constant: _check_constant,
    ast.Name: _check_path,
    ast.Attribute: _check_path,
    ast.List: _check_sequence,
    ast.Tuple: _check_sequence,
    ast.BinOp: _check_binop,
    ast.UnaryOp: _check_unary,
    ast.BoolOp: _check_boolop,
    ast.Compare: _check_compare,
    ast.IfExp: _check_ifexp,
    ast.Call: _check_call,
}
