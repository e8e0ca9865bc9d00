"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

Hashes and signatures need the same bytes for the same value on every machine and in
every language, so the serialization is the one ECMAScript's ``JSON.stringify`` gives:
no whitespace, object members sorted by the UTF-16 code units of their names, strings
with only the mandatory escapes (``\\b \\f \\n \\r \\t \\" \\\\`` short, other control
characters as lowercase ``\\u00xx``, everything else raw UTF-8) and numbers as
ECMAScript's Number-to-String prints the IEEE 754 double.

Python values map to JSON as ``dict``/``Mapping`` (string keys), ``list``/``tuple``,
``str``, ``int``, ``float``, ``bool`` and ``None``; anything else is refused.

Integers: JSON numbers are doubles in JCS (I-JSON, RFC 7493). An ``int`` is accepted
when that double is exactly the integer (always so within +-2**53) and printed as the
double would be (``10**21`` becomes ``1e+21``). Other integers (``2**53 + 1``) are refused
rather than rounded: two different integers would otherwise share one canonical form,
and so one hash. Values that need more precision belong in strings.

:func:`canonical_json` is the fast path: ``orjson`` with sorted keys gives the same bytes
whenever every key is ASCII, no float occurs and every integer is within +-2**53; it
falls back to :func:`canonicalize` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import orjson

MAX_EXACT_INT = 2**53
"""Every integer of at most this magnitude is exactly one double (printed as itself)."""

_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in range(0x20)}
_ESCAPES.update(
    {
        ord("\b"): "\\b",
        ord("\f"): "\\f",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
    }
)


class CanonicalizationError(ValueError):
    """The value has no JCS form (a non-JSON type, NaN, an inexact integer, bad text)."""


def canonicalize(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError(
            "string berisi surrogate tunggal / string contains a lone surrogate"
        ) from None


def canonical_json(value: object) -> bytes:
    """Same bytes as :func:`canonicalize`, through ``orjson`` where that provably agrees."""
    if _orjson_agrees(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # lone surrogates, too deep: canonicalize raises or copes
    return canonicalize(value)


def canonical_string(value: str) -> bytes:
    """One JSON string as JCS writes it (quotes included)."""
    return canonicalize(value)


def canonical_number(value: float) -> str:
    """ECMAScript Number::toString of a finite double (``-0`` prints as ``0``)."""
    if not math.isfinite(value):
        raise CanonicalizationError(
            "NaN dan tak hingga bukan angka JSON / NaN and Infinity are not JSON numbers"
        )
    if value == 0:
        return "0"
    if value < 0:
        return "-" + canonical_number(-value)
    # repr gives the shortest digits that round-trip, the closest to the value when
    # several are as short: the digit string ECMAScript asks for (RFC 8785, 3.2.2.3).
    mantissa, _, exponent = float.__repr__(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    count = len(digits)
    # value = 0.digits * 10**point
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = point - 1
    head = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"


def _write(value: object, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append('"' + value.translate(_ESCAPES) + '"')
    elif isinstance(value, int):
        parts.append(_integer(int(value)))
    elif isinstance(value, float):
        parts.append(canonical_number(float(value)))
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, list | tuple):
        parts.append("[")
        for position, item in enumerate(value):
            if position:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise CanonicalizationError(
            f"tipe tidak didukung JSON / type not supported by JSON: {type(value).__name__}"
        )


def _write_object(value: Mapping[object, object], parts: list[str]) -> None:
    members: list[tuple[str, object]] = []
    for key, item in value.items():
        if not isinstance(key, str):
            raise CanonicalizationError(
                "nama anggota objek harus string / object member names must be strings"
            )
        members.append((key, item))
    try:
        members.sort(key=lambda member: member[0].encode("utf-16-be"))
    except UnicodeEncodeError:
        raise CanonicalizationError(
            "nama anggota berisi surrogate tunggal / member name contains a lone surrogate"
        ) from None
    parts.append("{")
    for position, (key, item) in enumerate(members):
        if position:
            parts.append(",")
        _write(key, parts)
        parts.append(":")
        _write(item, parts)
    parts.append("}")


def _integer(value: int) -> str:
    if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
        return str(value)
    try:
        double = float(value)
    except OverflowError:
        double = math.inf
    if not math.isfinite(double) or int(double) != value:
        raise CanonicalizationError(
            "bilangan bulat tidak tepat sebagai double / "
            f"integer not exactly representable as a double: {value}"
        )
    return canonical_number(double)


def _orjson_agrees(value: object) -> bool:
    """True when orjson's sorted output is JCS: ASCII keys (UTF-8 and UTF-16 order agree),
    no floats (orjson prints ``1.0``, JCS ``1``) and integers within +-2**53."""
    if value is None or type(value) is str or type(value) is bool:
        return True
    if type(value) is int:
        return -MAX_EXACT_INT <= value <= MAX_EXACT_INT
    if type(value) is dict:
        return all(
            type(key) is str and key.isascii() and _orjson_agrees(item)
            for key, item in value.items()
        )
    if type(value) is list or type(value) is tuple:
        return all(_orjson_agrees(item) for item in value)
    return False
