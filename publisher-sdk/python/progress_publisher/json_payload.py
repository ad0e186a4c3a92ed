"""Reads an untrusted JSON payload the way the C++ validator does (nlohmann::json
behind a size, UTF-8 and depth check), so that every verdict matches
protocol/testdata: Python's json module alone would accept NaN, Infinity, lone
surrogate escapes and numbers beyond the double range, which the C++ parser refuses."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Union

MAX_JSON_DEPTH = 16

Payload = Union[bytes, bytearray, memoryview, str]


@dataclass(frozen=True)
class Rejection:
    """Why a payload was refused: `reason` is one of REJECT_REASONS; `field` is the
    offending field ("error.message" for a nested one), "" for the payload as a whole."""

    reason: str
    field: str
    message: str


class PayloadRefused(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class _NotJson(ValueError):
    pass


def to_bytes(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    return bytes(payload)


def is_well_formed(text: str) -> bool:
    """True when `text` holds no lone surrogate (which UTF-8 cannot encode)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _depth(text: str) -> int:
    # As the C++ json_depth(): brackets outside strings, counted before parsing.
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}" and depth > 0:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson("number out of range")
    return value


def _integer(text: str) -> Any:
    # nlohmann::json reads integers beyond 64 bits as doubles; so does this (and
    # Python's limit on digits in int() never applies).
    if len(text.lstrip("-")) > 20:
        return _finite_float(text)
    return int(text)


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if not is_well_formed(value):
            raise _NotJson("lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def parse_json_payload(payload: Payload, max_bytes: int) -> Any:
    """The JSON value of `payload`; raises PayloadRefused with the C++ reason."""

    def refuse(reason: str, message: str) -> PayloadRefused:
        return PayloadRefused(Rejection(reason, "", message))

    data = to_bytes(payload)
    if len(data) > max_bytes:
        raise refuse("oversize", f"payload exceeds {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("invalid_utf8", "payload is not valid UTF-8") from None
    if text.startswith("\ufeff"):  # nlohmann::json skips a leading byte order mark
        text = text[1:]
    if _depth(text) > MAX_JSON_DEPTH:
        raise refuse("too_deep", f"payload nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_integer)
        _check_strings(value)
    except ValueError:  # json.JSONDecodeError and _NotJson
        raise refuse("invalid_json", "payload is not valid JSON") from None
    return value
