"""Call recordings: fetch the audio from the PBX or provider into our storage, in the background.

A recording becomes known at different moments per provider (a URL in a generic event, Zadarma's
``call_id_with_rec``, Mango's ``recording_id``, an Asterisk MixMonitor file), often after the call
was first stored, so adapters call ``recording_fetch_enqueue`` after each ingest. Failures are
logged and retried later; they never break the intake.
"""

from __future__ import annotations

import datetime
import json
import logging
import mimetypes
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from otdel.comms.models import IntakeLog, Interaction, InteractionKind, TelephonyProvider
from otdel.comms.services import ingest_event
from otdel.comms.telephony.common import TelephonyError
from otdel.comms.telephony.generic import call_event
from otdel.comms.telephony.mango import mango_recording_request
from otdel.comms.telephony.zadarma import zadarma_recording_link
from otdel.core import outbound

logger = logging.getLogger(__name__)

MAX_BYTES = 200 * 1024 * 1024
TIMEOUT = 30
MAX_ATTEMPTS = 8
STATE_KEY = "_recording_fetch"
CHUNK = 256 * 1024
AUDIO_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/x-gsm": ".gsm",
}


class RecordingError(Exception):
    """The recording could not be downloaded (this time)."""


def _max_bytes() -> int:
    return int(getattr(settings, "OTDEL_RECORDING_MAX_BYTES", MAX_BYTES))


# --- where the audio is --------------------------------------------------------------------------


def _payload_value(interaction: Interaction, key: str) -> str:
    """The latest value of ``key`` in the stored payload or its history of merged events."""
    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    history = payload.get("_events") or []
    for item in [*reversed(history), payload]:
        if isinstance(item, dict) and item.get(key):
            return str(item[key])
    return ""


def _provider(interaction: Interaction) -> TelephonyProvider | None:
    kind, _sep, key = (interaction.provider or "").partition(":")
    if not key:
        return None
    return TelephonyProvider.objects.filter(kind=kind, key=key).first()


def recording_pending(interaction: Interaction) -> bool:
    """Whether there is a recording we could fetch and have not stored yet."""
    if interaction.kind != InteractionKind.CALL or interaction.recording_file:
        return False
    if interaction.recording_url:
        return True
    kind = (interaction.provider or "").partition(":")[0]
    reference = {"zadarma": "call_id_with_rec", "mango": "recording_id"}.get(kind)
    if reference is None or not _payload_value(interaction, reference):
        return False
    # Only the provider's API can turn the reference into audio: without its address, nothing to do.
    provider = _provider(interaction)
    return provider is not None and bool(provider.api_url)


def _source(interaction: Interaction) -> urllib.request.Request:
    """The request that returns the audio; asks the provider for a fresh link where it has to."""
    kind = (interaction.provider or "").partition(":")[0]
    provider = _provider(interaction)
    if kind == "zadarma" and provider is not None and provider.api_url:
        rec_id = _payload_value(interaction, "call_id_with_rec")
        if rec_id:
            link = zadarma_recording_link(provider, call_id_with_rec=rec_id)
            _remember_url(interaction, link)
            return urllib.request.Request(link)
    if kind == "mango" and provider is not None and provider.api_url:
        rec_id = _payload_value(interaction, "recording_id")
        if rec_id:
            return mango_recording_request(provider, rec_id)
    if interaction.recording_url:
        return urllib.request.Request(interaction.recording_url)
    raise RecordingError("no recording source (set the provider's API URL)")


def _remember_url(interaction: Interaction, url: str) -> None:
    """Keep the provider's link on the call, through the one inbound path like any call event."""
    if interaction.recording_url == url:
        return
    ingest_event(
        call_event(
            provider=interaction.provider,
            call_id=interaction.external_id,
            event="recording",
            direction=interaction.direction,
            caller=interaction.caller,
            called=interaction.called,
            at=timezone.now(),
            recording_url=url,
            payload={"recording_link": url},
        )
    )
    interaction.recording_url = url


