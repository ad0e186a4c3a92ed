"""The two errors of the SDK: ValidationError is raised before anything is sent;
PublishError is what a delivery holds when an update did not reach the broker."""

from __future__ import annotations

from typing import Optional

from .json_payload import Rejection
from .reason_codes import describe_reason_code, reason_name

PUBLISH_ERROR_CODES = (
    "rejected", "buffer_full", "disconnected", "closed", "timed_out", "client_error",
    # A message on a job's control topic that is not a valid control message; ignored, told only to on_error.
    "invalid_control",
)


class ValidationError(ValueError):
    """An update that breaks protocol v1; `reason` and `field` are those the bridge would record."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"invalid update ({rejection.reason}): {rejection.message}")
        self.rejection = rejection

    @property
    def reason(self) -> str:
        return self.rejection.reason

    @property
    def field(self) -> str:
        return self.rejection.field


def refuse(reason: str, field: str, message: str) -> ValidationError:
    return ValidationError(Rejection(reason, field, message))


class PublishError(Exception):
    """Why a publish failed. `code` is one of PUBLISH_ERROR_CODES; only "rejected" comes
    from the broker, with its MQTT v5 `reason_code` (0 otherwise)."""

    def __init__(self, code: str, message: str, reason_code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.reason_code = reason_code

    @property
    def reason_name(self) -> Optional[str]:
        """'Not authorized'; None when the broker said nothing."""
        return reason_name(self.reason_code) if self.reason_code else None

    @classmethod
    def rejected(cls, reason_code: int, what: str = "") -> "PublishError":
        return cls("rejected", what + describe_reason_code(reason_code), reason_code)


class JobError:
    """Why a job failed: the `error` field of a failed state."""

    __slots__ = ("message", "code")

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"JobError({self.message!r}, {self.code!r})"
