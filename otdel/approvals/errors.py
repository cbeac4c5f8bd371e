"""Error codes of the approvals API (the ``code`` of the error shape)."""

from enum import StrEnum


class ApprovalErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    UNKNOWN = "unknown"
    DELETED = "deleted"
    ALREADY_RUNNING = "already_in_approval"
    ALREADY_APPROVED = "already_approved"
    NOT_READY = "not_ready"
    WRONG_ROUTE = "wrong_route"
    NEEDS_NEW_VERSION = "needs_new_version"
    NOBODY = "no_approver"
    COMMENT_REQUIRED = "comment_required"
    NOT_ON_STEP = "not_on_step"
    STEP_CLOSED = "step_closed"
    FORBIDDEN = "forbidden"
    REQUEST_CLOSED = "request_closed"
    TOO_LARGE = "too_large"
