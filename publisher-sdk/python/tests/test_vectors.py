"""The shared protocol vectors through the Python SDK's validator: the same verdicts,
reasons and fields as the C++ library (tests/protocol/test_vectors.cpp)."""

from __future__ import annotations

import pytest

from progress_publisher import (
    JobKey,
    control_topic,
    is_valid_id,
    job_topic,
    parse_control,
    parse_control_topic,
    parse_job_topic,
    parse_update,
    worker_status_topic,
)
from testdata import bytes_of, load_vectors, text_of

UPDATES = load_vectors("updates.json")["vectors"]


@pytest.mark.parametrize("vector", load_vectors("ids.json")["vectors"], ids=lambda v: repr(v["id"])[:40])
def test_ids_follow_the_shared_id_rule(vector):
    assert is_valid_id(text_of(vector["id"])) is vector["valid"]


@pytest.mark.parametrize("kind, build, parse", [
    ("jobTopic", job_topic, parse_job_topic),
    ("controlTopic", control_topic, parse_control_topic),
])
def test_job_scoped_topics(kind, build, parse):
    vectors = load_vectors("topics.json")[kind]
    for v in vectors["build"]:
        if v.get("error"):
            with pytest.raises(ValueError):
                build(v["userId"], v["jobId"])
        else:
            assert build(v["userId"], v["jobId"]) == v["topic"]
    for v in vectors["parse"]:
        expected = JobKey(v["userId"], v["jobId"]) if v["valid"] else None
        assert parse(v["topic"]) == expected, v["topic"]


def test_worker_status_topics():
    for v in load_vectors("topics.json")["workerStatusTopic"]["build"]:
        if v.get("error"):
            with pytest.raises(ValueError):
                worker_status_topic(v["workerId"])
        else:
            assert worker_status_topic(v["workerId"]) == v["topic"]


def check_payload_vector(vector, result, accepted) -> None:
    """A payload vector against what a parser made of it: the rejection it expects, or
    an accepted value (a dict) holding the fields it expects."""
    if not vector["valid"]:
        assert not result
        assert (result.error.reason, result.error.field) == (vector["reason"], vector["field"])
        return
    assert result, result.error
    for name, expected in vector["expect"].items():
        assert accepted[name] == expected, name
    for name in vector.get("absent", []):
        assert name not in accepted


@pytest.mark.parametrize("vector", UPDATES, ids=lambda v: v["name"])
def test_update_payloads(vector):
    result = parse_update(JobKey(vector["userId"], vector["jobId"]), bytes_of(vector["payload"]))
    check_payload_vector(vector, result, result.state)


def test_there_are_vectors():
    assert len(UPDATES) > 50


@pytest.mark.parametrize("vector", load_vectors("control.json")["vectors"], ids=lambda v: v["name"])
def test_control_payloads(vector):
    result = parse_control(bytes_of(vector["payload"]))
    message = result.message
    wire = message and {"action": message.action, "requestId": message.request_id,
                        "requestedBy": message.requested_by, "timestamp": message.timestamp}
    check_payload_vector(vector, result, wire)
