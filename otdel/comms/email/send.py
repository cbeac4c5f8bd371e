"""Sending e-mail from the card over SMTP, with thread headers, recorded on the client's timeline."""

from __future__ import annotations

import logging
import mimetypes
import re
import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from otdel.comms.email.parse import parse_message
from otdel.comms.email.sync import mail_event, mail_store, own_addresses
from otdel.comms.models import Direction, Interaction, InteractionKind, Mailbox
from otdel.comms.services import interaction_mark_handled
from otdel.core.conf import int_setting
from otdel.core.context import acting_as
from otdel.core.exceptions import field_error
from otdel.core.identity import normalize_email
from otdel.crm.models import Contact

logger = logging.getLogger(__name__)

_REPLY_PREFIX = re.compile(r"^\s*(re|ответ|отв|aw|sv)\s*(\[\d+\])?\s*:", re.IGNORECASE)
MAX_REFERENCES = 20


def mailbox_of(interaction: Interaction) -> Mailbox | None:
    """The mailbox an e-mail interaction came through (provider ``email:<id>``)."""
    prefix, _sep, key = interaction.provider.partition(":")
    if prefix != "email" or not key.isdigit():
        return None
    return Mailbox.objects.filter(pk=int(key), is_active=True).first()


def _survivor(contact: Contact) -> Contact:
    while contact.merged_into_id is not None:
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return contact


def _pick_mailbox(contact: Contact, reply_to: Interaction | None) -> Mailbox | None:
    """The mailbox of the thread, else of the client's latest e-mail, else the only one that can send."""
    if reply_to is not None and (mailbox := mailbox_of(reply_to)) is not None:
        return mailbox
    latest = (
        Interaction.objects.filter(contact=contact, kind=InteractionKind.EMAIL, provider__startswith="email:")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if latest is not None and (mailbox := mailbox_of(latest)) is not None and mailbox.smtp_host:
        return mailbox
    return Mailbox.objects.filter(is_active=True).exclude(smtp_host="").order_by("id").first()


def _recipient(contact: Contact, reply_to: Interaction | None) -> str | None:
    """Where the answer goes: the Reply-To or sender of the message answered, else the contact's e-mail."""
    if reply_to is not None:
        if reply_to.direction == Direction.IN:
            payload = reply_to.payload if isinstance(reply_to.payload, dict) else {}
            for raw in [*(payload.get("reply_to") or [])[:1], payload.get("from") or ""]:
                address = parseaddr(str(raw))[1]
                if address and "@" in address:
                    return address.lower()
        identity = reply_to.identity
        if identity is not None and identity.kind == "email":
            return identity.value
    identity = contact.identities.filter(kind="email").order_by("-is_primary", "id").first()
    return identity.value if identity else None


def _reply_subject(subject: str, reply_to: Interaction | None) -> str:
    subject = (subject or "").strip()
    if subject or reply_to is None:
        return subject
    original = reply_to.subject.strip()
    return original if _REPLY_PREFIX.match(original) else f"Re: {original}".strip()


def _attachment_parts(attachments: Iterable[Any]) -> list[tuple[str, bytes, str]]:
    """(filename, bytes, content type) of uploaded files or ready tuples."""
    parts = []
    for item in attachments:
        if isinstance(item, (tuple, list)):
            name, data, *rest = item
            content_type = rest[0] if rest else ""
        else:
            name = getattr(item, "name", "") or "attachment"
            data = item.read()
            content_type = getattr(item, "content_type", "") or ""
        name = str(name).replace("\\", "/").rsplit("/", 1)[-1] or "attachment"
        content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        parts.append((name, bytes(data), content_type))
    return parts


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _compose(
    *,
    actor: Any,
    mailbox: Mailbox,
    recipient: str,
    recipient_name: str,
    subject: str,
    body: str,
    reply_to: Interaction | None,
    files: list[tuple[str, bytes, str]],
) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    sender_name = actor.get_full_name() if getattr(actor, "pk", None) else ""
    message["From"] = formataddr((sender_name, mailbox.address))
    message["To"] = formataddr((recipient_name, recipient))
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mailbox.address.rsplit("@", 1)[-1])
    if reply_to is not None and reply_to.message_id:
        # Threading headers, so the client's program files our answer (and their reply) in the thread.
        payload = reply_to.payload if isinstance(reply_to.payload, dict) else {}
        references = [str(r) for r in (payload.get("references") or []) if r]
        references = [*references, reply_to.message_id]
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
        message["In-Reply-To"] = reply_to.message_id
        message["References"] = " ".join(references)
    message["X-Mailer"] = "Otdel"
    message.set_content(body or "", subtype="plain", charset="utf-8")
    for name, data, content_type in files:
        maintype, _sep, subtype = content_type.partition("/")
        params = {}
        if maintype == "text" and _is_utf8(data):
            params["charset"] = "utf-8"  # else the client's program reads the text file as ASCII
        message.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=name, params=params
        )
    return message


