"""Polling mailboxes over IMAP: new mail in INBOX and Sent lands on the client timeline exactly once.

Each folder has a cursor (UIDVALIDITY + last UID). A poll reads only UIDs above it, in order, and
moves it past a message once that message is stored, deliberately skipped, or known to be unreadable
for good. A message that failed for a passing reason (the database was busy) holds the cursor, so the
next poll tries it again; messages after it are stored now and recognised as duplicates then.
"""

from __future__ import annotations

import datetime
import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import imapclient
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from imapclient.exceptions import IMAPClientAbortError, LoginError
from imapclient.imapclient import SENT

from otdel.accounts.models import User
from otdel.comms.email.imap import (
    FetchedMessage,
    fetch_messages,
    folder_open,
    folder_resolve,
    imap_connect,
    uids_after,
)
from otdel.comms.email.parse import MailAttachment, ParsedMail, clean_text, parse_message
from otdel.comms.email.sanitize import sanitize_html
from otdel.comms.intake import intake_record
from otdel.comms.models import (
    Attachment,
    Direction,
    IntakeLog,
    Interaction,
    InteractionKind,
    Mailbox,
    MailFolderCursor,
)
from otdel.comms.services import InboundEvent, IngestResult, ingest_event
from otdel.core.conf import int_setting
from otdel.core.context import acting_as
from otdel.core.jsonsafe import nul_visible

logger = logging.getLogger(__name__)

# Headers not worth keeping in the payload: long signatures and transport traces.
_NOISY_HEADERS = ("received", "dkim-signature", "arc-", "x-google-", "authentication-results", "x-ms-")
MAX_LOGGED_BYTES = 5 * 1024 * 1024


def mailbox_provider(mailbox: Mailbox) -> str:
    """Interaction.provider of mail in this mailbox: dedupe by Message-ID is per mailbox."""
    return f"email:{mailbox.pk}"


class MailRejected(Exception):
    """A readable message that cannot go on a timeline (no sender, no client); kept in the intake log."""


@dataclass
class SyncResult:
    mailbox: str
    created: int = 0
    duplicates: int = 0
    skipped: int = 0
    rejected: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def line(self) -> str:
        """One line for ``manage.py sync_mail``."""
        text = _(
            "%(mailbox)s: %(created)d new, %(duplicates)d already known, %(skipped)d skipped, "
            "%(rejected)d unreadable, %(failed)d to retry"
        ) % {
            "mailbox": self.mailbox,
            "created": self.created,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "failed": self.failed,
        }
        if self.errors:
            text += "; " + _("error: %(error)s") % {"error": " | ".join(self.errors)}
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailbox": self.mailbox,
            "created": self.created,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "failed": self.failed,
            "errors": self.errors,
        }


# --- one message -> one event --------------------------------------------------------------


def own_addresses() -> set[str]:
    return {address.lower() for address in Mailbox.objects.values_list("address", flat=True)}


def _thread_key(mail: ParsedMail) -> str:
    """The thread this message belongs to: that of the message it answers when we have it, else its root."""
    for ref in [mail.in_reply_to, *reversed(mail.references)]:
        if not ref:
            continue
        key = (
            Interaction.objects.filter(kind=InteractionKind.EMAIL, message_id=ref)
            .exclude(thread_key="")
            .values_list("thread_key", flat=True)
            .first()
        )
        if key:
            return key
    return mail.thread_root or mail.dedupe_id


def _payload(mailbox: Mailbox, mail: ParsedMail, **extra: Any) -> dict[str, Any]:
    headers = [[name, value] for name, value in mail.headers if not name.lower().startswith(_NOISY_HEADERS)]
    return {
        "mailbox": mailbox.pk,
        "from": str(mail.sender) if mail.sender else "",
        "to": [str(a) for a in mail.to],
        "cc": [str(a) for a in mail.cc],
        "reply_to": [str(a) for a in mail.reply_to],
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": mail.references,
        "auto_submitted": mail.auto_submitted,
        # Sanitized once here; the card shows it as is (Interaction has no HTML field yet).
        "html": sanitize_html(mail.html),
        "attachments": [
            {
                "filename": a.filename,
                "size": a.size,
                "content_type": a.content_type,
                "content_id": a.content_id,
            }
            for a in mail.attachments
        ],
        "headers": headers,
        **extra,
    }


