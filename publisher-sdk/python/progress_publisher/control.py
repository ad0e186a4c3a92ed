"""Requests to the worker of a job, on users/<userId>/jobs/<jobId>/control
(docs/protocol.md, "Control topic"): the same rules as the C++
progress::parse_control, checked by protocol/testdata/control.json."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, List, Optional

from .json_payload import Payload, PayloadRefused, Rejection, parse_json_payload
from .topic import is_valid_id
from .validation import MAX_SAFE_INTEGER

MAX_CONTROL_PAYLOAD_BYTES = 4096
MAX_REQUEST_ID_LENGTH = 64
CANCEL_ACTION = "cancel"
# Requests remembered per job, so that one delivered again (the retained message,
# after a reconnect) reaches the handler once; older ids are forgotten first.
MAX_REMEMBERED_REQUESTS = 16


@dataclass(frozen=True)
class CancelRequest:
    request_id: str
    requested_by: str  # the user who asked
    timestamp: int  # when, ms since the Unix epoch


@dataclass(frozen=True)
class ControlMessage:
    action: str  # "cancel", or an action this SDK does not know (then ignored)
    request_id: str
    requested_by: str
    timestamp: int


@dataclass(frozen=True)
class ControlParseResult:
    message: Optional[ControlMessage] = None
    error: Optional[Rejection] = None

    def __bool__(self) -> bool:
        return self.message is not None


CancelHandler = Callable[[CancelRequest], None]


def is_valid_request_id(text: object) -> bool:
    """[A-Za-z0-9_.-]{1,64}, not only dots: the rule for requestId and action."""
    return isinstance(text, str) and len(text) <= MAX_REQUEST_ID_LENGTH and is_valid_id(text)


_SHORT_RULE = "[A-Za-z0-9_.-]{1,64} and not be only dots"


def parse_control(payload: Payload) -> ControlParseResult:
    """Parses a non-empty control payload; never raises on bad input. All four fields
    are required for every action; unknown fields are ignored."""
    try:
        document = parse_json_payload(payload, MAX_CONTROL_PAYLOAD_BYTES)
    except PayloadRefused as refused:
        return ControlParseResult(error=refused.rejection)

    def fail(reason: str, field: str, message: str) -> ControlParseResult:
        return ControlParseResult(error=Rejection(reason, field, message))

    if not isinstance(document, dict):
        return fail("not_an_object", "", "payload must be a JSON object")
    texts = {}
    for name, valid, rule in (
        ("action", is_valid_request_id, _SHORT_RULE),
        ("requestId", is_valid_request_id, _SHORT_RULE),
        ("requestedBy", is_valid_id, "[A-Za-z0-9_.-]{1,128} and not be only dots"),
    ):
        value: Any = document.get(name)
        if value is None:
            return fail("missing_field", name, f"{name} is required")
        if not isinstance(value, str):
            return fail("wrong_type", name, f"{name} must be a string")
        if not valid(value):
            return fail("invalid_value", name, f"{name} must match {rule}")
        texts[name] = value
    timestamp = document.get("timestamp")
    if timestamp is None:
        return fail("missing_field", "timestamp", "timestamp is required")
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float))
        or (isinstance(timestamp, float) and not timestamp.is_integer())
    ):
        return fail("wrong_type", "timestamp", "timestamp must be an integer")
    if abs(timestamp) > MAX_SAFE_INTEGER:
        return fail("out_of_range", "timestamp", "timestamp is out of range")
    if timestamp < 0:
        return fail("out_of_range", "timestamp", "timestamp must not be negative")
    return ControlParseResult(
        message=ControlMessage(texts["action"], texts["requestId"], texts["requestedBy"], int(timestamp))
    )


class JobControl:
    """The control side of one job handle: the requests that reached it. receive()
    runs on the MQTT client's thread."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._lock = threading.Lock()
        self._handler: Optional[CancelHandler] = None
        self._seen: Deque[str] = deque(maxlen=MAX_REMEMBERED_REQUESTS)
        self._undelivered: Deque[CancelRequest] = deque(maxlen=MAX_REMEMBERED_REQUESTS)
        self.last: Optional[CancelRequest] = None

    @property
    def requested(self) -> bool:
        return self.last is not None

    def receive(self, request: CancelRequest) -> None:
        with self._lock:
            if request.request_id in self._seen:
                return
            self._seen.append(request.request_id)
            self.last = request
            handler = self._handler
            if handler is None:
                self._undelivered.append(request)
                return
        _call(handler, request)

    def set_handler(self, handler: Optional[CancelHandler]) -> None:
        waiting: List[CancelRequest] = []
        with self._lock:
            self._handler = handler
            if handler is not None:
                waiting = list(self._undelivered)
                self._undelivered.clear()
        for request in waiting:
            _call(handler, request)  # type: ignore[arg-type]


def _call(handler: CancelHandler, request: CancelRequest) -> None:
    try:
        handler(request)
    except Exception:
        pass  # the application's handler must not end the MQTT client's thread
