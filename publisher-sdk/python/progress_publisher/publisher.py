"""Publishes the progress of jobs on behalf of one worker: throttling, ordering and
delivery bookkeeping over a transport (MQTT by default). Mirrors progress::publisher
of the C++ SDK.

Locking: `_lock` guards the state below and is only held briefly; `_send_lock`
serialises the hand-over to the transport so that messages leave in the order they
were queued (the retained state must be the newest). The transport is never called
with `_lock` held, and completions only take `_lock`, so a completion running inside
publish() cannot deadlock."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
import math
from datetime import timedelta
from typing import Callable, Deque, Dict, List, Optional, Protocol, Set, Tuple, Union

from .control import CancelHandler, CancelRequest, JobControl, parse_control
from .errors import PublishError, refuse
from .job import Delivery, Job
from .topic import JobKey, control_topic, is_valid_id, job_topic
from .validation import validate_state

# Errors waiting for the on_error callback; newer ones beyond this reach only their deliveries.
MAX_QUEUED_ERRORS = 256

ErrorCallback = Callable[[str, PublishError], None]
Completion = Callable[[Optional[PublishError]], None]
MessageHandler = Callable[[str, bytes], None]


class Transport(Protocol):
    """What the publisher sends through: MQTT (paho-mqtt) by default, a fake in tests."""

    def connect(self) -> None:
        """Opens the connection; raises PublishError when that fails."""

    def disconnect(self) -> None:
        """Closes the connection cleanly (the worker announces it is offline)."""

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, done: Completion) -> None:
        """Hands one message over; reports its outcome through `done` exactly once, never by raising."""

    def set_message_handler(self, handler: MessageHandler) -> None:
        """Set once, before connect(): every message on a subscribed topic, on the client's thread."""

    def subscribe(self, topic_filter: str, done: Completion) -> None:
        """QoS 1, made again after every reconnect; `done` once the broker first answered."""

    def unsubscribe(self, topic_filter: str) -> None:
        """Stops a subscription."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock (throttling)."""

    def unix_ms(self) -> int:
        """Milliseconds since the Unix epoch (timestamps)."""


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def unix_ms(self) -> int:
        return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class PublisherOptions:
    url: str = "tcp://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    # Names this worker in every update and in workers/<workerId>/status.
    worker_id: str = "worker"
    # MQTT client id; empty means "<worker_id>-<random>", so that two processes of
    # one worker do not take over each other's connection.
    client_id: str = ""
    # Non-terminal updates of one job are coalesced to at most one message per
    # interval (seconds); 0 sends every update.
    throttle_interval: float = 0.1
    # Messages that may await their acknowledgement at once (in flight, or buffered
    # while the connection is down). When full, a further publish fails with
    # "buffer_full": nothing is dropped silently.
    max_buffered: int = 10000
    # Bounds the first connect and the clean disconnect (seconds).
    connect_timeout: float = 10.0
    # Told about every failed publish, on the publisher's timer thread (never on the
    # MQTT client's thread). The deliveries hold the same errors.
    on_error: Optional[ErrorCallback] = field(default=None, compare=False)


def _check_options(options: PublisherOptions) -> None:
    if not is_valid_id(options.worker_id):
        raise refuse("invalid_value", "workerId", "workerId must match [A-Za-z0-9_.-]{1,128} and not be only dots")
    if not options.throttle_interval >= 0:
        raise refuse("invalid_value", "throttle_interval", "throttle_interval must not be negative")
    if not (isinstance(options.max_buffered, int) and options.max_buffered >= 1):
        raise refuse("invalid_value", "max_buffered", "max_buffered must be at least 1")
    if not options.connect_timeout > 0:
        raise refuse("invalid_value", "connect_timeout", "connect_timeout must be positive")


class _JobSlot:
    __slots__ = ("topic", "payload", "outcome", "last_sent")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.payload: Optional[bytes] = None  # the newest state not yet handed over
        self.outcome: Optional[Future] = None  # shared by every update it absorbed
        self.last_sent: Optional[float] = None


def _milliseconds(duration: Union[float, timedelta, None], name: str) -> Optional[int]:
    """Seconds (or a timedelta) as whole milliseconds; None stays None."""
    if duration is None:
        return None
    if isinstance(duration, timedelta):
        duration = duration.total_seconds()
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not math.isfinite(duration):
        raise refuse("wrong_type", name, f"{name} must be a number of seconds or a timedelta")
    return round(duration * 1000)


def _settle(outcome: Future, error: Optional[PublishError]) -> None:
    try:
        if error is None:
            outcome.set_result(None)
        else:
            outcome.set_exception(error)
    except Exception:
        pass  # a second completion of the same message: the first outcome stands


