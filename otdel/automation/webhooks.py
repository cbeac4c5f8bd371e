"""Webhook deliveries of rules and SLA clocks: signed POSTs through ``core/outbound.py``, retried
with backoff, each attempt claimed by one worker and written to the run log.

A delivery is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and its outcome written in the same
transaction: two workers never send it at once; a worker killed mid-way leaves it due, and the next
one sends it again with the same ``X-Otdel-Delivery`` for the receiver to deduplicate.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from otdel.automation.models import RuleRun, WebhookDelivery
from otdel.core import outbound

logger = logging.getLogger(__name__)
RETRY_MINUTES = (1, 5, 30, 120, 720)


def retry_minutes() -> list[int]:
    """Waits before the 2nd, 3rd... attempt; the number of attempts is one more than their count."""
    return [int(m) for m in getattr(settings, "OTDEL_WEBHOOK_RETRY_MINUTES", RETRY_MINUTES)]


def label(pk: int) -> str:
    """How a delivery's notes start in the run log (the latest replaces the one before)."""
    return _("webhook #%(id)s") % {"id": pk}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_drain(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Attempt every due delivery once; returns how many were attempted."""
    attempted = 0
    while attempted < limit:
        with transaction.atomic():
            moment = now or timezone.now()
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .filter(state=WebhookDelivery.State.PENDING, next_attempt_at__lte=moment)
                .order_by("next_attempt_at", "id")
                .first()
            )
            if delivery is None:
                return attempted
            _attempt(delivery, moment)
            attempted += 1
    return attempted


def _attempt(delivery: WebhookDelivery, moment: datetime.datetime) -> None:
    body = delivery.body.encode()
    delivery.attempts += 1
    error, status = "", None
    try:
        response = outbound.post(
            delivery.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Otdel-Signature": signature(delivery.secret, body),
                "X-Otdel-Delivery": delivery.key,
                "X-Otdel-Attempt": str(delivery.attempts),
            },
        )
        status = response.status
        if status >= 300:
            error = _("answered %(status)s") % {"status": status}
    except outbound.OutboundRefused as exc:
        error = str(exc)
        delivery.attempts = len(retry_minutes()) + 1  # a refused address does not become allowed by waiting
    except outbound.OutboundError as exc:
        error = str(exc)
    delivery.last_status, delivery.last_error = status, error[:500]
    waits = retry_minutes()
    total = len(waits) + 1
    if not error:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
            WebhookDelivery.State.DELIVERED,
            moment,
            None,
        )
        note = _("delivered (attempt %(n)s of %(total)s, answered %(status)s)") % {
            "n": delivery.attempts,
            "total": total,
            "status": status,
        }
    elif delivery.attempts >= total:
        delivery.state, delivery.next_attempt_at = WebhookDelivery.State.FAILED, None
        note = _("failed after %(n)s attempts: %(error)s") % {"n": delivery.attempts, "error": error}
    else:
        delivery.next_attempt_at = moment + datetime.timedelta(minutes=waits[delivery.attempts - 1])
        note = _("attempt %(n)s of %(total)s failed (%(error)s), next at %(at)s") % {
            "n": delivery.attempts,
            "total": total,
            "error": error,
            "at": formats.date_format(timezone.localtime(delivery.next_attempt_at), "SHORT_DATETIME_FORMAT"),
        }
    note = f"{label(delivery.pk)}: {note}"
    delivery.save()
    logger.info("webhook delivery %s: %s", delivery.key, note)
    if delivery.run_id:
        _log_on_run(delivery, note)


def _log_on_run(delivery: WebhookDelivery, note: str) -> None:
    """The run log shows the latest attempt; a delivery that gave up fails its run (and counts
    towards pausing a rule that keeps failing)."""
    from otdel.automation.rules import pause_if_failing

    run = RuleRun.objects.select_related("rule").get(pk=delivery.run_id or 0)
    mine = label(delivery.pk)
    kept = [part for part in run.reason.split("; ") if part and not part.startswith(mine)]
    run.reason = "; ".join([*kept, note])[:2000]
    fields = ["reason", "updated_at"]
    if delivery.state == WebhookDelivery.State.FAILED:
        run.outcome = RuleRun.Outcome.FAILED
        fields.append("outcome")
    run.save(update_fields=fields)
    if delivery.state == WebhookDelivery.State.FAILED:
        pause_if_failing(run.rule, note)
