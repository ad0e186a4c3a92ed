"""A handle on one job. Every call publishes the job's FULL current state
(protocol v1): retained, QoS 1, with seq, attempt, workerId and timestamp.
Mirrors progress::job of the C++ SDK."""

from __future__ import annotations

import copy
import json
import math
from concurrent.futures import Future
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

from .control import CancelHandler, CancelRequest
from .errors import JobError, refuse
from .json_payload import is_well_formed
from .topic import JobKey
from .validation import JobState, is_terminal, parse_update, validate_state

if TYPE_CHECKING:
    from .publisher import Publisher, _JobSlot

Delivery = Future  # Future[None]: result() returns once acknowledged, raises PublishError otherwise

_TEXT_FIELDS = ("phaseTitle", "message", "detail", "type", "workerId", "userId", "jobId")
_NUMBER_FIELDS = (
    "progress", "phase", "totalPhases", "current", "total", "etaMs", "stallAfterMs", "seq", "attempt", "timestamp"
)


def _is_urgent(previous: JobState, nxt: JobState, first: bool) -> bool:
    # A phase change, a new status or a new attempt is news a viewer should see
    # at once; only repeated updates inside one phase are throttled.
    return (
        first
        or is_terminal(nxt["status"])
        or any(nxt.get(name) != previous.get(name) for name in ("status", "phase", "totalPhases", "attempt"))
    )


def _check_encodable(state: JobState) -> None:
    # What json.dumps would write as NaN or fail on, refused up front with the
    # reason the C++ SDK gives for it.
    for name in _NUMBER_FIELDS:
        value = state.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse("wrong_type", name, f"{name} must be a number")
        if not math.isfinite(value):
            if name == "progress":
                raise refuse("out_of_range", name, "progress must be a number from 0 to 100")
            raise refuse("wrong_type", name, f"{name} must be an integer")
        if name != "progress" and isinstance(value, float):
            if not value.is_integer():
                raise refuse("wrong_type", name, f"{name} must be an integer")
            state[name] = int(value)
    for name in _TEXT_FIELDS:
        value = state.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise refuse("wrong_type", name, f"{name} must be a string")
        if not is_well_formed(value):
            raise refuse("invalid_utf8", name, f"{name} is not valid UTF-8")


