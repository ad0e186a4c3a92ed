"""Topic layout and the id rule of protocol v1 (docs/protocol.md), as the C++
progress::protocol library has them."""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

MAX_ID_LENGTH = 128
JOB_TOPIC_FILTER = "users/+/jobs/+"
WORKER_STATUS_FILTER = "workers/+/status"
CONTROL_TOPIC_FILTER = "users/+/jobs/+/control"
_CONTROL_LEVEL = "/control"

_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_DOTS = re.compile(r"\.+")
_JOB_TOPIC = re.compile(r"users/([^/]*)/jobs/([^/]*)")


class JobKey(NamedTuple):
    """Identifies one job: the two ids its topic carries."""

    user_id: str
    job_id: str


def is_valid_id(value: object) -> bool:
    """True when `value` matches [A-Za-z0-9_.-]{1,128} and is not made only of dots."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None and _DOTS.fullmatch(value) is None


def require_valid_id(value: str, what: str) -> None:
    if not is_valid_id(value):
        raise ValueError(f"{what} must match [A-Za-z0-9_.-]{{1,128}} and not be only dots: {value[:160]!r}")


def job_topic(user_id: str, job_id: str) -> str:
    """"users/<userId>/jobs/<jobId>"; raises ValueError on a bad id."""
    require_valid_id(user_id, "userId")
    require_valid_id(job_id, "jobId")
    return f"users/{user_id}/jobs/{job_id}"


def parse_job_topic(topic: str) -> Optional[JobKey]:
    """The ids of a job topic, or None when `topic` is not one."""
    match = _JOB_TOPIC.fullmatch(topic)
    if match is None or not is_valid_id(match[1]) or not is_valid_id(match[2]):
        return None
    return JobKey(match[1], match[2])


def worker_status_topic(worker_id: str) -> str:
    """"workers/<workerId>/status"; raises ValueError on a bad id."""
    require_valid_id(worker_id, "workerId")
    return f"workers/{worker_id}/status"


def control_topic(user_id: str, job_id: str) -> str:
    """"users/<userId>/jobs/<jobId>/control", where requests to the job's worker are
    retained; raises ValueError on a bad id."""
    return job_topic(user_id, job_id) + _CONTROL_LEVEL


def parse_control_topic(topic: str) -> Optional[JobKey]:
    """The ids of a control topic, or None when `topic` is not one."""
    if not topic.endswith(_CONTROL_LEVEL):
        return None
    return parse_job_topic(topic[: -len(_CONTROL_LEVEL)])
