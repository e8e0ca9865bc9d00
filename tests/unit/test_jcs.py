"""RFC 8785 canonical JSON: the RFC's own examples, refusals, and the orjson fast path."""

from __future__ import annotations

import enum
import json
import math
import struct
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.jcs import (
    MAX_EXACT_INT,
    CanonicalizationError,
    canonical_json,
    canonical_number,
    canonicalize,
)

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
NUMBER_SAMPLES = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "text"), NUMBER_SAMPLES)
def test_appendix_b_number_serialization(bits: str, text: str) -> None:
    assert canonicalize(_double(bits)) == text.encode()
    assert canonical_number(_double(bits)) == text


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_appendix_b_nan_and_infinity_are_refused(bits: str) -> None:
    with pytest.raises(CanonicalizationError, match="NaN and Infinity"):
        canonicalize([_double(bits)])


def test_section_3_2_2_example() -> None:
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonicalize(json.loads(text)) == expected
    # Section 3.2.4: the same bytes in hexadecimal.
    assert expected == bytes.fromhex(
        "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
        "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
        "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
        "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
        "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
        "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
    )


def test_section_3_2_3_sorting_by_utf16_code_units() -> None:
    text = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return",'
        ' "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",'
        ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonicalize(json.loads(text)) == expected
    assert canonical_json(json.loads(text)) == expected


def test_the_cyberphone_readme_sample() -> None:
    value = json.loads(
        '{"numbers": [1E30, 4.50, 6, 2e-3, 0.000000000000000000000000001],'
        ' "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "other": [null, true, false]}'
    )
    assert (
        canonicalize(value)
        == (
            '{"escaping":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/",'
            '"numbers":[1e+30,4.5,6,0.002,1e-27],"other":[null,true,false]}'
        ).encode()
    )


def test_string_escapes() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028\u2029\U0001f600é'
    assert (
        canonicalize(text)
        == (
            '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
            "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
            '\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\"\\\\/\x7f\u2028\u2029\U0001f600é"'
        ).encode()
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (123e-9, "1.23e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (-2.5e-10, "-2.5e-10"),
        (0.1 + 0.2, "0.30000000000000004"),
        (MAX_EXACT_INT, "9007199254740992"),
        (-MAX_EXACT_INT, "-9007199254740992"),
        (2**53 + 2, "9007199254740994"),
        (10**21, "1e+21"),
        (2**68, "295147905179352830000"),
        (True, "true"),
        (None, "null"),
        ([], "[]"),
        ({}, "{}"),
        ((1, "a"), '[1,"a"]'),
        ({"b": [{"d": 1, "c": 2}], "a": None}, '{"a":null,"b":[{"c":2,"d":1}]}'),
    ],
)
def test_values(value: object, text: str) -> None:
    assert canonicalize(value) == text.encode()
    assert canonical_json(value) == text.encode()


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_subclasses_serialize_as_their_json_value() -> None:
    value = OrderedDict([(Colour.RED, Level.HIGH), ("a", Colour.RED)])
    assert canonicalize(value) == b'{"a":"red","red":3}'
    assert canonical_json(value) == b'{"a":"red","red":3}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "NaN and Infinity"),
        ({"a": [math.inf]}, "NaN and Infinity"),
        (2**53 + 1, "not exactly representable as a double: 9007199254740993"),
        (-(2**53) - 1, "not exactly representable"),
        (10**400, "not exactly representable"),
        ({1: "a"}, "member names must be strings"),
        ({"a": b"bytes"}, "type not supported by JSON: bytes"),
        ({1, 2}, "type not supported by JSON: set"),
        (object(), "type not supported by JSON: object"),
        ("\ud800", "lone surrogate"),
        ({"\udc00": 1, "a": 2}, "lone surrogate"),
    ],
)
def test_refusals(value: object, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonicalize(value)
    with pytest.raises(CanonicalizationError, match=message):
        canonical_json(value)


def test_refusals_are_bilingual() -> None:
    with pytest.raises(CanonicalizationError, match=r"^tipe tidak didukung JSON / type"):
        canonicalize(b"")


# --- properties ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
)
fast_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_EXACT_INT, MAX_EXACT_INT)
    | st.integers(-(2**60), 2**60)
    | st.text(),
    lambda children: (
        st.lists(children) | st.dictionaries(st.text(st.characters(max_codepoint=0x7F)), children)
    ),
    max_leaves=25,
)


def _es_parse(text: bytes) -> Any:
    """JSON.parse semantics: every number is a double (integers kept exact when safe)."""

    def integer(digits: str) -> int | float:
        value = int(digits)
        return value if abs(value) <= MAX_EXACT_INT else float(value)

    return json.loads(text, parse_int=integer)


@given(json_values)
def test_fast_path_equals_canonicalize(value: object) -> None:
    assert canonical_json(value) == canonicalize(value)


@given(fast_values)
def test_fast_path_equals_canonicalize_where_orjson_is_used(value: object) -> None:
    try:
        expected = canonicalize(value)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@given(json_values)
def test_canonical_form_is_a_fixed_point(value: object) -> None:
    canonical = canonicalize(value)
    assert canonicalize(_es_parse(canonical)) == canonical


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_to_the_same_double(value: float) -> None:
    text = canonical_number(value)
    assert float(text) == value or (value == 0 and text == "0")