def _smtp_error(exc: Exception) -> ValidationError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reason = _("the server refused the mailbox's user name or password")
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        reason = "; ".join(
            f"{address}: {code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
            for address, (code, text) in exc.recipients.items()
        )
    elif isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        reason = f"{exc.smtp_code} {error.decode('utf-8', 'replace') if isinstance(error, bytes) else error}"
    else:
        reason = str(exc) or type(exc).__name__
    return ValidationError(
        {
            "__all__": ValidationError(
                _("The e-mail was not sent: %(reason)s") % {"reason": reason}, code="smtp_failed"
            )
        }
    )


def smtp_deliver(*, mailbox: Mailbox, message: EmailMessage, recipients: list[str]) -> None:
    """Hand the message to the mailbox's SMTP server (SSL, STARTTLS or plain, as configured)."""
    timeout = int_setting("OTDEL_MAIL_TIMEOUT", 30)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if mailbox.smtp_ssl:
            smtp = smtplib.SMTP_SSL(mailbox.smtp_host, mailbox.smtp_port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if not mailbox.smtp_ssl and mailbox.smtp_starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if mailbox.username and smtp.has_extn("auth"):
                smtp.login(mailbox.username, mailbox.password)
            smtp.send_message(message, from_addr=mailbox.address, to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("SMTP delivery through %s failed: %s", mailbox.address, exc)
        raise _smtp_error(exc) from exc


def email_send(
    *,
    actor: Any,
    contact: Contact,
    subject: str,
    body: str,
    mailbox: Mailbox | None = None,
    reply_to: Interaction | None = None,
    attachments: Iterable[Any] = (),
    to: str = "",
) -> Interaction:
    """Write to the client from the card; the sent mail is on their timeline at once, in its thread.

    ``to`` picks one of the contact's e-mail addresses (default: the primary one, or the sender of
    the message answered).

    Nothing is recorded when the SMTP server does not take the message (a ValidationError says why).
    Answering an inbound e-mail marks it handled by ``actor``.
    """
    contact = _survivor(contact)
    if reply_to is not None and (
        reply_to.kind != InteractionKind.EMAIL
        or reply_to.contact is None
        or _survivor(reply_to.contact) != contact
    ):
        raise field_error("reply_to", _("Answer an e-mail of this contact."), "invalid_reply_to")
    chosen = (to or "").strip().lower()
    if chosen and not contact.identities.filter(kind="email", value__iexact=chosen).exists():
        # Only one of the contact's own addresses, chosen by the sender.
        raise field_error("to", _("Choose one of the contact's e-mail addresses."), "unknown_address")
    subject = _reply_subject(subject, reply_to)
    body = (body or "").strip("\n")
    if not body.strip():
        raise field_error("body", _("Write the message."), "required")
    if not subject:
        raise field_error("subject", _("Enter a subject."), "required")
    mailbox = mailbox or _pick_mailbox(contact, reply_to)
    if mailbox is None or not mailbox.smtp_host:
        raise field_error("mailbox", _("No mailbox is set up for sending e-mail."), "no_mailbox")
    raw_recipient = chosen or _recipient(contact, reply_to)
    if not raw_recipient:
        raise field_error("contact", _("The contact has no e-mail address."), "no_email")
    try:
        recipient = normalize_email(raw_recipient)
    except ValidationError as exc:
        raise field_error("contact", exc.messages[0], "invalid_email") from exc
    if recipient in own_addresses():
        raise field_error("contact", _("This address is one of our own mailboxes."), "own_address")
    files = _attachment_parts(attachments)
    if sum(len(data) for _name, data, _type in files) > int_setting("OTDEL_MAIL_MAX_BYTES", 25 * 1024 * 1024):
        raise field_error("attachments", _("The attachments are too large for e-mail."), "too_large")
    message = _compose(
        actor=actor,
        mailbox=mailbox,
        recipient=recipient,
        recipient_name=contact.full_name if contact.full_name != recipient else "",
        subject=subject,
        body=body,
        reply_to=reply_to,
        files=files,
    )
    smtp_deliver(mailbox=mailbox, message=message, recipients=[recipient])
    # Recorded from the very bytes sent, so the copy in the Sent folder is recognised as the same mail.
    mail = parse_message(message.as_bytes())
    employee = actor if getattr(actor, "pk", None) else None
    # The contact's own addresses go along, so an answer to a Reply-To address stays on this card.
    known = [
        ("email", value) for value in contact.identities.filter(kind="email").values_list("value", flat=True)
    ]
    event = mail_event(
        mailbox=mailbox,
        mail=mail,
        direction=Direction.OUT,
        employee=employee,
        extra={"sent_by": getattr(actor, "pk", None)},
        extra_identities=known,
    )
    assert event is not None  # the recipient is not one of our mailboxes (checked above)
    try:
        with acting_as(employee):
            result = mail_store(event=event, attachments=mail.attachments)
            if reply_to is not None and reply_to.direction == Direction.IN and employee is not None:
                interaction_mark_handled(actor=employee, interaction=reply_to)
    except Exception as exc:
        # The letter is gone already: say so plainly, so nobody sends it a second time.
        logger.exception("e-mail %s was sent but could not be recorded", mail.message_id)
        raise ValidationError(
            {
                "__all__": ValidationError(
                    _("The e-mail was sent, but could not be put on the timeline yet; do not send it again."),
                    code="sent_not_recorded",
                )
            }
        ) from exc
    return result.interaction
