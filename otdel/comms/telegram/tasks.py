"""Background jobs of the Telegram channel: file downloads (retried) and the bot's own messages."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks import task

from otdel.comms.models import Interaction
from otdel.comms.telegram import services
from otdel.comms.telegram.botapi import BotApiError

logger = logging.getLogger(__name__)

# Delays before the 2nd, 3rd, ... download attempt; after the last one the file is given up on.
RETRY_DELAYS = [60, 300, 900, 3600, 4 * 3600]
# Failures retrying cannot fix: the file is too big, the bot is gone.
PERMANENT_CODES = {410, 413}


def _enqueue_later(job: Any, delay: int, *args: Any) -> None:
    if job.get_backend().supports_defer:
        job.using(run_after=timezone.now() + datetime.timedelta(seconds=delay)).enqueue(*args)
    else:  # backends without deferral (the inline one in tests) just run the next attempt now
        job.enqueue(*args)


@task()
def telegram_file_fetch(interaction_id: int, attempt: int = 1) -> None:
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        return
    try:
        services.telegram_file_fetch(interaction=interaction)
    except BotApiError as exc:
        final = exc.code in PERMANENT_CODES or attempt > len(RETRY_DELAYS)
        logger.warning(
            "telegram file of interaction %s, attempt %s: %s%s",
            interaction_id,
            attempt,
            exc.description,
            " (giving up)" if final else "",
        )
        if not final:
            _enqueue_later(telegram_file_fetch, RETRY_DELAYS[attempt - 1], interaction_id, attempt + 1)


@task()
def telegram_bot_say(interaction_id: int, what: str) -> None:
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        return
    try:
        services.telegram_bot_say(interaction=interaction, what=what)
    except ValidationError as exc:
        # A courtesy message that did not go out (bot blocked, Telegram down) is not worth a retry.
        logger.warning(
            "telegram bot message %r for interaction %s not sent: %s", what, interaction_id, exc.messages
        )
