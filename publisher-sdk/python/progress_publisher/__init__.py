"""progress_publisher: report the progress of background jobs (protocol v1) over MQTT v5."""

from .control import CANCEL_ACTION, MAX_CONTROL_PAYLOAD_BYTES, MAX_REMEMBERED_REQUESTS, CancelHandler, CancelRequest, ControlMessage, ControlParseResult, is_valid_request_id, parse_control
from .errors import PUBLISH_ERROR_CODES, JobError, PublishError, ValidationError
from .job import Delivery, Job
from .json_payload import Rejection
from .publisher import MAX_QUEUED_ERRORS, Clock, Publisher, PublisherOptions, SystemClock, Transport, connect
from .reason_codes import describe_reason_code
from .topic import CONTROL_TOPIC_FILTER, JOB_TOPIC_FILTER, MAX_ID_LENGTH, WORKER_STATUS_FILTER, JobKey, control_topic, is_valid_id, job_topic, parse_control_topic, parse_job_topic, worker_status_topic
from .validation import MAX_PAYLOAD_BYTES, REJECT_REASONS, STATUSES, JobState, ParseResult, is_terminal, parse_update, validate_state

__all__ = [
    "CANCEL_ACTION", "CONTROL_TOPIC_FILTER", "MAX_CONTROL_PAYLOAD_BYTES", "MAX_REMEMBERED_REQUESTS",
    "CancelHandler", "CancelRequest", "ControlMessage", "ControlParseResult",
    "control_topic", "is_valid_request_id", "parse_control", "parse_control_topic",
    "MAX_QUEUED_ERRORS", "PUBLISH_ERROR_CODES",
    "Clock", "Delivery", "Job", "JobError", "Publisher", "PublisherOptions", "PublishError", "SystemClock", "Transport",
    "ValidationError", "connect", "describe_reason_code",
    "JOB_TOPIC_FILTER", "MAX_ID_LENGTH", "MAX_PAYLOAD_BYTES", "REJECT_REASONS", "STATUSES", "WORKER_STATUS_FILTER",
    "JobKey", "JobState", "ParseResult", "Rejection",
    "is_terminal", "is_valid_id", "job_topic", "parse_job_topic", "parse_update", "validate_state", "worker_status_topic",
]