# --- downloading ---------------------------------------------------------------------------------


# What a recording may be: audio, or bytes the provider did not label. A page, JSON or a picture
# from a wrong (or malicious) link is not kept as a "recording" anyone could download.
_NOT_AUDIO = ("text/", "image/", "application/json", "application/xml", "application/xhtml")


def recording_download(
    request: urllib.request.Request,
    *,
    timeout: float | None = None,
    max_bytes: int | None = None,
    allow_hosts: tuple[str, ...] = (),
) -> tuple[Any, str, str]:
    """Download into a temporary file: (file positioned at 0, content type, final URL).

    Through ``otdel.core.outbound.fetch``: only http(s), only public addresses (checked after DNS
    and on every redirect; ``allow_hosts`` and ``OTDEL_OUTBOUND_ALLOWED_HOSTS`` excepted), a
    timeout on every socket operation, and a size cap, so a wrong link can't fill the disk or
    read the local network back.
    """
    limit = _max_bytes() if max_bytes is None else max_bytes
    timeout = TIMEOUT if timeout is None else timeout
    try:
        response = outbound.fetch(
            request.full_url,
            method=request.get_method(),
            headers=dict(request.header_items()),
            data=request.data if isinstance(request.data, bytes) else None,
            timeout=timeout,
            max_bytes=limit,
            allow_hosts=allow_hosts,
        )
    except outbound.OutboundError as exc:
        raise RecordingError(str(exc)) from exc
    spool = response.body
    try:
        if response.status >= 400:
            raise RecordingError(f"HTTP {response.status} from {request.full_url[:200]}")
        if response.content_type.startswith(_NOT_AUDIO):
            raise RecordingError(f"not audio ({response.content_type}) at {response.url[:200]}")
        spool.seek(0, 2)
        if spool.tell() == 0:
            raise RecordingError("the recording is empty")
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, response.content_type, response.url


def _filename(interaction: Interaction, content_type: str, url: str) -> str:
    extension = posixpath.splitext(urllib.parse.urlsplit(url).path)[1].lower()
    if not (1 < len(extension) <= 6 and extension[1:].isalnum()):
        extension = (
            AUDIO_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type or "") or ".mp3"
        )
    return f"call-{interaction.pk}{extension}"


def recording_store(
    *, interaction: Interaction, request: urllib.request.Request | None = None
) -> Interaction:
    """Fetch the recording of ``interaction`` into storage and point ``recording_file`` at it."""
    provider = _provider(interaction)
    # The provider's own API host is trusted even on a private network (a PBX in the office).
    own = (
        urllib.parse.urlsplit(provider.api_url).hostname
        if provider is not None and provider.api_url
        else None
    )
    spool, content_type, final_url = recording_download(
        request or _source(interaction), allow_hosts=(own,) if own else ()
    )
    try:
        name = interaction.recording_file.field.generate_filename(
            interaction, _filename(interaction, content_type, final_url)
        )
        stored = interaction.recording_file.storage.save(name, File(spool, name=name))
    finally:
        spool.close()
    # A plain UPDATE of this one column: concurrent call events may be merging into the same row.
    Interaction.objects.filter(pk=interaction.pk).update(recording_file=stored)
    interaction.recording_file.name = stored
    _note(interaction.pk, {"stored_at": timezone.now().isoformat(), "error": ""})
    return interaction


