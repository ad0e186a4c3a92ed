"""The Python SDK over a fake transport and a manual clock: what each call publishes,
validation, seq numbering, throttling, deliveries and errors."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fakes import FakeTransport, ManualClock
from progress_publisher import JobError, JobKey, Publisher, PublisherOptions, PublishError, ValidationError, parse_update


@pytest.fixture
def transport():
    return FakeTransport()


@pytest.fixture
def clock():
    return ManualClock()


def make(transport, clock, **options):
    options.setdefault("worker_id", "worker-1")
    return Publisher(PublisherOptions(**options), transport=transport, clock=clock)


def test_every_call_publishes_the_full_state_retained_qos1_valid_for_the_bridge(transport, clock):
    with make(transport, clock, throttle_interval=0) as pub:
        job = pub.job("alice", "import-42", job_type="import")
        job.start("Importing").result(1)
        job.phase(1, 3, "Download", "Fetching 30 files")
        job.progress(40, "12 of 30 files", "file 12")
        job.counter(1500, 5000, "Parsing rows")
        job.eta(timedelta(seconds=20))
        job.complete({"rows": 5000}).result(1)
    assert len(transport.sent) == 6
    for message in transport.sent:
        assert (message.topic, message.qos, message.retain) == ("users/alice/jobs/import-42", 1, True)
        assert parse_update(JobKey("alice", "import-42"), message.payload)
    assert transport.json(0) == {
        "attempt": 1, "jobId": "import-42", "message": "Importing", "seq": 1, "status": "started",
        "timestamp": ManualClock.START_UNIX_MS, "type": "import", "userId": "alice", "workerId": "worker-1",
    }
    assert transport.sent[0].payload.startswith(b'{"attempt":1,"jobId"')  # sorted keys, as the C++ SDK writes
    assert (transport.json(1)["phaseTitle"], transport.json(1)["message"]) == ("Download", "Fetching 30 files")
    assert transport.json(3)["progress"] == 30 and transport.json(3)["detail"] == "file 12"
    assert transport.json(4)["etaMs"] == 20000
    last = transport.json(5)
    assert (last["status"], last["progress"], last["details"], last["seq"]) == ("completed", 100, {"rows": 5000}, 6)
    assert "etaMs" not in last
    assert job.state == last


def test_phase_drops_detail_and_counter_fail_and_cancel_clear_the_eta(transport, clock):
    with make(transport, clock, throttle_interval=0) as pub:
        job = pub.job("alice", "j1")
        job.counter(5, 10, "half")
        job.eta(1.0)
        job.phase(2, 2, "Write")
        phase = transport.json(-1)
        assert "current" not in phase and "message" not in phase and phase["etaMs"] == 1000
        job.fail("Disk full", "E_DISK")
        assert transport.json(-1)["error"] == {"message": "Disk full", "code": "E_DISK"}
        assert "etaMs" not in transport.json(-1)
        other = pub.job("alice", "j2")
        other.eta(0.005)
        other.cancel("Stopped by the user")
        assert transport.json(-1)["status"] == "cancelled" and "etaMs" not in transport.json(-1)
        pub.job("alice", "j3").fail(JobError("boom"))
        assert transport.json(-1)["error"] == {"message": "boom"}


@pytest.mark.parametrize(
    "call, reason, field",
    [
        (lambda j: j.progress(101), "out_of_range", "progress"),
        (lambda j: j.progress(float("nan")), "out_of_range", "progress"),
        (lambda j: j.progress(True), "wrong_type", "progress"),
        (lambda j: j.phase(4, 3, "Too far"), "out_of_range", "phase"),
        (lambda j: j.phase(1.5, 3, "Half"), "wrong_type", "phase"),
        (lambda j: j.counter(-1, 10), "out_of_range", "current"),
        (lambda j: j.progress(5, "x" * 4097), "out_of_range", "message"),
        (lambda j: j.progress(5, "bad \ud800"), "invalid_utf8", "message"),
        (lambda j: j.fail(""), "invalid_value", "error.message"),
        (lambda j: j.complete([1, 2]), "wrong_type", "details"),
        (lambda j: j.complete({"when": object()}), "wrong_type", "details"),
        (lambda j: j.complete({"pad": "x" * 70000}), "oversize", ""),
        (lambda j: j.update({"status": "queued", "userId": "bob"}), "id_mismatch", "userId"),
    ],
)
def test_invalid_updates_raise_the_bridge_reason_and_send_nothing(transport, clock, call, reason, field):
    with make(transport, clock, throttle_interval=0) as pub:
        job = pub.job("alice", "j1")
        with pytest.raises(ValidationError) as refused:
            call(job)
        assert (refused.value.reason, refused.value.field) == (reason, field)
        assert transport.sent == []
        assert job.state["status"] == "queued"


def test_bad_ids_and_options_are_refused(transport, clock):
    with make(transport, clock) as pub:
        for user, job, field in (("al/ice", "j", "userId"), ("alice", "..", "jobId")):
            with pytest.raises(ValidationError) as refused:
                pub.job(user, job)
            assert refused.value.field == field
        with pytest.raises(ValidationError):
            pub.job("alice", "j", job_type="a b")
    for options, field in (
        ({"worker_id": "a/b"}, "workerId"),
        ({"max_buffered": 0}, "max_buffered"),
        ({"throttle_interval": -1}, "throttle_interval"),
    ):
        with pytest.raises(ValidationError) as refused:
            Publisher(PublisherOptions(**options), transport=FakeTransport())
        assert refused.value.field == field


def test_a_stall_time_goes_out_with_every_update_and_one_out_of_range_is_refused(transport, clock):
    with make(transport, clock, throttle_interval=0) as pub:
        job = pub.job("alice", "j1", stall_after=90)
        job.start()
        job.progress(50)
        job.update({"status": "in_progress"})
        job.complete()
        assert [transport.json(i)["stallAfterMs"] for i in range(4)] == [90000] * 4
        assert pub.job("alice", "j2", stall_after=timedelta(minutes=2)).state["stallAfterMs"] == 120000
        assert "stallAfterMs" not in pub.job("alice", "j3").state
        for bad, reason, field in ((0.5, "out_of_range", "stallAfterMs"), (timedelta(days=8), "out_of_range", "stallAfterMs"),
                                   ("90", "wrong_type", "stall_after")):
            with pytest.raises(ValidationError) as refused:
                pub.job("alice", "j4", stall_after=bad)
            assert (refused.value.reason, refused.value.field) == (reason, field)
        assert len(transport.sent) == 4


def test_terminal_states_seq_attempts_and_removal(transport, clock):
    with make(transport, clock, throttle_interval=0) as pub:
        job = pub.job("alice", "j1", first_seq=10)
        job.start()
        job.complete()
        with pytest.raises(ValidationError) as after:
            job.progress(5)
        assert after.value.field == "status"
        job.update({"status": "started", "attempt": 2, "seq": 1})
        assert (transport.json(-1)["attempt"], transport.json(-1)["seq"]) == (2, 1)
        with pytest.raises(ValidationError) as seq:
            job.update({"status": "in_progress", "seq": 1})
        assert seq.value.field == "seq"
        assert [transport.json(i)["seq"] for i in (0, 1)] == [10, 11]
        job.remove().result(1)
        assert transport.sent[-1].payload == b"" and transport.sent[-1].retain
        with pytest.raises(ValidationError):
            job.progress(1)
        with pytest.raises(ValidationError):
            job.remove()


def test_throttling_coalesces_and_sends_the_newest_when_the_interval_passes(transport, clock):
    with make(transport, clock) as pub:
        job = pub.job("alice", "j1")
        first = job.progress(1)
        second = job.progress(2)
        third = job.progress(3, "three")
        assert len(transport.sent) == 1
        pub.flush_due()
        assert len(transport.sent) == 1
        clock.advance(0.1)
        pub.flush_due()
        assert len(transport.sent) == 2
        assert (transport.json(1)["progress"], transport.json(1)["message"], transport.json(1)["seq"]) == (3, "three", 3)
        assert first.result(1) is None
        assert second is third  # replaced updates share the delivery of the message that carried them
        assert second.result(1) is None


def test_phase_changes_and_terminal_states_go_at_once(transport, clock):
    with make(transport, clock) as pub:
        job = pub.job("alice", "j1")
        job.phase(1, 2, "One")
        job.progress(10)
        assert len(transport.sent) == 1
        job.phase(2, 2, "Two")
        assert len(transport.sent) == 2 and transport.json(1)["phase"] == 2
        job.progress(60)
        job.complete()
        assert len(transport.sent) == 3 and transport.json(2)["status"] == "completed"
        clock.advance(1)
        pub.flush_due()
        assert len(transport.sent) == 3


def test_a_throttled_update_is_never_lost(transport, clock):
    pub = make(transport, clock, throttle_interval=0.03)
    job = pub.job("alice", "j1")
    job.progress(1)
    waiting = job.progress(2)
    pub.flush()
    assert transport.json(-1)["progress"] == 2
    assert waiting.result(1) is None
    job.progress(3)
    pub.close()
    assert transport.json(-1)["progress"] == 3
    assert transport.disconnects == 1
    pub.close()  # idempotent
    assert transport.disconnects == 1


def test_the_timer_thread_sends_a_waiting_update_by_itself(transport):
    with Publisher(PublisherOptions(worker_id="w", throttle_interval=0.02), transport=transport) as pub:
        job = pub.job("alice", "j1")
        job.progress(1)
        waiting = job.progress(2)
        assert len(transport.sent) == 1
        assert waiting.result(5) is None
        assert transport.json(-1)["progress"] == 2


def test_deliveries_tell_refusal_full_buffer_and_closed_apart(transport, clock):
    errors = []
    pub = make(transport, clock, throttle_interval=0, max_buffered=2, on_error=lambda topic, e: errors.append((topic, e.code)))
    transport.fail_with(PublishError.rejected(0x87))
    with pytest.raises(PublishError) as refused:
        pub.job("alice", "j1").start().result(1)
    assert (refused.value.code, refused.value.reason_code, refused.value.reason_name, str(refused.value)) == (
        "rejected", 0x87, "Not authorized", "Not authorized (0x87)"
    )
    transport.fail_with(None)
    transport.hold()
    a = pub.job("alice", "a").start()
    b = pub.job("alice", "b").start()
    assert pub.job("alice", "c").start().exception(1).code == "buffer_full"
    transport.release()
    assert a.result(1) is None and b.result(1) is None
    assert pub.job("alice", "d").start().result(1) is None  # room again
    deadline = time.monotonic() + 5
    while len(errors) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    pub.close()
    assert pub.job("alice", "e").start().exception(1).code == "closed"
    assert errors == [("users/alice/jobs/j1", "rejected"), ("users/alice/jobs/c", "buffer_full")]
