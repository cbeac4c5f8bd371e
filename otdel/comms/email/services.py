"""Writes of mailbox settings: connect a mailbox, change it (password write-only)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from otdel.comms.models import Mailbox
from otdel.core.changelog import check_version
from otdel.core.context import acting_as
from otdel.core.exceptions import ConflictError
from otdel.routing.selectors import queue_by_code

MAILBOX_SECRETS = frozenset({"password"})
MAILBOX_FIELDS = frozenset(
    {
        "address",
        "imap_host",
        "imap_port",
        "imap_ssl",
        "username",
        "password",
        "smtp_host",
        "smtp_port",
        "smtp_ssl",
        "smtp_starttls",
        "inbox_folder",
        "sent_folder",
        "queue",
        "is_active",
    }
)
# What port a mail provider documents tells how to talk to it: 465 is TLS from the first byte,
# 587 upgrades with STARTTLS, anything else (25, a test server) is plain unless said otherwise.
SMTP_SECURITY_BY_PORT = {465: (True, False), 587: (False, True)}


def _apply(mailbox: Mailbox, changes: dict[str, Any]) -> None:
    unknown = set(changes) - MAILBOX_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    changes = dict(changes)
    if "queue" in changes:
        changes["queue"] = queue_by_code(changes["queue"])
    if changes.get("password") in (None, ""):
        changes.pop("password", None)  # write-only: leaving it out (or blank) keeps the stored one
    if "address" in changes:
        changes["address"] = (changes["address"] or "").strip().lower()
    if "smtp_port" in changes and "smtp_ssl" not in changes and "smtp_starttls" not in changes:
        port = int(changes["smtp_port"] or 0)
        changes["smtp_ssl"], changes["smtp_starttls"] = SMTP_SECURITY_BY_PORT.get(port, (False, False))
    for name, value in changes.items():
        setattr(mailbox, name, value)
    if mailbox.smtp_ssl and mailbox.smtp_starttls:
        raise ValidationError({"smtp_starttls": _("Choose SSL or STARTTLS, not both.")})
    mailbox.full_clean(validate_unique=False)
    taken = Mailbox.objects.filter(address__iexact=mailbox.address).exclude(pk=mailbox.pk).exists()
    if taken:
        raise ConflictError(
            _("The mailbox %(address)s is already connected.") % {"address": mailbox.address},
            code="mailbox_exists",
            field="address",
        )


@transaction.atomic
def mailbox_create(*, actor: Any, address: str, **settings_: Any) -> Mailbox:
    """Connect a mailbox; it is polled from the next sync on (recent mail first, see the docs)."""
    if not settings_.get("password"):
        raise ValidationError({"password": _("Enter the mailbox password.")})
    with acting_as(actor):
        mailbox = Mailbox()
        _apply(mailbox, {"address": address, **settings_})
        mailbox.save()
        return mailbox


@transaction.atomic
def mailbox_update(*, actor: Any, mailbox: Mailbox, version: int | None = None, **changes: Any) -> Mailbox:
    with acting_as(actor):
        check_version(mailbox, version)
        _apply(mailbox, changes)
        # Only the settings: the poller writes the sync status at any moment and must not be undone.
        fields = {f.attname for f in Mailbox._meta.concrete_fields if f.name in MAILBOX_FIELDS}
        mailbox.save(update_fields=[*sorted(fields), "version", "updated_at"])
        return mailbox
