"""GB 11643-1999 ID numbers: check digit, validity, embedded birth date and sex."""

from __future__ import annotations

import pytest

from engine.expressions import compile_expression
from engine.expressions.idcard import birth_date, check_digit, is_valid, sex

# domain.md §2(d): synthetic IDs (fictional address code 390121) with sex, birth date, age at 2024-10-11
SYNTHETIC = [
    ("390121193205120013", "男", "1932-05-12", 92),
    ("39012119291009002X", "女", "1929-10-09", 95),
    ("390121193311280037", "男", "1933-11-28", 90),
    ("390121192401050046", "女", "1924-01-05", 100),
    ("390121194403150015", "男", "1944-03-15", 80),
]
STANDARD_EXAMPLE = "11010519491231002X"  # the example in GB 11643-1999 itself


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE] + [s[0] for s in SYNTHETIC])
def test_check_digit_of_known_numbers(number: str) -> None:
    assert check_digit(number[:17]) == number[17]
    assert is_valid(number)


@pytest.mark.parametrize(
    "bad", ["1234567890123456", "12345678901234567a", "", "１１０１０５１９４９１２３１００２"]
)
def test_check_digit_needs_seventeen_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit(bad)


@pytest.mark.parametrize(("number", "expected_sex", "born", "age"), SYNTHETIC)
def test_synthetic_ids_through_the_expression_functions(
    number: str, expected_sex: str, born: str, age: int
) -> None:
    data = {"id": number, "cutoff": "2024-10-11"}
    assert compile_expression("id_valid(id)").evaluate(data) is True
    assert compile_expression("id_sex(id)").evaluate(data) == expected_sex
    assert compile_expression("id_birth_date(id)").evaluate(data) == born
    assert compile_expression("age(id_birth_date(id), cutoff)").evaluate(data) == age


def test_standard_example_details() -> None:
    assert sex(STANDARD_EXAMPLE) == "女"
    assert birth_date(STANDARD_EXAMPLE).isoformat() == "1949-12-31"


def _with_check_digit(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    "number",
    [
        "390121193205120014",  # wrong check digit
        "11010519491231002x",  # lower-case x is not the standard's form
        "110105194912310029",  # X replaced by a digit
        _with_check_digit("39012119310229001"),  # 1931-02-29 does not exist
        _with_check_digit("39012119321301001"),  # month 13
        _with_check_digit("39012119320500001"),  # day 0
        _with_check_digit("39012199990101001"),  # born in the future
        "39012119320512001",  # 17 characters
        "3901211932051200133",  # 19 characters
        "39012119320512001３",  # full-width digit
        "３90121193205120013",
        " 390121193205120013",
        "",
    ],
)
def test_invalid_numbers(number: str) -> None:
    assert is_valid(number) is False
    assert birth_date(number) is None
    assert sex(number) is None
    assert compile_expression("id_valid(x)").evaluate({"x": number}) is False
    assert compile_expression("id_birth_date(x)").evaluate({"x": number}) is None
    assert compile_expression("id_sex(x)").evaluate({"x": number}) is None


def test_missing_and_non_text_values() -> None:
    assert compile_expression("id_valid(x)").evaluate({"x": None}) is None
    assert compile_expression("id_valid(x)").evaluate({"x": 390121193205120013}) is False
    assert compile_expression("id_sex(x)").evaluate({"x": None}) is None
    assert compile_expression("id_birth_date(x)").evaluate({"x": 12}) is None


def test_roster_rules_over_repeat_rows() -> None:
    rows = [{"id_number": n, "gender": s, "birth_date": b} for n, s, b, _ in SYNTHETIC]
    data = {"cutoff_date": "2024-10-11", "elders": rows}
    assert compile_expression("count(elders, id_valid(id_number))").evaluate(data) == 5
    assert compile_expression("count(elders, id_sex(id_number) == gender)").evaluate(data) == 5
    assert (
        compile_expression("count(elders, date(id_birth_date(id_number)) == birth_date)").evaluate(data) == 5
    )
    assert compile_expression("count(elders, age(birth_date, cutoff_date) >= 90)").evaluate(data) == 4
    assert compile_expression("min(elders, age(birth_date, cutoff_date))").evaluate(data) == 80
    assert compile_expression("unique(elders.id_number)").evaluate(data) is True
    rows.append(dict(rows[0]))
    assert compile_expression("unique(elders.id_number)").evaluate(data) is False
