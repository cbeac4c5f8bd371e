"""Error codes the knowledge base answers with (the ``code`` of the contract's error shape)."""

from enum import StrEnum


class KbErrorCode(StrEnum):
    CHECKLIST_INCOMPLETE = "checklist_incomplete"
    NOT_ON_STAGE = "not_on_stage"
    NOT_PUBLISHED = "not_published"
    TOO_LARGE = "too_large"
    REQUIRED = "required"