def mail_event(
    *,
    mailbox: Mailbox,
    mail: ParsedMail,
    direction: str,
    received_at: datetime.datetime | None = None,
    employee: User | None = None,
    own: set[str] | None = None,
    extra: dict[str, Any] | None = None,
    extra_identities: list[tuple[str, str]] | None = None,
) -> InboundEvent | None:
    """The timeline event of one message, or None for mail that is deliberately not recorded.

    Inbound: the client is the sender. Outbound (Sent folder, or sent from the card): the client is
    the first recipient that is not one of our mailboxes; the employee is the user with the sender's
    address. Mail from our own mailboxes in INBOX is a loop and is skipped.
    """
    own = own if own is not None else own_addresses()
    if mail.sender is None:
        raise MailRejected(_("The message has no sender address."))
    if direction == Direction.IN:
        if mail.sender.address in own:
            return None
        client = mail.sender
    else:
        recipients = [a for a in mail.to if a.address not in own]
        if not recipients:
            return None
        client = recipients[0]
        if employee is None:
            employee = User.objects.filter(email__iexact=mail.sender.address, is_active=True).first()
    # The Date header is the sender's word; the server's arrival time wins when Date is absent or
    # in the future (broken clocks, spam).
    now = timezone.now()
    occurred_at = mail.date
    if occurred_at is None or occurred_at > now + datetime.timedelta(hours=1):
        occurred_at = received_at or now
    subject = clean_text(mail.subject)
    return InboundEvent(
        provider=mailbox_provider(mailbox),
        external_id=mail.dedupe_id[:255],
        kind=InteractionKind.EMAIL,
        channel="email",
        direction=direction,
        occurred_at=occurred_at,
        identity_kind="email",
        identity_value=client.address,
        extra_identities=extra_identities or [],
        contact_name=client.name,
        subject=subject,
        summary=subject or (mail.text or "")[:200],
        body=mail.text,
        payload=_payload(mailbox, mail, **(extra or {})),
        employee=employee,
        queue=mailbox.queue if direction == Direction.IN else None,
        # Auto-replies (out of office, delivery reports) are kept but are nobody's new inquiry.
        create_lead=not mail.auto_submitted,
        message_id=mail.message_id,
        thread_key=_thread_key(mail),
    )


def _storage_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    try:
        name = get_valid_filename(base)
    except Exception:  # "", "." and ".." are refused by Django
        name = "attachment"
    if len(name) > 60:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 59 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:60]
    return name


def attachment_store(
    *, interaction: Interaction, filename: str, data: bytes, content_type: str = ""
) -> Attachment:
    """Save one file of a message into storage and list it on the interaction."""
    attachment = Attachment(
        interaction=interaction,
        filename=clean_text(filename)[:255] or "attachment",
        content_type=content_type[:120],
        size=len(data),
    )
    attachment.file.save(_storage_name(filename), ContentFile(data), save=False)
    attachment.save()
    return attachment


def mail_store(*, event: InboundEvent, attachments: Iterable[MailAttachment] = ()) -> IngestResult:
    """Put the message on the timeline with its attachments, all or nothing."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            result = ingest_event(event)
            if result.created:
                for item in attachments:
                    stored = attachment_store(
                        interaction=result.interaction,
                        filename=item.filename,
                        data=item.data,
                        content_type=item.content_type,
                    )
                    saved.append(stored.file.name)
    except Exception:
        for name in saved:  # the rows were rolled back; don't leave their files behind
            try:
                default_storage.delete(name)
            except Exception:
                logger.warning("could not delete orphan attachment %s", name)
        raise
    return result


# --- the poll ------------------------------------------------------------------------------


def _raw_as_text(raw: bytes) -> str:
    """Raw bytes kept readable for the admin: undecodable bytes as \\xNN, never lost silently."""
    text = nul_visible(raw[:MAX_LOGGED_BYTES].decode("utf-8", errors="backslashreplace"))
    if len(raw) > MAX_LOGGED_BYTES:
        text += f"\n[... {len(raw) - MAX_LOGGED_BYTES} more bytes not kept]"
    return text


def _intake_log(
    mailbox: Mailbox, status: str, fetched: FetchedMessage, error: str, meta: dict[str, Any]
) -> IntakeLog:
    return intake_record(
        provider=mailbox_provider(mailbox),
        status=status,
        error=error[-5000:],
        body=_raw_as_text(fetched.raw),
        headers=meta,
    )


def _retry_later(
    mailbox: Mailbox, folder: str, fetched: FetchedMessage, uidvalidity: int, meta: dict[str, Any]
) -> str:
    """A passing failure (database busy, disk full): log it; the cursor waits, a few attempts at most."""
    logger.exception("storing message %s/%s uid %s failed", mailbox.address, folder, fetched.uid)
    attempts = 1 + (
        IntakeLog.objects.filter(
            provider=mailbox_provider(mailbox),
            status=IntakeLog.Status.FAILED,
            headers__folder=folder,
            headers__uid=fetched.uid,
            headers__uidvalidity=uidvalidity,
        ).count()
    )
    limit = int_setting("OTDEL_MAIL_MAX_ATTEMPTS", 5)
    error = traceback.format_exc()
    if attempts >= limit:
        error += f"\nGave up after {attempts} attempts; the message is skipped."
    _intake_log(mailbox, IntakeLog.Status.FAILED, fetched, error, {**meta, "attempt": attempts})
    return "rejected" if attempts >= limit else "failed"


def _process(
    mailbox: Mailbox, folder: str, direction: str, fetched: FetchedMessage, uidvalidity: int, own: set[str]
) -> str:
    """Handle one fetched message; returns the outcome name counted in SyncResult."""
    meta = {"mailbox": mailbox.pk, "folder": folder, "uid": fetched.uid, "uidvalidity": uidvalidity}
    try:
        mail = parse_message(fetched.raw)
    except Exception as exc:  # the same bytes will never read better: log them and move on
        logger.warning("unreadable message %s/%s uid %s: %s", mailbox.address, folder, fetched.uid, exc)
        _intake_log(mailbox, IntakeLog.Status.REJECTED, fetched, f"{type(exc).__name__}: {exc}", meta)
        return "rejected"
    extra: dict[str, Any] = {"folder": folder, "uid": fetched.uid, "size": fetched.size}
    if fetched.truncated:
        extra["truncated"] = True
        mail.text = _(
            "The message is too large to download (%(size)d bytes); open it in the mail program."
        ) % {"size": fetched.size}
    try:
        event = mail_event(
            mailbox=mailbox,
            mail=mail,
            direction=direction,
            received_at=fetched.internaldate,
            own=own,
            extra=extra,
        )
    except MailRejected as exc:
        _intake_log(mailbox, IntakeLog.Status.REJECTED, fetched, str(exc), meta)
        return "rejected"
    except Exception:
        return _retry_later(mailbox, folder, fetched, uidvalidity, meta)
    if event is None:
        return "skipped"
    if Interaction.objects.filter(provider=event.provider, external_id=event.external_id).exists():
        return "duplicates"
    try:
        result = mail_store(event=event, attachments=mail.attachments)
    except Exception:
        return _retry_later(mailbox, folder, fetched, uidvalidity, meta)
    return "created" if result.created else "duplicates"


def _cursor_save(mailbox: Mailbox, folder: str, uidvalidity: int, last_uid: int) -> None:
    now = timezone.now()
    cursor, created = MailFolderCursor.objects.get_or_create(
        mailbox=mailbox, folder=folder, defaults={"uidvalidity": uidvalidity, "last_uid": last_uid}
    )
    if created:
        return
    if cursor.uidvalidity != uidvalidity:
        MailFolderCursor.objects.filter(pk=cursor.pk).update(
            uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now
        )
    else:
        # Never backwards, even if another poller of the same mailbox got further meanwhile.
        MailFolderCursor.objects.filter(pk=cursor.pk, last_uid__lt=last_uid).update(
            last_uid=last_uid, updated_at=now
        )


def _sync_folder(
    client: imapclient.IMAPClient,
    mailbox: Mailbox,
    folder: str,
    direction: str,
    result: SyncResult,
    own: set[str],
) -> None:
    state = folder_open(client, folder)
    cursor = MailFolderCursor.objects.filter(mailbox=mailbox, folder=folder).first()
    window = datetime.timedelta(days=int_setting("OTDEL_MAIL_INITIAL_DAYS", 7))
    since: datetime.date | None = None
    last_uid = 0
    if cursor is None:
        # A newly connected mailbox: import recent mail only, not years of history as new leads.
        since = (timezone.now() - window).date()
    elif cursor.uidvalidity != state.uidvalidity:
        # The server renumbered the folder: read again from shortly before the last poll;
        # Message-ID dedupe recognises what is already on the timeline.
        logger.warning("UIDVALIDITY of %s/%s changed; re-scanning", mailbox.address, folder)
        since = (cursor.updated_at - window).date()
    else:
        last_uid = cursor.last_uid
    found = uids_after(client, last_uid, since)
    limit = int_setting("OTDEL_MAIL_MAX_PER_POLL", 500)
    uids = found[:limit]
    batch_size = max(1, int_setting("OTDEL_MAIL_FETCH_BATCH", 25))
    max_bytes = int_setting("OTDEL_MAIL_MAX_BYTES", 25 * 1024 * 1024)
    done_up_to = last_uid
    blocked = False

    def save() -> None:
        # A re-scan that hit a message to retry is repeated whole next time; saving it half-way
        # would turn the next poll into a read of the entire folder.
        if since is None or not blocked:
            _cursor_save(mailbox, folder, state.uidvalidity, done_up_to)

    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        fetched = {m.uid: m for m in fetch_messages(client, batch, max_bytes)}
        for uid in batch:
            message = fetched.get(uid)
            if message is None:  # expunged between SEARCH and FETCH: nothing to read
                outcome = "skipped"
            else:
                outcome = _process(mailbox, folder, direction, message, state.uidvalidity, own)
                result.count(outcome)
            if outcome == "failed":
                blocked = True
            elif not blocked:
                done_up_to = uid
        save()  # after every batch, so a connection lost half-way keeps what was done
    if since is not None and not blocked and len(found) <= limit and state.uidnext:
        # Everything before the window was skipped on purpose; start the next poll at the top.
        done_up_to = max(done_up_to, state.uidnext - 1)
    save()


def _describe(mailbox: Mailbox, exc: Exception) -> str:
    if isinstance(exc, LoginError):
        return _("The IMAP server refused the login: %(error)s") % {"error": exc}
    if isinstance(exc, (OSError, EOFError, IMAPClientAbortError)):
        return _("Cannot talk to the IMAP server %(host)s:%(port)s: %(error)s") % {
            "host": mailbox.imap_host,
            "port": mailbox.imap_port,
            "error": exc,
        }
    return f"{type(exc).__name__}: {exc}"


def mailbox_sync(*, mailbox: Mailbox) -> SyncResult:
    """Poll one mailbox once (INBOX as inbound, Sent as outbound); errors go to its sync status."""
    result = SyncResult(mailbox=mailbox.address)
    own = own_addresses()
    folders: list[tuple[str, str, bytes | None]] = []
    if mailbox.sent_folder:
        # Sent first: a client's reply often names only our message (In-Reply-To) and finds its
        # thread through it, so our message should be on the timeline by then.
        folders.append((mailbox.sent_folder, Direction.OUT, SENT))
    folders.append((mailbox.inbox_folder or "INBOX", Direction.IN, None))
    completed = False
    with acting_as(None):  # contacts and leads made by the poll are the system's, not a user's
        try:
            with imap_connect(mailbox) as client:
                for folder, direction, special in folders:
                    name = folder_resolve(client, folder, special)
                    if name is None:
                        result.errors.append(
                            _("Folder “%(folder)s” was not found on the server.") % {"folder": folder}
                        )
                        continue
                    _sync_folder(client, mailbox, name, direction, result, own)
                completed = True
        except Exception as exc:
            logger.warning("mail sync of %s failed: %s", mailbox.address, exc, exc_info=True)
            result.errors.append(_describe(mailbox, exc))
    now = timezone.now()
    changes: dict[str, Any] = {}
    if completed:
        changes["last_sync_at"] = now
    if result.errors:
        changes.update(last_error="\n".join(result.errors)[:5000], last_error_at=now)
    # A queryset update: sync status is not an edit worth a change-log row every minute.
    Mailbox.objects.filter(pk=mailbox.pk).update(**changes)
    for name, value in changes.items():
        setattr(mailbox, name, value)
    return result


def mail_sync_all() -> list[SyncResult]:
    """Poll every active mailbox once; one mailbox failing never stops the others."""
    results = []
    for mailbox in Mailbox.objects.filter(is_active=True).select_related("queue"):
        try:
            results.append(mailbox_sync(mailbox=mailbox))
        except Exception as exc:  # even its status could not be written (database down)
            logger.exception("mail sync of %s failed", mailbox.address)
            results.append(SyncResult(mailbox=mailbox.address, errors=[f"{type(exc).__name__}: {exc}"]))
    return results
