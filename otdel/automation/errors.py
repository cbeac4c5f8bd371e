"""Error codes of the automation API (the ``code`` of the contract's error shape)."""

from enum import StrEnum


class AutomationErrorCode(StrEnum):
    INVALID = "invalid"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_STAGE = "unknown_stage"
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_OPERATOR = "unknown_operator"
    UNKNOWN_ACTION = "unknown_action"
    UNKNOWN_ROUTE = "unknown_route"
    NOT_AVAILABLE = "not_available"
    URL_NOT_ALLOWED = "url_not_allowed"
    UNKNOWN_VARIABLE = "unknown_variable"
    UNKNOWN_PURPOSE = "unknown_purpose"
    UNKNOWN_TEMPLATE = "unknown_template"