class Publisher:
    """Connects in the constructor (MQTT v5 unless `transport` is given); raises
    PublishError when the broker cannot be reached or refuses the login,
    ValidationError for a bad option. Also a context manager that closes."""

    def __init__(self, options: Optional[PublisherOptions] = None, *, transport: Optional[Transport] = None,
                 clock: Optional[Clock] = None) -> None:
        options = options or PublisherOptions()
        _check_options(options)
        if not options.client_id:
            options = replace(options, client_id=f"{options.worker_id}-{secrets.token_hex(4)}")
        self._options = options
        self._clock: Clock = clock or SystemClock()
        if transport is None:
            from .mqtt_transport import MqttTransport

            transport = MqttTransport(options)
        self._transport = transport
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._send_lock = threading.Lock()
        self._scheduled: Set[_JobSlot] = set()  # bounded by the live job handles
        self._outbox: Deque[Tuple[str, bytes, Future]] = deque()  # drained before each call returns
        self._errors: Deque[Tuple[str, PublishError]] = deque()
        self._controls: Dict[str, List[JobControl]] = {}  # control topic -> handles; bounded by live handles
        self._controls_lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        self._stopping = False
        if hasattr(self._transport, "set_message_handler"):
            self._transport.set_message_handler(self._route_control)
        self._transport.connect()
        self._timer = threading.Thread(target=self._run_timer, name="progress-publisher-timer", daemon=True)
        self._timer.start()

    @property
    def options(self) -> PublisherOptions:
        return self._options

    @property
    def clock(self) -> Clock:
        return self._clock

    def job(self, user_id: str, job_id: str, *, job_type: Optional[str] = None, attempt: int = 1,
            first_seq: int = 1, stall_after: Union[float, timedelta, None] = None, follow_control: bool = True,
            on_cancel: Optional[CancelHandler] = None) -> Job:
        """A handle on job `job_id` of user `user_id`; raises ValidationError on bad ids.
        `stall_after` (seconds or a timedelta, 1 s to 7 days) is how long the job may send
        nothing before the bridge marks it stalled; it goes out as stallAfterMs with every
        update (default: the bridge's --stall-after). With `follow_control` the handle
        follows the job's control topic while the job runs (cancellation requests, see
        Job.on_cancel)."""
        for value, name in ((user_id, "userId"), (job_id, "jobId")):
            if not is_valid_id(value):
                raise refuse("invalid_value", name, f"{name} must match [A-Za-z0-9_.-]{{1,128}} and not be only dots")
        for value, name in ((attempt, "attempt"), (first_seq, "first_seq")):
            if isinstance(value, bool) or not isinstance(value, int):
                raise refuse("wrong_type", name, f"{name} must be an integer")
        initial = {"status": "queued", "attempt": attempt, "seq": first_seq}
        if job_type is not None:
            initial["type"] = job_type
        stall_after_ms = _milliseconds(stall_after, "stall_after")
        if stall_after_ms is not None:
            initial["stallAfterMs"] = stall_after_ms
        problem = validate_state(initial)
        if problem is not None:
            raise refuse(problem.reason, problem.field, problem.message)
        return Job(self, JobKey(user_id, job_id), job_type=job_type, attempt=attempt, first_seq=first_seq,
                   stall_after_ms=stall_after_ms, follow_control=follow_control, on_cancel=on_cancel)

    def flush(self) -> None:
        """Sends every update still waiting for its throttle interval."""
        with self._lock:
            self._take_due(self._clock.now(), everything=True)
        self._drain()

    def flush_due(self) -> None:
        """Sends the waiting updates whose interval has passed (the timer thread does
        this by itself; tests driving a manual clock call it to be exact)."""
        with self._lock:
            self._take_due(self._clock.now(), everything=False)
        self._drain()

    def close(self) -> None:
        """Flushes, stops the timer thread, publishes the offline status and disconnects.
        Later updates fail with "closed". Idempotent; must not be called from on_error."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._take_due(self._clock.now(), everything=True)
            self._stopping = True
            self._wake.notify_all()
        self._drain()
        if self._timer is not threading.current_thread():
            self._timer.join()
        self._transport.disconnect()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- used by Job ---

    def _open_slot(self, key: JobKey) -> _JobSlot:
        return _JobSlot(job_topic(key.user_id, key.job_id))

    def _submit(self, slot: _JobSlot, payload: bytes, *, urgent: bool) -> Delivery:
        with self._lock:
            if self._closed:
                closed: Future = Future()
                closed.set_exception(PublishError("closed", "the publisher is closed"))
                return closed
            if slot.outcome is None:
                slot.outcome = Future()
            slot.payload = payload
            outcome = slot.outcome
            now = self._clock.now()
            if urgent or slot.last_sent is None or now - slot.last_sent >= self._options.throttle_interval:
                self._release(slot, now)
            elif slot not in self._scheduled:
                self._scheduled.add(slot)
                self._wake.notify()
        self._drain()
        return outcome

    def _open_control(self, key: JobKey) -> JobControl:
        return JobControl(control_topic(key.user_id, key.job_id))

    def _follow(self, control: JobControl) -> None:
        """Subscribes the control topic (once for all handles of a job) and routes its requests to `control`."""
        with self._controls_lock:
            followers = self._controls.setdefault(control.topic, [])
            followers.append(control)
            first = len(followers) == 1
        if first and hasattr(self._transport, "subscribe"):
            self._transport.subscribe(control.topic, lambda error, t=control.topic: self._queue_error(t, error))

    def _unfollow(self, control: JobControl) -> None:
        with self._controls_lock:
            followers = self._controls.get(control.topic)
            if not followers or control not in followers:
                return
            followers.remove(control)
            last = not followers
            if last:
                del self._controls[control.topic]
        if last and hasattr(self._transport, "unsubscribe"):
            self._transport.unsubscribe(control.topic)

    def _route_control(self, topic: str, payload: bytes) -> None:
        # On the transport's thread. A cancel request goes to every handle that follows the
        # topic; malformed messages are only reported; other actions are for newer workers.
        try:
            with self._controls_lock:
                followers = list(self._controls.get(topic, ()))
            if not followers or not payload:  # empty: cleared when the job ended
                return
            parsed = parse_control(payload)
            if parsed.message is None:
                assert parsed.error is not None
                self._queue_error(topic, PublishError(
                    "invalid_control", f"ignored a control message ({parsed.error.reason}): {parsed.error.message}"))
                return
            if parsed.message.action != "cancel":
                return
            request = CancelRequest(parsed.message.request_id, parsed.message.requested_by, parsed.message.timestamp)
            for control in followers:
                control.receive(request)
        except Exception:
            pass  # never raise into the MQTT client's thread

    def _queue_error(self, topic: str, error: Optional[PublishError]) -> None:
        if error is None:
            return
        with self._lock:
            if self._options.on_error is not None and len(self._errors) < MAX_QUEUED_ERRORS:
                self._errors.append((topic, error))
                self._wake.notify()

    def _flush_slot(self, slot: _JobSlot) -> None:
        with self._lock:
            self._release(slot, self._clock.now())
        self._drain()

    # --- internals ---

    def _release(self, slot: _JobSlot, now: float) -> None:
        self._scheduled.discard(slot)
        if slot.outcome is None or slot.payload is None:
            return
        self._outbox.append((slot.topic, slot.payload, slot.outcome))
        slot.payload = None
        slot.outcome = None
        slot.last_sent = now

    def _take_due(self, now: float, *, everything: bool) -> Optional[float]:
        """Moves due (or all) waiting updates to the outbox; returns when the next remaining one falls due."""
        next_due: Optional[float] = None
        for slot in list(self._scheduled):
            due = (slot.last_sent if slot.last_sent is not None else now) + self._options.throttle_interval
            if everything or due <= now:
                self._release(slot, now)
            elif next_due is None or due < next_due:
                next_due = due
        return next_due

    def _drain(self) -> None:
        with self._send_lock:
            while True:
                with self._lock:
                    if not self._outbox:
                        return
                    topic, payload, outcome = self._outbox.popleft()
                    full = self._in_flight >= self._options.max_buffered
                    if not full:
                        self._in_flight += 1
                if full:
                    error = PublishError(
                        "buffer_full", f"offline buffer full ({self._options.max_buffered} messages await acknowledgement)"
                    )
                    self._complete(topic, outcome, error, counted=False)
                    continue
                self._transport.publish(
                    topic, payload, 1, True, lambda error, t=topic, o=outcome: self._complete(t, o, error, counted=True)
                )

    def _complete(self, topic: str, outcome: Future, error: Optional[PublishError], *, counted: bool) -> None:
        # Runs on whatever thread the transport uses: only bookkeeping here.
        with self._lock:
            if counted and self._in_flight > 0:
                self._in_flight -= 1
        self._queue_error(topic, error)
        _settle(outcome, error)

    def _run_timer(self) -> None:
        with self._lock:
            while not self._stopping:
                if self._errors:
                    errors: List[Tuple[str, PublishError]] = list(self._errors)
                    self._errors.clear()
                    self._lock.release()
                    try:
                        for topic, error in errors:
                            try:
                                self._options.on_error(topic, error)  # type: ignore[misc]
                            except Exception:
                                pass  # the application's callback must not stop progress reporting
                    finally:
                        self._lock.acquire()
                    continue
                now = self._clock.now()
                next_due = self._take_due(now, everything=False)
                if self._outbox:
                    self._lock.release()
                    try:
                        self._drain()
                    finally:
                        self._lock.acquire()
                    continue
                if next_due is not None:
                    # Sleeps for the time left by the publisher's clock; a manual clock
                    # in tests does not wake this thread (those tests call flush_due()).
                    interval = max(self._options.throttle_interval, 0.001)
                    self._wake.wait(min(max(next_due - now, 0.001), interval))
                else:
                    self._wake.wait()


def connect(url: str = PublisherOptions.url, **options: object) -> Publisher:
    """Publisher(PublisherOptions(url=url, **options)): connects, or raises PublishError."""
    return Publisher(PublisherOptions(url=url, **options))  # type: ignore[arg-type]
