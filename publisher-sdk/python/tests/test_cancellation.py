"""Cancellation requests on a job's control topic, over the fake transport."""

from __future__ import annotations

import time

import pytest

from fakes import FakeTransport
from progress_publisher import CancelRequest, Publisher, PublisherOptions, PublishError

CONTROL = "users/alice/jobs/j1/control"


def cancel(request_id: str, by: str = "alice") -> str:
    return f'{{"action":"cancel","requestId":"{request_id}","requestedBy":"{by}","timestamp":1795000000000}}'


class Setup:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.errors: list = []
        self.publisher = Publisher(
            PublisherOptions(worker_id="w", throttle_interval=0, on_error=lambda t, e: self.errors.append((t, e.code))),
            transport=self.transport,
        )

    def told(self, count: int) -> list:
        deadline = time.monotonic() + 5
        while len(self.errors) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.errors


@pytest.fixture
def s():
    setup = Setup()
    yield setup
    setup.publisher.close()


def test_a_job_follows_its_control_topic_until_it_ends(s):
    job = s.publisher.job("alice", "j1")
    assert s.transport.subscriptions == {CONTROL}
    job.start()
    job.complete()
    assert s.transport.subscriptions == set()
    job.update({"status": "started", "attempt": 2})  # a new attempt runs the job again
    assert s.transport.subscriptions == {CONTROL}
    job.remove()
    assert s.transport.subscriptions == set()
    quiet = s.publisher.job("alice", "j2", follow_control=False)
    assert s.transport.subscriptions == set() and not quiet.cancel_requested
    s.publisher.job("alice", "j3").release()
    assert s.transport.subscriptions == set()


def test_each_request_reaches_the_handler_once_and_the_worker_decides(s):
    seen = []
    job = s.publisher.job("alice", "j1", on_cancel=seen.append)
    job.start()
    assert not job.cancel_requested
    s.transport.deliver(CONTROL, cancel("r1"))
    s.transport.deliver(CONTROL, cancel("r1"))  # the retained request again, after a reconnect
    s.transport.deliver(CONTROL, cancel("r2", "ops"))
    assert seen == [CancelRequest("r1", "alice", 1795000000000), CancelRequest("r2", "ops", 1795000000000)]
    assert job.cancel_requested and job.last_cancel_request.request_id == "r2"
    assert len(s.transport.sent) == 1  # nothing sent on its own
    job.cancel("Cancelled by ops")
    assert s.transport.json(-1)["status"] == "cancelled"


def test_a_request_before_the_handler_is_handed_to_it_when_set(s):
    job = s.publisher.job("alice", "j1")
    s.transport.deliver(CONTROL, cancel("early"))
    assert job.cancel_requested
    ids = []
    job.on_cancel(lambda request: ids.append(request.request_id))
    assert ids == ["early"]
    s.transport.deliver(CONTROL, cancel("early"))
    s.transport.deliver(CONTROL, cancel("later"))
    assert ids == ["early", "later"]


def test_malformed_messages_are_reported_others_ignored_and_handlers_may_raise(s):
    calls = []

    def handler(request):
        calls.append(request)
        raise RuntimeError("handler bug")

    job = s.publisher.job("alice", "j1", on_cancel=handler)
    s.transport.deliver(CONTROL, "not json")
    s.transport.deliver(CONTROL, '{"action":"cancel","requestedBy":"alice","timestamp":1}')
    s.transport.deliver(CONTROL, '{"action":"pause","requestId":"p","requestedBy":"alice","timestamp":1}')
    s.transport.deliver(CONTROL, b"")
    assert calls == [] and not job.cancel_requested
    assert s.told(2) == [(CONTROL, "invalid_control"), (CONTROL, "invalid_control")]
    s.transport.deliver(CONTROL, cancel("r1"))
    assert len(calls) == 1


def test_handles_of_one_job_share_a_subscription_and_refusals_are_reported(s):
    first = s.publisher.job("alice", "j1")
    second = s.publisher.job("alice", "j1")
    assert s.transport.subscribes == 1
    s.transport.deliver(CONTROL, cancel("r1"))
    assert first.cancel_requested and second.cancel_requested
    first.cancel()
    assert CONTROL in s.transport.subscriptions
    second.cancel()
    assert s.transport.subscriptions == set()
    s.transport.subscribe_error = PublishError.rejected(0x87)
    s.publisher.job("alice", "j9")
    assert s.told(1) == [("users/alice/jobs/j9/control", "rejected")]
