"""A transport that records what it is given and completes each publish the way a
test asks (at once, with an error, or when released); deliver() plays a message
arriving on a subscribed topic. And a clock that only moves when a test advances it."""

from __future__ import annotations

import json
import threading
from typing import Any, List, NamedTuple, Optional

from progress_publisher import PublishError


class Sent(NamedTuple):
    topic: str
    payload: bytes
    qos: int
    retain: bool


class FakeTransport:
    def __init__(self) -> None:
        self.sent: List[Sent] = []
        self.connects = 0
        self.disconnects = 0
        self._held: List[Any] = []
        self._hold = False
        self._fail_with: Optional[PublishError] = None
        self._lock = threading.Lock()
        self.subscriptions: set = set()
        self.subscribes = 0
        self.subscribe_error: Optional[PublishError] = None
        self._handler: Any = None

    def set_message_handler(self, handler) -> None:
        self._handler = handler

    def subscribe(self, topic_filter, done) -> None:
        self.subscriptions.add(topic_filter)
        self.subscribes += 1
        done(self.subscribe_error)

    def unsubscribe(self, topic_filter) -> None:
        self.subscriptions.discard(topic_filter)

    def deliver(self, topic: str, payload) -> None:
        if topic in self.subscriptions and self._handler is not None:
            self._handler(topic, payload.encode() if isinstance(payload, str) else payload)

    def connect(self) -> None:
        self.connects += 1

    def disconnect(self) -> None:
        self.disconnects += 1

    def publish(self, topic, payload, qos, retain, done) -> None:
        with self._lock:
            self.sent.append(Sent(topic, payload, qos, retain))
            if self._hold:
                self._held.append(done)
                return
            error = self._fail_with
        done(error)

    def fail_with(self, error: Optional[PublishError]) -> None:
        self._fail_with = error

    def hold(self) -> None:
        self._hold = True

    def release(self, error: Optional[PublishError] = None) -> None:
        with self._lock:
            held, self._held, self._hold = self._held, [], False
        for done in held:
            done(error)

    def json(self, i: int) -> Any:
        return json.loads(self.sent[i].payload)


class ManualClock:
    START_UNIX_MS = 1_700_000_000_000

    def __init__(self) -> None:
        self.elapsed = 3600.0  # well past zero, so "never sent" is not mistaken for "long ago"

    def now(self) -> float:
        return self.elapsed

    def unix_ms(self) -> int:
        return self.START_UNIX_MS + round((self.elapsed - 3600.0) * 1000)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds
