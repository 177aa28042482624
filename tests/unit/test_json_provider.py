"""web.json_provider: API answers and bodies through orjson carry exactly the values, and the key order,
that Flask's own provider gives with the app's settings; what orjson would get wrong goes through json."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from web.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    label: str


class Code(str):
    pass


ANSWERS = [
    {"id": 7, "data": {"村名": "云溪村", "人口": 1203, "比例": 0.25, "零": 0.0, "小": 2.5e-05, "大": 1e20},
     "b": True, "n": None, "list": [1, "二", [3.5, {"z": 1, "a": 2}]]},
    {"when": dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"point": Point(1, "甲"), "code": Code("130102"), "tuple": (1, 2)},
    {1: "int key", "s": "string key"},
    {"big": 2**70, "neg": -(2**65)},  # beyond 64 bits: written by json, exactly
    ["\u2028 line separator", "<script>", "引号\"与\\反斜杠", "\x00"],
]


def test_a_decimal_is_a_number_with_every_digit():
    """Roll-up figures are Decimals: written as JSON numbers, exactly (Flask's default made them strings,
    and the float the API used before lost 999999999999999.01's cents); never in exponent form."""
    app, ours, _ = _providers()
    figures = {"big": decimal.Decimal("999999999999999.01"), "small": decimal.Decimal("5E-5"),
               "avg": decimal.Decimal("2.4166666666666666666666666667"), "neg": decimal.Decimal("-3.50")}
    with app.app_context():
        text = ours.response(figures).get_data()
    assert text == (b'{"big":999999999999999.01,"small":0.00005,'
                    b'"avg":2.4166666666666666666666666667,"neg":-3.50}\n')
    assert json.loads(text, parse_float=decimal.Decimal) == figures
    with app.app_context():  # with an integer beyond 64 bits the answer goes through json: still a number
        assert json.loads(ours.response({"big": 2**70, "x": decimal.Decimal("1.5")}).get_data()) == {
            "big": 2**70, "x": 1.5}


def _providers():
    app = Flask("t")
    ours = OrjsonProvider(app)
    flasks = DefaultJSONProvider(app)
    flasks.ensure_ascii, flasks.sort_keys = False, False  # the app's settings before orjson
    return app, ours, flasks


def _pairs(text: bytes):
    """The parsed value with every object as its list of (key, value) pairs: order counts."""
    return json.loads(text, object_pairs_hook=list)


@pytest.mark.parametrize("answer", ANSWERS)
def test_an_answer_carries_the_values_and_order_flask_wrote(answer):
    app, ours, flasks = _providers()
    with app.app_context():
        mine, theirs = ours.response(answer), flasks.response(answer)
    assert mine.mimetype == theirs.mimetype == "application/json"
    assert _pairs(mine.get_data()) == _pairs(theirs.get_data())
    assert mine.get_data().endswith(b"\n")


def test_an_answer_is_compact_utf8_and_keeps_its_key_order():
    app, ours, _ = _providers()
    with app.app_context():
        body = ours.response({"z": "云溪村", "a": [1, 2]}).get_data()
    assert body == '{"z":"云溪村","a":[1,2]}\n'.encode()


def test_an_integer_beyond_64_bits_is_written_exactly():
    app, ours, _ = _providers()
    with app.app_context():
        assert ours.response({"big": 2**70}).get_data() == b'{"big":1180591620717411303424}\n'


def test_in_debug_the_answer_is_indented_by_flask_as_before():
    app, ours, flasks = _providers()
    app.debug = True
    with app.app_context():
        assert ours.response({"a": 1}).get_data() == flasks.response({"a": 1}).get_data() == b'{\n  "a": 1\n}\n'


def test_dumps_is_flasks_own_text():
    _, ours, flasks = _providers()
    for answer in ANSWERS:
        assert ours.dumps(answer) == flasks.dumps(answer)  # spaces after separators: Flask's text
    assert ours.dumps(ANSWERS[0], sort_keys=True) == flasks.dumps(ANSWERS[0], sort_keys=True)


BODIES = [
    '{"data": {"村名": "云溪村", "人口": 1203, "比例": 0.25, "小": 2.5e-05}, "revision": 3}',
    '{"id": 123456789012345678901234567890, "n": -98765432109876543210}',  # beyond 64 bits: exact ints
    '{"id": 9223372036854775807, "f": 0.12345678901234567890}',
    '{"x": NaN, "y": Infinity}',  # not JSON, but json reads it: as before
    '{"s": "\\ud800"}',  # a lone surrogate: json reads it
    '{"a": 1, "a": 2}',
    '[1, 2.0, "三", null, true]',
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("as_bytes", [True, False])
def test_a_body_reads_as_json_reads_it(body, as_bytes):
    _, ours, _ = _providers()
    raw = body.encode() if as_bytes else body
    mine, theirs = ours.loads(raw), json.loads(raw)
    assert repr(mine) == repr(theirs)  # repr: NaN compares unequal to itself, and 1 == 1.0
    assert type(mine) is type(theirs)


def test_text_with_a_lone_surrogate_reads_as_json_reads_it():
    _, ours, _ = _providers()
    text = '{"s": "\ud800", "n": 12345678901234567890123}'  # the character itself, not its escape
    assert repr(ours.loads(text)) == repr(json.loads(text))


def test_a_body_in_utf16_reads_as_json_reads_it():
    _, ours, _ = _providers()
    raw = '{"村": 1}'.encode("utf-16")
    assert ours.loads(raw) == json.loads(raw) == {"村": 1}


def _refusal(loads, raw):
    try:
        loads(raw)
    except ValueError as err:
        return type(err), str(err)
    return None


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": }', b"\xff\xfe\xfd", "{"])
def test_a_broken_body_raises_what_json_raises(body):
    _, ours, _ = _providers()
    refused = _refusal(ours.loads, body)
    assert refused is not None and refused == _refusal(json.loads, body)
