"""The whitelisted functions: ``FUNCTIONS`` maps a callable name to its implementation and arity.

Nothing outside this table can be called from an expression. Missing values (None) propagate as None,
except where a function exists to handle them (coalesce, is_blank) or aggregates, which skip them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from engine.expressions import idcard
from engine.expressions.values import (
    EvaluationError,
    checked_number,
    compare,
    describe,
    is_number,
    to_date,
    truth,
)


@dataclass(frozen=True)
class Function:
    name: str
    impl: Callable[..., Any]  # called with the evaluated arguments
    min_args: int
    max_args: int | None  # None: any number
    signature: str
    summary: str  # Chinese, for documentation and checker messages
    # The per-row form f(rows, expr): expr is evaluated once per row and the results are reduced by this.
    reduce_rows: Callable[[list[Any]], Any] | None = None
    # min/max: f(a, b) may also be two scalars, decided at run time by whether `a` is a list
    scalar_pair: bool = False


# -- aggregates ---------------------------------------------------------------------------------------


def _as_list(value: Any, name: str) -> list[Any] | None:
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    raise EvaluationError(f"{name}() 需要列表（重复行），得到的是{describe(value)}")


def _numbers(values: list[Any], name: str) -> list[int | float]:
    present = [v for v in values if v is not None]
    for value in present:
        if not is_number(value):
            raise EvaluationError(f"{name}() 只能汇总数字，得到的是{describe(value)}")
    return present


def _total(numbers: list[int | float]) -> int | float:
    if all(isinstance(n, int) for n in numbers):
        return sum(numbers)
    return math.fsum(numbers)  # exact float sum: the order of rows must not change a total


def sum_values(values: list[Any]) -> int | float:
    return checked_number(_total(_numbers(values, "sum")))


def avg_values(values: list[Any]) -> float | None:
    numbers = _numbers(values, "avg")
    return checked_number(_total(numbers) / len(numbers)) if numbers else None


def count_true(values: list[Any]) -> int:
    return sum(1 for v in values if truth(v, "count() 的条件") is True)


def _extreme(name: str, sign: int) -> Callable[[list[Any]], Any]:
    def reduce(values: list[Any]) -> Any:
        best = None
        for value in values:
            if value is not None and (best is None or compare(value, best, name) * sign > 0):
                best = value
        return best

    return reduce


min_values = _extreme("min", -1)
max_values = _extreme("max", 1)


def _sum(values: Any) -> int | float:
    items = _as_list(values, "sum")
    return 0 if items is None else sum_values(items)


def _avg(values: Any) -> float | None:
    items = _as_list(values, "avg")
    return None if items is None else avg_values(items)


def _count(values: Any) -> int:
    items = _as_list(values, "count")
    return 0 if items is None else sum(1 for v in items if v is not None)


def _min_max(name: str, reduce: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        if len(args) == 1:
            items = _as_list(args[0], name)
            return None if items is None else reduce(items)
        if any(a is None for a in args):
            return None  # scalars: skip if any value is missing
        return reduce(list(args))

    return run


# -- general ------------------------------------------------------------------------------------------


def _number_or_none(value: Any, name: str) -> int | float | None:
    if value is not None and not is_number(value):
        raise EvaluationError(f"{name}() 需要数字，得到的是{describe(value)}")
    return value


def _abs(value: Any) -> int | float | None:
    number = _number_or_none(value, "abs")
    return None if number is None else abs(number)


_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(-10, 11)}  # round()'s places, made once


def _round(value: Any, *ndigits: Any) -> int | float | None:
    """Half up (四舍五入), as statistical tables expect, not Python's half-to-even."""
    number = _number_or_none(value, "round")
    places = ndigits[0] if ndigits else 0
    if number is None or places is None:
        return None
    if not (isinstance(places, int) and not isinstance(places, bool) and -10 <= places <= 10):
        raise EvaluationError(f"round() 的小数位数需要 -10 到 10 的整数，得到的是{describe(places)}")
    if isinstance(number, int) and places >= 0:
        return number
    rounded = Decimal(str(number)).quantize(_QUANTUM[places], rounding=ROUND_HALF_UP)
    return float(rounded) if ndigits and places > 0 else int(rounded)


def _len(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str | list | tuple):
        return len(value)
    raise EvaluationError(f"len() 需要文本或列表，得到的是{describe(value)}")


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def is_blank(value: Any) -> bool:
    """``is_blank(x)``; also what a saved draft counts as not filled in yet (engine.validation.drafts)."""
    return value is None or value == "" or (isinstance(value, list | tuple) and len(value) == 0)