def _note(interaction_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Remember fetch attempts on the call so the sweep knows when to give up."""
    with transaction.atomic():
        row = Interaction.objects.select_for_update().filter(pk=interaction_id).first()
        if row is None or not isinstance(row.payload, dict):
            return {}
        state = {**(row.payload.get(STATE_KEY) or {}), **values}
        Interaction.objects.filter(pk=interaction_id).update(payload={**row.payload, STATE_KEY: state})
    return state


def _attempts(interaction: Interaction) -> int:
    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    return int((payload.get(STATE_KEY) or {}).get("attempts") or 0)


# --- background tasks ----------------------------------------------------------------------------


def _supports_defer() -> bool:
    return bool(getattr(recording_fetch.get_backend(), "supports_defer", False))


def recording_fetch_enqueue(interaction: Interaction, *, delay: int = 0) -> bool:
    """Queue the download of this call's recording if there is one and we don't have it yet."""
    if not recording_pending(interaction):
        return False
    interaction_id = interaction.pk

    def enqueue() -> None:
        try:
            if delay and _supports_defer():
                run_after = timezone.now() + datetime.timedelta(seconds=delay)
                recording_fetch.using(run_after=run_after).enqueue(interaction_id)
            else:
                recording_fetch.enqueue(interaction_id)
        except Exception:  # the queue being down must not fail the webhook that got us here
            logger.exception("could not queue the recording fetch of interaction %s", interaction_id)

    transaction.on_commit(enqueue)
    return True


@task()
def recording_fetch(interaction_id: int) -> None:
    """Download one recording; on failure note the attempt and try again later (with backoff)."""
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None or not recording_pending(interaction):
        return
    attempts = _attempts(interaction) + 1
    try:
        recording_store(interaction=interaction)
    except (RecordingError, TelephonyError, OSError) as exc:
        logger.warning(
            "recording of interaction %s not fetched (attempt %s): %s", interaction_id, attempts, exc
        )
        _note(
            interaction_id, {"attempts": attempts, "error": str(exc)[:500], "at": timezone.now().isoformat()}
        )
        if attempts < MAX_ATTEMPTS and _supports_defer():
            run_after = timezone.now() + datetime.timedelta(minutes=2**attempts)
            recording_fetch.using(run_after=run_after).enqueue(interaction_id)
    except Exception as exc:  # never let one broken recording take the worker down
        logger.exception("recording of interaction %s failed", interaction_id)
        _note(
            interaction_id, {"attempts": attempts, "error": repr(exc)[:500], "at": timezone.now().isoformat()}
        )


@task()
def recording_followup(intake_id: int, attempt: int = 0) -> None:
    """After a provider webhook is processed, fetch the recording it announced (if any)."""
    log = IntakeLog.objects.filter(pk=intake_id).first()
    if log is None or log.status in (IntakeLog.Status.REJECTED, IntakeLog.Status.FAILED):
        return
    if log.status == IntakeLog.Status.RECEIVED:
        # Not processed yet (another worker has it); look again shortly.
        if attempt < 20 and _supports_defer():
            run_after = timezone.now() + datetime.timedelta(seconds=15)
            recording_followup.using(run_after=run_after).enqueue(intake_id, attempt + 1)
        return
    if log.interaction_id is None:
        return
    interaction = Interaction.objects.filter(pk=log.interaction_id).first()
    if interaction is None:
        return
    try:
        announced = json.loads(log.body or "{}")
    except ValueError:
        announced = {}
    # Zadarma asks to wait ~40 s after the notification before the file can be downloaded.
    delay = 60 if isinstance(announced, dict) and announced.get("call_id_with_rec") else 0
    recording_fetch_enqueue(interaction, delay=delay)


def recording_followup_enqueue(log: IntakeLog) -> None:
    log_id = log.pk

    def enqueue() -> None:
        try:
            recording_followup.enqueue(log_id)
        except Exception:
            logger.exception("could not queue the recording follow-up of intake %s", log_id)

    transaction.on_commit(enqueue)


@task()
def recordings_sweep(days: int = 3) -> int:
    """Periodic job: queue every recent call whose recording is known but not stored yet."""
    since = timezone.now() - datetime.timedelta(days=days)
    queued = 0
    calls = Interaction.objects.filter(
        kind=InteractionKind.CALL, recording_file="", updated_at__gte=since
    ).order_by("-id")[:500]
    for interaction in calls:
        if _attempts(interaction) >= MAX_ATTEMPTS:
            continue
        if recording_pending(interaction):
            recording_fetch.enqueue(interaction.pk)
            queued += 1
    return queued
