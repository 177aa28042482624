"""The expression language: values, missing-value logic, functions, row scoping, references, caching."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from engine.errors import GrassrootsError
from engine.expressions import (
    FUNCTIONS,
    EvaluationError,
    Expression,
    MappingScope,
    Reference,
    Scope,
    compile_expression,
)

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def ev(source: str, data: dict[str, Any] | None = None) -> Any:
    return compile_expression(source).evaluate(data or {})


def fails(source: str, data: dict[str, Any] | None = None) -> EvaluationError:
    with pytest.raises(EvaluationError) as info:
        ev(source, data)
    assert CHINESE.search(info.value.message), info.value.message
    assert info.value.details["source"] == source
    return info.value


# -- API ----------------------------------------------------------------------------------------------


def test_compiled_expression_shape() -> None:
    expr = compile_expression("population.pop_total >= pop_male + 1")
    assert isinstance(expr, Expression)
    assert expr.source == "population.pop_total >= pop_male + 1"
    assert expr.references == (Reference("population.pop_total", None), Reference("pop_male", None))
    assert expr.names == frozenset({"population.pop_total", "pop_male"})


def test_compile_is_cached_by_source() -> None:
    assert compile_expression("a + 1") is compile_expression("a + 1")
    assert compile_expression("a + 1") is not compile_expression("a + 2")


def test_evaluation_error_is_a_grassroots_error() -> None:
    assert issubclass(EvaluationError, GrassrootsError)


def test_functions_table_lists_every_documented_function() -> None:
    documented = (
        "sum count min max avg abs round len coalesce is_blank date today age days_between year month "
        "id_valid id_birth_date id_sex unique"
    ).split()
    assert set(FUNCTIONS) == set(documented)
    for function in FUNCTIONS.values():
        assert CHINESE.search(function.summary) and function.signature.startswith(function.name)
    with pytest.raises(TypeError):
        FUNCTIONS["eval"] = FUNCTIONS["abs"]  # type: ignore[index]


# -- references ---------------------------------------------------------------------------------------


def test_references_inside_per_row_arguments_name_their_collection() -> None:
    expr = compile_expression("count(elders, age >= 90) > 0 and sum(elders, monthly_amount) == total")
    assert expr.references == (
        Reference("elders", None),
        Reference("age", "elders"),
        Reference("monthly_amount", "elders"),
        Reference("total", None),
    )
    assert expr.names == frozenset({"elders", "total"})


def test_references_are_deduplicated_in_order() -> None:
    assert compile_expression("b + a + b").references == (Reference("b"), Reference("a"))


def test_function_names_are_not_references() -> None:
    assert compile_expression("abs(x) + today() == today()").references == (Reference("x"),)


def test_nested_collections_use_the_innermost_one() -> None:
    expr = compile_expression("sum(villages, count(households, size > 4))")
    assert expr.references == (
        Reference("villages", None),
        Reference("households", "villages"),
        Reference("size", "households"),
    )


def test_single_argument_aggregates_have_no_row_references() -> None:
    assert compile_expression("sum(elders.amount) + count(elders)").references == (
        Reference("elders.amount"),
        Reference("elders"),
    )


def test_two_argument_min_max_over_a_path_record_row_references() -> None:
    # max(a, b) may be per-row or two scalars (decided at run time); b is looked up row-first either way
    assert compile_expression("max(a, b)").references == (Reference("a"), Reference("b", "a"))
    assert compile_expression("max(1, b)").references == (Reference("b"),)


# -- literals, arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("-x + +x", 0),
        ("2.5 - 1", 1.5),
        ("'村' + '委会'", "村委会"),
        ("[1, 'a', None, True]", [1, "a", None, True]),
        ("(1, 2)", [1, 2]),
        ("None", None),
        ("'abc'", "abc"),
    ],
)
def test_values(source: str, expected: Any) -> None:
    assert ev(source, {"x": 5}) == expected


@pytest.mark.parametrize("source", ["x / 0", "x // 0", "x % 0", "x / 0.0"])
def test_division_by_zero_is_not_applicable(source: str) -> None:
    assert ev(source, {"x": 5}) is None


@pytest.mark.parametrize(
    "source",
    ["'abc' - 1", "'abc' * 2", "'a' + 1", "True + 1", "-'a'", "[1] + [2]", "x % 2"],
)
def test_arithmetic_type_errors(source: str) -> None:
    error = fails(source, {"x": "文本"})
    assert "数字" in error.message


# -- missing values and three-valued logic ------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "x + 1",
        "1 - x",
        "x * 2",
        "x / 2",
        "-x",
        "x > 1",
        "x <= 1",
        "1 < x < 3",
        "x in [1, 2]",
        "x not in [1]",
        "'a' in x",
        "not x",
        "1 if x else 2",
        "x > 0 and True",
        "x > 0 or False",
    ],
)
def test_missing_values_propagate_as_none(source: str) -> None:
    assert ev(source, {"x": None}) is None
    assert ev(source, {}) is None  # an absent key is a missing value too


def test_equality_with_none_compares_normally() -> None:
    assert ev("x == None", {"x": None}) is True
    assert ev("x != None", {"x": None}) is False
    assert ev("x == 1", {"x": None}) is False
    assert ev("x != 1", {"x": None}) is True


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("False and n", False),
        ("n and False", False),
        ("True and n", None),
        ("n and n", None),
        ("True and True", True),
        ("True or n", True),
        ("n or True", True),
        ("False or n", None),
        ("False or False", False),
        ("not n", None),
        ("not True", False),
        ("1 if n else 2", None),
        ("1 if True else 2", 1),
        ("1 if False else 2", 2),
    ],
)
def test_three_valued_logic(source: str, expected: bool | None) -> None:
    assert ev(source, {"n": None}) is expected


def test_and_or_short_circuit() -> None:
    # the right side would be a type error, but is never evaluated
    assert ev("False and 'a' - 1 > 0") is False
    assert ev("True or 'a' - 1 > 0") is True


@pytest.mark.parametrize("source", ["1 and True", "not 'a'", "'x' if 1 else 2", "False or 0"])
def test_logic_needs_truth_values(source: str) -> None:
    assert "真假值" in fails(source).message


# -- comparisons --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("3 > 2 >= 2 == 2", True),
        ("'a' < 'b'", True),
        ("1 == 1.0", True),
        ("True == 1", False),
        ("'1' == 1", False),
        ("x in ['新增', '续发']", True),
        ("x not in ['新增', '续发']", False),
        ("'续' in x", True),
        ("2 in xs", True),
        ("[1, 2] == [1, 2]", True),
    ],
)
def test_comparisons(source: str, expected: bool) -> None:
    assert ev(source, {"x": "续发", "xs": [1, 2]}) is expected


def test_chained_comparison_with_missing_middle_is_unknown_but_a_false_link_decides() -> None:
    assert ev("1 < x < 3", {"x": None}) is None
    assert ev("5 < 1 < x", {"x": None}) is False


@pytest.mark.parametrize("source", ["1 < 'a'", "'a' >= 2", "True < 2", "[1] < [2]", "1 in 5", "1 in 'abc'"])
def test_comparison_type_errors(source: str) -> None:
    fails(source)


# -- dates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("date('2026-10-29')", date(2026, 10, 29)),
        ("date(d)", date(2024, 10, 11)),
        ("year('2024-10-11')", 2024),
        ("month(d)", 10),
        ("days_between('2024-10-01', d)", 10),
        ("days_between(d, '2024-10-01')", -10),
        ("date(d) == '2024-10-11'", True),
        ("'2024-10-11' == date(d)", True),
        ("date(d) != '2024-10-12'", True),
        ("date(d) > '2024-10-10'", True),
        ("'2024-12-31' < date(d)", False),
        ("date(d) in ['2024-10-11']", True),
        ("date(d) == 'not a date'", False),
        ("year(date(pydate))", 2020),
        ("max(date('2024-01-01'), '2024-06-30')", "2024-06-30"),
    ],
)
def test_dates(source: str, expected: Any) -> None:
    assert ev(source, {"d": "2024-10-11", "pydate": date(2020, 2, 29)}) == expected


def test_today() -> None:
    assert ev("today()") == date.today()
    assert ev("today() > '2000-01-01'") is True


@pytest.mark.parametrize(
    ("birth", "at", "expected"),
    [
        ("1944-10-11", "2024-10-11", 80),  # counted on the birthday
        ("1944-10-12", "2024-10-11", 79),
        ("1944-03-15", "2024-10-11", 80),
        ("1940-02-29", "2024-02-28", 83),  # leap-day birthday: not yet in a year where Feb 28 comes first
        ("1940-02-29", "2024-02-29", 84),
        ("1940-02-29", "2023-03-01", 83),
    ],
)
def test_age_in_full_years(birth: str, at: str, expected: int) -> None:
    assert ev("age(b, at)", {"b": birth, "at": at}) == expected


@pytest.mark.parametrize(
    "source", ["date(x)", "year(x)", "month(x)", "days_between(x, x)", "age(x, '2024-01-01')"]
)
def test_date_functions_skip_missing(source: str) -> None:
    assert ev(source, {"x": None}) is None


@pytest.mark.parametrize("value", ["2024-02-30", "2024/10/11", "20241011", 20241011, "2024-1-1"])
def test_invalid_dates_are_errors(value: Any) -> None:
    assert "日期" in fails("date(x)", {"x": value}).message


def test_ordering_a_date_against_a_non_date_string_is_an_error() -> None:
    fails("date('2024-01-01') < 'soon'")


# -- general functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(-3)", 3),
        ("abs(n)", None),
        ("round(2.5)", 3),  # half up, not Python's half-to-even
        ("round(3.5)", 4),
        ("round(-2.5)", -3),
        ("round(2.675, 2)", 2.68),
        ("round(1234, -2)", 1200),
        ("round(1250, -2)", 1300),
        ("round(7, 2)", 7),
        ("round(n)", None),
        ("round(2.5, n)", None),
        ("len('村委会')", 3),
        ("len([1, 2])", 2),
        ("len(n)", None),
        ("coalesce(n, n, 0, 1)", 0),
        ("coalesce(n)", None),
        ("is_blank(n)", True),
        ("is_blank('')", True),
        ("is_blank([])", True),
        ("is_blank(0)", False),
        ("is_blank(' ')", False),
        ("is_blank(False)", False),
        ("unique([1, 2, None, None])", True),
        ("unique([1, 2, 1])", False),
        ("unique(n)", None),
    ],
)
def test_general_functions(source: str, expected: Any) -> None:
    result = ev(source, {"n": None})
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "source",
    [
        "abs('a')",
        "round('a')",
        "round(1.5, 1.5)",
        "round(1.5, 20)",
        "len(5)",
        "unique(5)",
        "unique([[1], [1]])",
    ],
)
def test_general_function_type_errors(source: str) -> None:
    fails(source)


# -- aggregates ---------------------------------------------------------------------------------------

ROSTER = {
    "min_age": 90,
    "amount": 10,
    "elders": [
        {"name": "甲", "age": 92, "amount": 200},
        {"name": "乙", "age": 95, "amount": 300},
        {"name": "丙", "age": 85, "amount": None},
        {"name": "丁", "age": None, "amount": 60.5},
    ],
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("count(elders)", 4),
        ("count(elders, age >= 90)", 2),
        ("count(elders, age >= min_age)", 2),  # a document field seen from inside a row
        ("sum(elders, amount)", 560.5),  # the row's own `amount` shadows the document's
        ("sum(elders.amount)", 560.5),
        ("sum(elders, amount * 2) / 2", 560.5),
        ("min(elders, age)", 85),
        ("max(elders, age)", 95),
        ("avg(elders, age)", 90.66666666666667),
        ("avg(elders.amount)", 186.83333333333334),
        ("count(elders.amount)", 3),
        ("max(elders, name)", "甲"),  # texts order by code point
        ("count(elders, name in ['甲', '乙'] and age > 94)", 1),
        ("sum(elders, 1 if age >= 90 else 0)", 2),
        ("elders.name", ["甲", "乙", "丙", "丁"]),
        ("unique(elders.name)", True),
    ],
)
def test_aggregates_over_rows(source: str, expected: Any) -> None:
    assert ev(source, ROSTER) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("sum(rows, v)", 0),
        ("count(rows)", 0),
        ("count(rows, v > 0)", 0),
        ("min(rows, v)", None),
        ("max(rows, v)", None),
        ("avg(rows, v)", None),
        ("sum([])", 0),
        ("sum([None, None])", 0),
        ("avg([None])", None),
        ("max([])", None),
    ],
)
def test_aggregates_over_nothing(source: str, expected: Any) -> None:
    assert ev(source, {"rows": []}) == expected
    if "rows" in source:
        assert ev(source, {}) == expected  # a missing repeat is an empty one


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("max(a, b)", 7),
        ("min(a, b)", 2),
        ("max(a, n)", None),
        ("min([3, None, 1])", 1),
        ("max('a', 'b')", "b"),
        ("sum([1, 2.5, None])", 3.5),
        ("sum([1, 2])", 3),
    ],
)
def test_aggregates_over_plain_lists_and_scalars(source: str, expected: Any) -> None:
    assert ev(source, {"a": 2, "b": 7, "n": None}) == expected


def test_float_sums_do_not_depend_on_row_order() -> None:
    values = [0.1] * 10 + [1e10, -1e10]
    assert ev("sum(xs)", {"xs": values}) == ev("sum(xs)", {"xs": list(reversed(values))}) == 1.0


@pytest.mark.parametrize(
    ("source", "data"),
    [
        ("sum(x)", {"x": 5}),
        ("sum(rows, v)", {"rows": 5}),
        ("sum(['a'])", {}),
        ("sum(rows, v)", {"rows": [{"v": "a"}]}),
        ("count(rows, v)", {"rows": [{"v": 1}]}),  # a condition must be a truth value
        ("count(rows, v > 0)", {"rows": [1, 2]}),  # rows must be objects
        ("min(1, 'a')", {}),
        ("avg('abc')", {}),
    ],
)
def test_aggregate_type_errors(source: str, data: dict[str, Any]) -> None:
    fails(source, data)


def test_nested_rows_see_every_enclosing_scope() -> None:
    data = {
        "threshold": 4,
        "villages": [
            {"name": "东村", "households": [{"size": 5}, {"size": 3}]},
            {"name": "西村", "households": [{"size": 6}, {"size": 7}, {"size": 2}]},
        ],
    }
    assert ev("sum(villages, count(households, size > threshold))", data) == 3
    assert ev("count(villages, count(households) > 2)", data) == 1


# -- scopes -------------------------------------------------------------------------------------------


def test_mapping_scope_walks_dotted_paths_and_missing_keys_are_none() -> None:
    scope = MappingScope({"population": {"pop_total": 10, "inner": {"x": 1}}, "flag": True})
    assert scope.lookup("population.pop_total") == 10
    assert scope.lookup("population.inner.x") == 1
    assert scope.lookup("population.nothing.deeper") is None
    assert scope.lookup("flag.deeper") is None
    assert scope.lookup("absent") is None


def test_mapping_scope_aliases_and_paths_through_lists() -> None:
    data = {"population": {"pop_total": 10}, "elders": [{"id": "a"}, {"id": None}, {}]}
    scope = MappingScope(data, aliases={"pop_total": ("population", "pop_total")})
    assert scope.lookup("pop_total") == 10
    assert scope.lookup("elders.id") == ["a", None, None]
    assert compile_expression("pop_total * 2 + population.pop_total").evaluate(scope) == 30


def test_row_scope_prefers_the_row_then_falls_back() -> None:
    scope = MappingScope({"age": 1, "cutoff": "2024-10-11"}).row({"age": 90, "addr": {"town": "镇"}})
    assert isinstance(scope, Scope)
    assert scope.lookup("age") == 90
    assert scope.lookup("addr.town") == "镇"
    assert scope.lookup("cutoff") == "2024-10-11"


class StrictScope:
    """A caller-supplied scope that knows its names (like the definition checker's)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def lookup(self, name: str) -> Any:
        return self.values[name]

    def row(self, row: Any) -> Scope:
        return MappingScope(row)


def test_custom_scope_and_unknown_names() -> None:
    scope = StrictScope({"a": 1})
    assert isinstance(scope, Scope)
    assert compile_expression("a + 1").evaluate(scope) == 2
    with pytest.raises(EvaluationError) as info:
        compile_expression("a + b").evaluate(scope)
    assert "未知的字段「b」" in info.value.message
    assert info.value.details["name"] == "b"


def test_attribute_syntax_is_a_data_path_never_getattr() -> None:
    class Sneaky(dict):
        hidden_attribute = "leaked"

    assert ev("x.hidden_attribute", {"x": Sneaky()}) is None
    assert ev("x.upper", {"x": "text"}) is None


def test_unexpected_python_values_fail_as_engine_errors() -> None:
    with pytest.raises(EvaluationError):
        ev("x + 1", {"x": object()})
    with pytest.raises(EvaluationError):
        ev("x / 2", {"x": float("inf")})


def test_calculated_field_and_gateway_style_expressions() -> None:
    data = {"decision": "approve", "amount": 800, "count": 1}
    assert ev("decision == 'approve' and amount == count * 800", data) is True
    assert ev("'100+' if age >= 100 else ('95-99' if age >= 95 else '80-94')", {"age": 96}) == "95-99"