def _serialize(state: JobState) -> bytes:
    try:
        # Sorted keys, as the C++ SDK (nlohmann::json) writes them.
        text = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise refuse("wrong_type", "details", f"details cannot be written as JSON: {e}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse("invalid_utf8", "details", "details contains text that is not valid UTF-8") from None


def _without_none(state: JobState) -> JobState:
    return {name: value for name, value in state.items() if value is not None}


class Job:
    """Calls are not synchronised: use one handle from one thread at a time. Every
    call validates before sending and raises ValidationError (nothing sent) when the
    update is not valid protocol v1 or follows a terminal state."""

    def __init__(self, publisher: "Publisher", key: JobKey, *, job_type: Optional[str], attempt: int, first_seq: int,
                 stall_after_ms: Optional[int] = None, follow_control: bool = True,
                 on_cancel: Optional[CancelHandler] = None) -> None:
        self._following = False
        self._publisher = publisher
        self._key = key
        self._state: JobState = _without_none(
            {"status": "queued", "type": job_type, "attempt": attempt, "stallAfterMs": stall_after_ms}
        )
        self._next_seq = first_seq
        self._sent_any = False
        self._removed = False
        self._slot: "_JobSlot" = publisher._open_slot(key)
        self._control = publisher._open_control(key)
        self._follow_control = follow_control
        if on_cancel is not None:
            self._control.set_handler(on_cancel)
        self._follow(follow_control)

    # --- cancellation (docs/protocol.md, "Control topic") ---

    def on_cancel(self, handler: Optional[CancelHandler]) -> None:
        """While the job is not finished the handle follows users/<userId>/jobs/<jobId>/control,
        so a user's request to cancel reaches it, also one made before the handle existed (it
        is retained). `handler(request)` is called once per request id, on the MQTT client's
        thread: it must not block nor use this handle (set a flag or an Event). Requests that
        came before it was set are handed to it at once, on the calling thread. The SDK does
        not stop the job: the worker decides, and calls cancel()."""
        self._control.set_handler(handler)

    @property
    def cancel_requested(self) -> bool:
        """True once a cancellation request arrived; safe from any thread."""
        return self._control.requested

    @property
    def last_cancel_request(self) -> Optional[CancelRequest]:
        return self._control.last

    def release(self) -> None:
        """Stops following the control topic (terminal states and remove() do it too, and so
        does the handle's collection)."""
        self._follow(False)

    def _follow(self, follow: bool) -> None:
        if follow == self._following:
            return
        if follow:
            self._publisher._follow(self._control)
        else:
            self._publisher._unfollow(self._control)
        self._following = follow

    @property
    def key(self) -> JobKey:
        return self._key

    @property
    def state(self) -> JobState:
        """The state last accepted by this handle (what the broker will retain), wire format."""
        return copy.deepcopy(self._state)

    def start(self, message: Optional[str] = None) -> Delivery:
        nxt = self._draft()
        nxt["status"] = "started"
        if message is not None:
            nxt["message"] = message
        return self._send(nxt)

    def phase(self, index: int, total: int, title: str, description: Optional[str] = None) -> Delivery:
        """Enters phase `index` of `total` (1-based); sent at once."""
        nxt = self._in_progress()
        nxt.update(phase=index, totalPhases=total, phaseTitle=title, message=description)
        # The previous phase's message, detail and counter do not describe this one.
        for name in ("detail", "current", "total"):
            nxt.pop(name, None)
        return self._send(nxt)

    def progress(self, percent: float, message: Optional[str] = None, detail: Optional[str] = None) -> Delivery:
        """Overall percent 0..100; message and detail stay as they were when not given."""
        nxt = self._in_progress()
        nxt["progress"] = percent
        if message is not None:
            nxt["message"] = message
        if detail is not None:
            nxt["detail"] = detail
        return self._send(nxt)

    def counter(self, current: int, total: int, message: Optional[str] = None) -> Delivery:
        """Counted work; also sets progress to current/total when total > 0."""
        nxt = self._in_progress()
        nxt.update(current=current, total=total)
        if isinstance(total, (int, float)) and isinstance(current, (int, float)) and total > 0 and current >= 0:
            nxt["progress"] = min(100.0, 100.0 * current / total)
        if message is not None:
            nxt["message"] = message
        return self._send(nxt)

    def eta(self, remaining: Union[float, timedelta, None]) -> Delivery:
        """Estimated time left, in seconds or as a timedelta; None clears it."""
        nxt = self._draft()
        if remaining is None:
            nxt.pop("etaMs", None)
        else:
            seconds = remaining.total_seconds() if isinstance(remaining, timedelta) else remaining
            nxt["etaMs"] = round(seconds * 1000) if math.isfinite(seconds) else seconds
        return self._send(nxt)

    def complete(self, details: Optional[Mapping[str, Any]] = None) -> Delivery:
        nxt = self._draft()
        nxt.update(status="completed", progress=100.0)
        nxt.pop("etaMs", None)
        # An empty mapping adds nothing; anything but a mapping is refused by validation.
        if details is not None and not (isinstance(details, Mapping) and len(details) == 0):
            nxt["details"] = dict(details) if isinstance(details, Mapping) else details
        return self._send(nxt)

    def fail(self, error: Union[str, JobError], code: Optional[str] = None) -> Delivery:
        """fail("Disk full", "E_DISK") or fail(JobError(...))."""
        nxt = self._draft()
        nxt["status"] = "failed"
        nxt.pop("etaMs", None)
        if isinstance(error, JobError):
            error, code = error.message, error.code
        nxt["error"] = _without_none({"message": error, "code": code})
        return self._send(nxt)

    def cancel(self, message: Optional[str] = None) -> Delivery:
        nxt = self._draft()
        nxt["status"] = "cancelled"
        nxt.pop("etaMs", None)
        if message is not None:
            nxt["message"] = message
        return self._send(nxt)

    def remove(self) -> Delivery:
        """Clears the retained state (an empty retained payload); the handle is finished afterwards."""
        if self._removed:
            raise refuse("invalid_value", "", f"job {self._key.job_id} was already removed")
        self._removed = True
        self._follow(False)
        return self._publisher._submit(self._slot, b"", urgent=True)

    def update(self, state: Mapping[str, Any]) -> Delivery:
        """Publishes `state` (wire format) as the job's whole state; userId and jobId must
        match the handle or be absent; seq, attempt, workerId, timestamp and stallAfterMs are
        filled in."""
        return self._send(_without_none(dict(state)))

    def _draft(self) -> JobState:
        nxt = copy.deepcopy(self._state)
        # Stamped afresh by _send().
        nxt.pop("seq", None)
        nxt.pop("timestamp", None)
        return nxt

    def _in_progress(self) -> JobState:
        nxt = self._draft()
        nxt["status"] = "in_progress"
        return nxt

    def _send(self, nxt: JobState) -> Delivery:
        if self._removed:
            raise refuse("invalid_value", "", f"job {self._key.job_id} was removed")
        nxt = _without_none(nxt)
        nxt.setdefault("userId", self._key.user_id)
        nxt.setdefault("jobId", self._key.job_id)
        nxt.setdefault("workerId", self._publisher.options.worker_id)
        nxt.setdefault("attempt", self._state["attempt"])
        if "stallAfterMs" in self._state:
            nxt.setdefault("stallAfterMs", self._state["stallAfterMs"])
        _check_encodable(nxt)
        new_attempt = self._sent_any and nxt["attempt"] > self._state["attempt"]
        if self._sent_any and not new_attempt:
            if nxt["attempt"] < self._state["attempt"]:
                raise refuse("out_of_range", "attempt", "attempt must not go back")
            if is_terminal(self._state["status"]):
                raise refuse(
                    "invalid_value",
                    "status",
                    f"job {self._key.job_id} is already {self._state['status']}; "
                    "nothing may follow a terminal state within one attempt",
                )
        if "seq" in nxt:
            if self._sent_any and not new_attempt and nxt["seq"] < self._next_seq:
                raise refuse("out_of_range", "seq", f"seq must exceed the last seq sent ({self._next_seq - 1})")
        else:
            nxt["seq"] = self._next_seq
        nxt.setdefault("timestamp", self._publisher.clock.unix_ms())

        problem = validate_state(nxt, self._key)
        if problem is not None:
            raise refuse(problem.reason, problem.field, problem.message)
        payload = _serialize(nxt)
        # The bridge's own rules are the final judge (size, nesting depth, ...).
        parsed = parse_update(self._key, payload)
        if not parsed:
            assert parsed.error is not None
            raise refuse(parsed.error.reason, parsed.error.field, parsed.error.message)

        urgent = _is_urgent(self._state, nxt, not self._sent_any)
        self._next_seq = nxt["seq"] + 1
        self._state = nxt
        self._sent_any = True
        # Requests matter while the job runs; a new attempt runs it again.
        self._follow(self._follow_control and not is_terminal(nxt["status"]))
        return self._publisher._submit(self._slot, payload, urgent=urgent)

    def __del__(self) -> None:
        # Sends an update still waiting for its throttle interval, as the C++ handle's destructor does.
        try:
            self._publisher._flush_slot(self._slot)
            self._follow(False)
        except Exception:
            pass
