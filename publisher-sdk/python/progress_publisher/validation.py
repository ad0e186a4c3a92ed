"""Validation of protocol v1 job states: the same rules in the same order as
protocol/src/validation.cpp; protocol/testdata holds the cases every
implementation must agree on. States are dicts in the wire format (camelCase)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional

from .json_payload import PayloadRefused, Payload, Rejection, is_well_formed, parse_json_payload
from .topic import JobKey, is_valid_id

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_TEXT_LENGTH = 4096
MAX_TYPE_LENGTH = 64
MAX_ERROR_CODE_LENGTH = 128
MAX_TOTAL_PHASES = 1000
# Bounds of a job's stallAfterMs: a second to a week.
MIN_STALL_AFTER_MS = 1000
MAX_STALL_AFTER_MS = 7 * 24 * 60 * 60 * 1000
MAX_SAFE_INTEGER = 2**53 - 1  # integers beyond do not survive a trip through JavaScript
STATUSES = ("queued", "started", "in_progress", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset(("completed", "failed", "cancelled"))
REJECT_REASONS = (
    "oversize", "invalid_utf8", "invalid_json", "too_deep", "not_an_object",
    "missing_field", "wrong_type", "out_of_range", "invalid_value", "id_mismatch",
)

JobState = Dict[str, Any]


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _FieldReader:
    """Reads the optional fields of a payload object; the first type error wins."""

    def __init__(self, source: Dict[str, Any]) -> None:
        self.source = source
        self.state: JobState = {}
        self.error: Optional[Rejection] = None

    def _find(self, name: str) -> Any:
        return None if self.error is not None else self.source.get(name)

    def _wrong_type(self, name: str, expected: str) -> None:
        self.error = Rejection("wrong_type", name, f"{name} must be {expected}")

    def text(self, name: str) -> None:
        value = self._find(name)
        if value is None:
            return
        if not isinstance(value, str):
            return self._wrong_type(name, "a string")
        self.state[name] = value

    def number(self, name: str) -> None:
        value = self._find(name)
        if value is None:
            return
        if not _is_number(value):
            return self._wrong_type(name, "a number")
        self.state[name] = value

    def integer(self, name: str) -> None:
        value = self._find(name)
        if value is None:
            return
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            return self._wrong_type(name, "an integer")
        if abs(value) > MAX_SAFE_INTEGER:
            self.error = Rejection("out_of_range", name, f"{name} is out of range")
            return
        self.state[name] = int(value)

    def error_object(self, name: str) -> None:
        value = self._find(name)
        if value is None:
            return
        if not isinstance(value, dict):
            return self._wrong_type(name, "an object {message, code}")
        message = value.get("message")
        if not isinstance(message, str):
            self.error = Rejection("missing_field", "error.message", "error.message must be a string")
            return
        result: Dict[str, str] = {"message": message}
        code = value.get("code")
        if code is not None:
            if isinstance(code, str):
                result["code"] = code
            elif isinstance(code, int) and not isinstance(code, bool):
                result["code"] = str(code)  # numeric codes are kept as decimal text
            else:
                return self._wrong_type("error.code", "a string")
        self.state[name] = result

    def object(self, name: str) -> None:
        value = self._find(name)
        if value is None:
            return
        if not isinstance(value, dict):
            return self._wrong_type(name, "an object")
        self.state[name] = value


def _check_text(value: Any, name: str, limit: int = MAX_TEXT_LENGTH) -> Optional[Rejection]:
    if value is None:
        return None
    if len(value.encode("utf-8", "surrogatepass")) > limit:
        return Rejection("out_of_range", name, f"{name} is longer than {limit} bytes")
    if not is_well_formed(value):
        return Rejection("invalid_utf8", name, f"{name} is not valid UTF-8")
    return None


def _check_range(value: Any, name: str, low: int, high: int = MAX_SAFE_INTEGER) -> Optional[Rejection]:
    if value is not None and not (low <= value <= high):
        return Rejection("out_of_range", name, f"{name} must be between {low} and {high}")
    return None


def _check_id(value: Any, name: str) -> Optional[Rejection]:
    if value is not None and not is_valid_id(value):
        return Rejection("invalid_value", name, f"{name} must match [A-Za-z0-9_.-]{{1,128}} and not be only dots")
    return None


def validate_state(state: JobState, key: Optional[JobKey] = None) -> Optional[Rejection]:
    """Checks a state in the wire format (ranges, id rules, lengths) and, with `key`,
    that optional userId/jobId agree with it. The C++ progress::validate()."""
    s = state.get
    progress = s("progress")
    if progress is not None and not (math.isfinite(progress) and 0 <= progress <= 100):
        return Rejection("out_of_range", "progress", "progress must be a number from 0 to 100")
    problem = _check_range(s("totalPhases"), "totalPhases", 1, MAX_TOTAL_PHASES) or _check_range(
        s("phase"), "phase", 0, MAX_TOTAL_PHASES
    )
    if problem:
        return problem
    if s("phase") is not None and s("totalPhases") is not None and s("phase") > s("totalPhases"):
        return Rejection("out_of_range", "phase", "phase must not exceed totalPhases")
    problem = (
        _check_text(s("phaseTitle"), "phaseTitle")
        or _check_text(s("message"), "message")
        or _check_text(s("detail"), "detail")
        or _check_range(s("current"), "current", 0)
        or _check_range(s("total"), "total", 0)
    )
    if problem:
        return problem
    job_type = s("type")
    if job_type is not None and (len(job_type.encode("utf-8", "surrogatepass")) > MAX_TYPE_LENGTH or not is_valid_id(job_type)):
        return Rejection("invalid_value", "type", "type must match [A-Za-z0-9_.-]{1,64} and not be only dots")
    problem = _check_range(s("etaMs"), "etaMs", 0) or _check_range(
        s("stallAfterMs"), "stallAfterMs", MIN_STALL_AFTER_MS, MAX_STALL_AFTER_MS
    )
    if problem:
        return problem
    error = s("error")
    if error is not None:
        if error.get("message") == "":
            return Rejection("invalid_value", "error.message", "error.message must not be empty")
        problem = _check_text(error.get("message"), "error.message") or _check_text(
            error.get("code"), "error.code", MAX_ERROR_CODE_LENGTH
        )
        if problem:
            return problem
    if s("details") is not None and not isinstance(s("details"), dict):
        return Rejection("wrong_type", "details", "details must be an object")
    problem = (
        _check_range(s("seq"), "seq", 0)
        or _check_range(s("attempt"), "attempt", 0)
        or _check_range(s("timestamp"), "timestamp", 0)
        or _check_id(s("workerId"), "workerId")
        or _check_id(s("userId"), "userId")
        or _check_id(s("jobId"), "jobId")
    )
    if problem:
        return problem
    if key is not None:
        if s("userId") is not None and s("userId") != key.user_id:
            return Rejection("id_mismatch", "userId", "userId differs from the topic's user id")
        if s("jobId") is not None and s("jobId") != key.job_id:
            return Rejection("id_mismatch", "jobId", "jobId differs from the topic's job id")
    return None


@dataclass(frozen=True)
class ParseResult:
    """`state` when the payload is valid, `error` otherwise."""

    state: Optional[JobState] = None
    error: Optional[Rejection] = None

    def __bool__(self) -> bool:
        return self.state is not None


def parse_update(key: JobKey, payload: Payload) -> ParseResult:
    """Parses a non-empty payload received on the topic of `key`. Never raises on bad
    input; unknown fields are ignored."""
    try:
        document = parse_json_payload(payload, MAX_PAYLOAD_BYTES)
    except PayloadRefused as refused:
        return ParseResult(error=refused.rejection)

    def fail(reason: str, field: str, message: str) -> ParseResult:
        return ParseResult(error=Rejection(reason, field, message))

    if not isinstance(document, dict):
        return fail("not_an_object", "", "payload must be a JSON object")
    status = document.get("status")
    if status is None:
        return fail("missing_field", "status", "status is required")
    if not isinstance(status, str):
        return fail("wrong_type", "status", "status must be a string")
    if status not in STATUSES:
        return fail("invalid_value", "status", "status must be one of " + ", ".join(STATUSES))

    read = _FieldReader(document)
    read.state["status"] = status
    read.number("progress")
    read.integer("phase")
    read.integer("totalPhases")
    read.text("phaseTitle")
    read.text("message")
    read.text("detail")
    read.integer("current")
    read.integer("total")
    read.text("type")
    read.integer("etaMs")
    read.integer("stallAfterMs")
    read.error_object("error")
    read.object("details")
    read.integer("seq")
    read.integer("attempt")
    read.text("workerId")
    read.integer("timestamp")
    read.text("userId")
    read.text("jobId")
    if read.error is not None:
        return ParseResult(error=read.error)
    problem = validate_state(read.state, key)
    if problem is not None:
        return ParseResult(error=problem)
    return ParseResult(state=read.state)