def _unique(values: Any) -> bool | None:
    items = _as_list(values, "unique")
    if items is None:
        return None
    present = [v for v in items if v is not None]
    try:
        return len(set(present)) == len(present)
    except TypeError as exc:
        raise EvaluationError("unique() 只能用于数字、文本或日期的列表") from exc


# -- dates --------------------------------------------------------------------------------------------


def _date(value: Any) -> date | None:
    return to_date(value, "date() ")


def _today() -> date:
    return date.today()


def _year(value: Any) -> int | None:
    d = to_date(value, "year() ")
    return None if d is None else d.year


def _month(value: Any) -> int | None:
    d = to_date(value, "month() ")
    return None if d is None else d.month


def _days_between(start: Any, end: Any) -> int | None:
    a, b = to_date(start, "days_between() "), to_date(end, "days_between() ")
    return None if a is None or b is None else (b - a).days


def _age(birth: Any, at: Any) -> int | None:
    born, on = to_date(birth, "age() "), to_date(at, "age() ")
    if born is None or on is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# -- ID numbers ---------------------------------------------------------------------------------------


def _id_valid(value: Any) -> bool | None:
    return None if value is None else idcard.is_valid(value)


def _id_birth_date(value: Any) -> str | None:
    born = idcard.birth_date(value) if isinstance(value, str) else None
    return None if born is None else born.isoformat()


def _id_sex(value: Any) -> str | None:
    return idcard.sex(value) if isinstance(value, str) else None


def _table(*functions: Function) -> MappingProxyType[str, Function]:
    return MappingProxyType({f.name: f for f in functions})


FUNCTIONS: MappingProxyType[str, Function] = _table(
    Function(
        "sum", _sum, 1, 2, "sum(列表) / sum(重复行, 表达式)", "求和（忽略空值；没有值时为 0）", sum_values
    ),
    Function(
        "count",
        _count,
        1,
        2,
        "count(列表) / count(重复行, 条件)",
        "计数：非空值的个数 / 条件为真的行数",
        count_true,
    ),
    Function(
        "min",
        _min_max("min", min_values),
        1,
        None,
        "min(列表) / min(重复行, 表达式) / min(a, b, ...)",
        "最小值（忽略空值）",
        min_values,
        scalar_pair=True,
    ),
    Function(
        "max",
        _min_max("max", max_values),
        1,
        None,
        "max(列表) / max(重复行, 表达式) / max(a, b, ...)",
        "最大值（忽略空值）",
        max_values,
        scalar_pair=True,
    ),
    Function(
        "avg", _avg, 1, 2, "avg(列表) / avg(重复行, 表达式)", "平均值（忽略空值；没有值时为空）", avg_values
    ),
    Function("abs", _abs, 1, 1, "abs(x)", "绝对值"),
    Function("round", _round, 1, 2, "round(x[, 小数位数])", "四舍五入"),
    Function("len", _len, 1, 1, "len(文本或列表)", "长度"),
    Function("coalesce", _coalesce, 1, None, "coalesce(a, b, ...)", "第一个非空的值"),
    Function("is_blank", is_blank, 1, 1, "is_blank(x)", "是否为空（空值、空文本或空列表）"),
    Function("date", _date, 1, 1, "date('YYYY-MM-DD')", "日期"),
    Function("today", _today, 0, 0, "today()", "今天的日期"),
    Function("year", _year, 1, 1, "year(日期)", "年份"),
    Function("month", _month, 1, 1, "month(日期)", "月份"),
    Function("days_between", _days_between, 2, 2, "days_between(a, b)", "从 a 到 b 的天数（b - a）"),
    Function("age", _age, 2, 2, "age(出生日期, 计算日期)", "周岁年龄（生日当天满岁）"),
    Function(
        "id_valid", _id_valid, 1, 1, "id_valid(身份证号)", "公民身份号码是否有效（格式、校验码、出生日期）"
    ),
    Function(
        "id_birth_date",
        _id_birth_date,
        1,
        1,
        "id_birth_date(身份证号)",
        "身份证号中的出生日期（号码无效时为空）",
    ),
    Function(
        "id_sex", _id_sex, 1, 1, "id_sex(身份证号)", "身份证号对应的性别「男」/「女」（号码无效时为空）"
    ),
    Function("unique", _unique, 1, 1, "unique(列表)", "列表中的非空值是否互不重复"),
)
