"""Writes of telephony settings (providers and their phone lines) for the admin pages; secrets write-only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from otdel.comms.models import TelephonyLine, TelephonyProvider
from otdel.core.changelog import check_version
from otdel.core.context import acting_as
from otdel.core.exceptions import ConflictError
from otdel.core.identity import normalize_phone
from otdel.routing.selectors import queue_by_code

PROVIDER_FIELDS = frozenset(
    {
        "kind",
        "name",
        "key",
        "is_active",
        "live_routing",
        "api_key",
        "api_secret",
        "api_url",
        "ami_host",
        "ami_port",
        "ami_username",
        "ami_password",
        "originate_context",
        "queue",
    }
)
PROVIDER_SECRETS = frozenset({"api_secret", "ami_password"})
# What each kind cannot work without: the signature check of Zadarma and Mango needs the key and
# its secret (salt); Otdel logs in to Asterisk's AMI with a user and password.
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    TelephonyProvider.Kind.ZADARMA: ("api_key", "api_secret"),
    TelephonyProvider.Kind.MANGO: ("api_key", "api_secret"),
    TelephonyProvider.Kind.ASTERISK: ("ami_host", "ami_username", "ami_password"),
}
LINE_FIELDS = frozenset({"number", "name", "queue"})


def _unknown(changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})


def _apply_provider(provider: TelephonyProvider, changes: dict[str, Any]) -> None:
    _unknown(changes, PROVIDER_FIELDS)
    changes = dict(changes)
    for name in PROVIDER_SECRETS:
        if changes.get(name) in (None, ""):
            changes.pop(name, None)  # write-only: blank keeps the stored secret
    if "queue" in changes:
        changes["queue"] = queue_by_code(changes["queue"])
    for name, value in changes.items():
        setattr(provider, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    try:
        provider.full_clean(validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for name in REQUIRED_BY_KIND.get(provider.kind, ()):
        if not getattr(provider, name) and name not in errors:
            errors[name] = [
                _("%(kind)s needs this field.") % {"kind": TelephonyProvider.Kind(provider.kind).label}
            ]
    if errors:
        raise ValidationError(errors)
    if TelephonyProvider.objects.filter(key=provider.key).exclude(pk=provider.pk).exists():
        raise ConflictError(
            _("Another provider already uses the URL key “%(key)s”.") % {"key": provider.key},
            code="key_taken",
            field="key",
        )


@transaction.atomic
def telephony_provider_create(
    *, actor: Any, kind: str, name: str, key: str, **fields: Any
) -> TelephonyProvider:
    """Connect a PBX or a cloud telephony account; its webhooks are accepted from now on."""
    with acting_as(actor):
        provider = TelephonyProvider()
        _apply_provider(provider, {"kind": kind, "name": name, "key": key, **fields})
        provider.save()
        return provider


@transaction.atomic
def telephony_provider_update(
    *, actor: Any, provider: TelephonyProvider, version: int | None = None, **changes: Any
) -> TelephonyProvider:
    with acting_as(actor):
        check_version(provider, version)
        _apply_provider(provider, changes)
        # Only the settings: the intake writes last_event_at/last_error at any moment.
        fields = {f.attname for f in TelephonyProvider._meta.concrete_fields if f.name in PROVIDER_FIELDS}
        provider.save(update_fields=[*sorted(fields), "version", "updated_at"])
        return provider


def _apply_line(line: TelephonyLine, changes: dict[str, Any]) -> None:
    _unknown(changes, LINE_FIELDS)
    if "number" in changes:
        try:
            line.number = normalize_phone(str(changes["number"] or "")).split(";", 1)[0]
        except ValidationError as exc:
            raise ValidationError({"number": exc.messages}) from exc
    if "name" in changes:
        line.name = (changes["name"] or "").strip()
    if "queue" in changes:
        line.queue = queue_by_code(changes["queue"])
    line.full_clean(exclude=["provider"], validate_unique=False)
    other = (
        TelephonyLine.objects.filter(number=line.number)
        .exclude(pk=line.pk)
        .select_related("provider")
        .first()
    )
    if other is not None:
        raise ConflictError(
            _("The number %(number)s is already a line of “%(provider)s”.")
            % {"number": line.number, "provider": other.provider},
            code="line_taken",
            field="number",
        )


@transaction.atomic
def telephony_line_create(
    *, actor: Any, provider: TelephonyProvider, number: str, name: str = "", queue: Any = None
) -> TelephonyLine:
    """A phone number clients call; calls to it are distributed in its queue."""
    with acting_as(actor):
        line = TelephonyLine(provider=provider)
        _apply_line(line, {"number": number, "name": name, "queue": queue})
        line.save()
        return line


@transaction.atomic
def telephony_line_update(*, actor: Any, line: TelephonyLine, **changes: Any) -> TelephonyLine:
    with acting_as(actor):
        _apply_line(line, changes)
        line.save()
        return line


@transaction.atomic
def telephony_line_delete(*, actor: Any, line: TelephonyLine) -> None:
    with acting_as(actor):
        line.delete()
