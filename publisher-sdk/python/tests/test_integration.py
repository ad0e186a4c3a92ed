"""The Python SDK against a real Mosquitto with the project's broker-config and the real
progress-bridge: what the SDK sends is what the bridge serves, the Last Will marks a
killed worker offline, and a cancel request published as the bridge account reaches the
job's handler. Needs PROGRESS_BROKER_CONFIG and PROGRESS_BRIDGE_BINARY (ctest sets them)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

import progress_publisher
from progress_publisher import PublishError
from system import Child, Reader, System, wait_for


@pytest.fixture(scope="module")
def system():
    running = System()
    yield running
    running.stop()


def worker(system: System, worker_id: str) -> progress_publisher.Publisher:
    return progress_publisher.connect(system.mqtt_url, username="worker", password=system.passwords["worker"],
                                      worker_id=worker_id)


def test_what_the_sdk_publishes_is_what_the_bridge_serves(system):
    with worker(system, "py-it-rest") as pub:
        job = pub.job("alice", "py-rest-1", job_type="import")
        job.start("Importing").result(10)
        job.phase(1, 2, "Download", "Fetching files")
        job.progress(30, "a third")
        job.progress(40, "12 of 30 files", "file 12")  # throttled: replaces the previous one
        job.phase(2, 2, "Write").result(10)
        job.counter(600, 1000, "Writing rows").result(10)
        served = wait_for("the bridge to serve the latest state",
                          lambda: (s := system.rest_job("alice", "py-rest-1")) and s.get("current") == 600 and s)
        assert (served["status"], served["phase"], served["phaseTitle"], served["progress"], served["message"],
                served["workerId"], served["type"]) == ("in_progress", 2, "Write", 60, "Writing rows", "py-it-rest",
                                                        "import")
        assert served["seq"] == job.state["seq"]
        job.complete({"rows": 1000}).result(10)
        done = wait_for("the completed state",
                        lambda: (s := system.rest_job("alice", "py-rest-1")) and s["status"] == "completed" and s)
        assert done["details"] == {"rows": 1000}


def test_the_broker_refuses_a_user_account_and_the_delivery_names_the_reason(system):
    with progress_publisher.connect(system.mqtt_url, username="alice", password=system.passwords["alice"],
                                    worker_id="py-it-alice") as pub:
        with pytest.raises(PublishError) as refused:
            pub.job("alice", "py-forged").start().result(10)
    assert (refused.value.code, refused.value.reason_code, str(refused.value)) == (
        "rejected", 0x87, "Not authorized (0x87)")


def test_online_offline_on_close_and_the_last_will_when_killed(system):
    watcher = Reader(system, "bridge", "workers/+/status")

    def status_of(worker_id):
        received = watcher.received(f"workers/{worker_id}/status")
        return json.loads(received[-1][1]) if received else None

    try:
        pub = worker(system, "py-it-clean")
        wait_for("online", lambda: (status_of("py-it-clean") or {}).get("status") == "online")
        pub.close()
        wait_for("offline after close", lambda: (status_of("py-it-clean") or {}).get("status") == "offline")

        script = Path(__file__).with_name("worker_process.py")
        child = Child("py-worker-process", [sys.executable, str(script), "py-it-doomed", "alice", "py-doomed-1"],
                      system.dir, {"PROGRESS_MQTT_URL": system.mqtt_url,
                                   "PROGRESS_MQTT_PASSWORD": system.passwords["worker"]})
        try:
            wait_for("the worker process to be ready", lambda: "ready" in child.output() or child.process.poll())
            assert "ready" in child.output(), child.output()
            wait_for("online", lambda: (status_of("py-it-doomed") or {}).get("status") == "online")
            child.stop(kill=True)
            offline = wait_for("the Last Will", lambda: (s := status_of("py-it-doomed")) and s["status"] == "offline"
                               and s, timeout=30)
            assert offline["workerId"] == "py-it-doomed"
        finally:
            child.stop(kill=True)
    finally:
        watcher.close()
    late = Reader(system, "bridge", "workers/py-it-doomed/status")
    try:
        topic, payload, retained = wait_for("the retained status", lambda: late.messages and late.messages[0])
        assert retained and json.loads(payload)["status"] == "offline"
    finally:
        late.close()


def test_a_cancel_from_the_bridge_account_reaches_the_job_also_one_made_before_it_started(system):
    bridge = Reader(system, "bridge")
    topic = "users/alice/jobs/py-cancel-1/control"

    def request(request_id, by):
        return json.dumps({"action": "cancel", "requestId": request_id, "requestedBy": by,
                           "timestamp": time.time_ns() // 1_000_000})

    try:
        bridge.publish(topic, request("before-start", "alice"))
        seen = []
        arrived = threading.Event()

        def on_cancel(r):
            seen.append(r)
            arrived.set()

        with worker(system, "py-it-cancel") as pub:
            job = pub.job("alice", "py-cancel-1", on_cancel=on_cancel)
            job.start("Running").result(10)
            assert arrived.wait(15), "the retained request did not arrive"
            assert (seen[0].request_id, seen[0].requested_by, job.cancel_requested) == ("before-start", "alice", True)
            bridge.publish(topic, request("live", "ops"))
            wait_for("the live request", lambda: len(seen) == 2)
            assert seen[1].request_id == "live"
            job.cancel(f"Cancelled by {seen[1].requested_by}").result(10)
            served = wait_for("the cancelled state",
                              lambda: (s := system.rest_job("alice", "py-cancel-1")) and s["status"] == "cancelled" and s)
            assert served["message"] == "Cancelled by ops"
        bridge.publish(topic, "")  # the bridge clears it when the job ended
    finally:
        bridge.close()


def test_the_documented_example_worker_runs_to_completion(system):
    script = Path(__file__).resolve().parents[1] / "examples" / "import_worker.py"
    child = Child("import-worker", [sys.executable, str(script), "alice", "py-example-1"], system.dir, {
        "PROGRESS_MQTT_URL": system.mqtt_url,
        "PROGRESS_MQTT_USERNAME": "worker",
        "PROGRESS_MQTT_PASSWORD": system.passwords["worker"],
        "PYTHONPATH": str(script.parents[1]),
    })
    try:
        assert child.process.wait(30) == 0, child.output()
    finally:
        child.stop(kill=True)
    assert "alice/py-example-1: completed" in child.output()
    served = wait_for("the example job", lambda: system.rest_job("alice", "py-example-1"))
    assert (served["status"], served["phase"], served["details"]) == ("completed", 3, {"rows": 5000})


def test_updates_made_while_the_broker_is_down_leave_after_the_reconnect(system):
    with worker(system, "py-it-buffering") as pub:
        job = pub.job("alice", "py-buffered-1")
        job.start().result(10)
        system.stop_broker()
        outcome = job.complete({"buffered": True})
        system.start_broker()
        assert outcome.result(60) is None
    alice = Reader(system, "alice", "users/alice/jobs/py-buffered-1")
    try:
        topic, payload, retained = wait_for("the retained state", lambda: alice.messages and alice.messages[-1])
        assert json.loads(payload)["status"] == "completed"
    finally:
        alice.close()
