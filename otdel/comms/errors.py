"""Error codes the channel endpoints answer with (the ``code`` of the contract's error shape)."""

from enum import StrEnum


class CommsErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_PAYLOAD = "invalid_payload"
    INVALID = "invalid"
    BAD_SIGNATURE = "bad_signature"
    STALE_EVENT = "stale_event"
    UNKNOWN_BOT = "unknown_bot"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    RATE_LIMITED = "rate_limited"
    TELEPHONY_UNAVAILABLE = "telephony_unavailable"
