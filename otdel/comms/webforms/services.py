"""Web forms: an admin builds them; visitors submit them, with consents, UTM and spam protection."""

from __future__ import annotations

import datetime
import json
import logging
import re
import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from otdel.comms.intake import intake_record, intake_reject
from otdel.comms.models import IntakeLog, Interaction, InteractionKind, WebForm
from otdel.comms.services import InboundEvent, ingest_event
from otdel.comms.webforms.selectors import HONEYPOT, UTM_FIELDS, webform_consents
from otdel.core.changelog import check_version
from otdel.core.context import acting_as
from otdel.core.events import WebformSubmitted, emit
from otdel.core.exceptions import ConflictError
from otdel.core.identity import normalize_email, normalize_phone
from otdel.core.jsonsafe import nul_visible
from otdel.privacy.models import ConsentPurpose, ConsentText
from otdel.privacy.services import consent_record
from otdel.routing.selectors import queue_by_code

logger = logging.getLogger(__name__)

FIELD_TYPES = ("text", "textarea", "number", "select", "checkbox", "date")
# Names a form's own fields may not take: the standard fields, the honeypot, what the page adds.
RESERVED_NAMES = frozenset(
    {
        "name",
        "phone",
        "email",
        "message",
        "consents",
        "consent_versions",
        HONEYPOT,
        "page_url",
        "csrfmiddlewaretoken",
    }
    | set(UTM_FIELDS)
)
EDITABLE = frozenset(
    {
        "slug",
        "name",
        "title",
        "queue",
        "consent_purposes",
        "fields",
        "success_message",
        "allowed_origins",
        "rate_limit_per_minute",
        "is_active",
    }
)
TEXT_LIMITS = {"name": 255, "message": 5000, "page_url": 1000, **dict.fromkeys(UTM_FIELDS, 255)}
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
RATE_WINDOW = datetime.timedelta(minutes=1)
SLUG_MAX = 64 - len("form:")


def form_provider(form: WebForm) -> str:
    """The intake/idempotency namespace of one form's submissions."""
    return f"form:{form.slug}"


# --- building forms (administrators) ------------------------------------------------------------


def clean_field_definitions(raw: Any) -> list[dict[str, Any]]:
    """The form's own fields: ``[{"name", "label", "type", "required", "options"}]``."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError(_("Give a list of fields."), code="invalid")
    cleaned: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(_("Field %(n)d: give an object with name, label and type.") % {"n": number})
            continue
        name = str(item.get("name") or "").strip()
        kind = str(item.get("type") or "text").strip()
        label = str(item.get("label") or "").strip()
        if not _FIELD_NAME.match(name):
            problems.append(
                _(
                    "Field %(n)d: the name must be lower-case Latin letters, digits and “_”, starting with a letter."
                )
                % {"n": number}
            )
        elif name in RESERVED_NAMES:
            problems.append(_("Field %(n)d: the name “%(name)s” is reserved.") % {"n": number, "name": name})
        elif name in seen:
            problems.append(
                _("Field %(n)d: the name “%(name)s” is used twice.") % {"n": number, "name": name}
            )
        seen.add(name)
        if kind not in FIELD_TYPES:
            problems.append(
                _("Field %(n)d: the type must be one of: %(types)s.")
                % {"n": number, "types": ", ".join(FIELD_TYPES)}
            )
        if not label or len(label) > 200:
            problems.append(_("Field %(n)d: give a label of up to 200 characters.") % {"n": number})
        definition: dict[str, Any] = {
            "name": name,
            "label": label,
            "type": kind,
            "required": bool(item.get("required")),
        }
        if kind == "select":
            options = item.get("options")
            if (
                not isinstance(options, list)
                or not options
                or not all(isinstance(o, str) and o.strip() for o in options)
            ):
                problems.append(
                    _('Field %(n)d: a list needs its options, e.g. ["Small", "Large"].') % {"n": number}
                )
            else:
                definition["options"] = [o.strip() for o in options]
        cleaned.append(definition)
    if problems:
        raise ValidationError(problems, code="invalid")
    return cleaned


def clean_origins(raw: Any) -> str:
    """Sites allowed to embed the form: one origin per line (``https://example.ru``) or ``*``."""
    if raw in (None, ""):
        return ""
    items = raw if isinstance(raw, list) else str(raw).splitlines()
    origins: list[str] = []
    for item in items:
        value = str(item).strip().rstrip("/").lower()
        if not value:
            continue
        if value != "*" and not _ORIGIN.match(value):
            raise ValidationError(
                _("“%(value)s” is not a site address; write it as https://example.ru (no path)."),
                code="invalid_origin",
                params={"value": item},
            )
        if value not in origins:
            origins.append(value)
    return "\n".join(origins)


def _resolve_purposes(values: Any) -> list[ConsentPurpose]:
    if values in (None, ""):
        return []
    if not isinstance(values, (list, tuple, set)):
        raise ValidationError(_("Give a list of consent purpose codes."), code="invalid")
    purposes: list[ConsentPurpose] = []
    for value in values:
        purpose = (
            value
            if isinstance(value, ConsentPurpose)
            else ConsentPurpose.objects.filter(code=str(value)).first()
        )
        if purpose is None:
            raise ValidationError(
                _("No consent purpose with the code “%(code)s”."),
                code="unknown_consent_purpose",
                params={"code": value},
            )
        if not purpose.texts.exists():
            raise ValidationError(
                _("The consent purpose “%(code)s” has no text yet."),
                code="consent_without_text",
                params={"code": purpose.code},
            )
        if purpose not in purposes:
            purposes.append(purpose)
    return purposes


def _apply(form: WebForm, changes: Mapping[str, Any]) -> list[ConsentPurpose] | None:
    """Validate and set the given settings; every problem is reported at once, per field."""
    errors: dict[str, list[str]] = {
        name: [_("This field cannot be changed here.")] for name in set(changes) - EDITABLE
    }
    purposes = None
    for name, value in changes.items():
        if name not in EDITABLE:
            continue
        try:
            if name == "queue":
                form.queue = queue_by_code(value)
            elif name == "consent_purposes":
                purposes = _resolve_purposes(value)
            elif name == "fields":
                form.fields = clean_field_definitions(value)
            elif name == "allowed_origins":
                form.allowed_origins = clean_origins(value)
            elif name == "rate_limit_per_minute":
                limit = int(value)
                if not 0 <= limit <= 10000:
                    raise ValidationError(_("From 0 (no limit) to 10000."), code="invalid")
                form.rate_limit_per_minute = limit
            elif name == "slug":
                form.slug = str(value or "").strip()
                # "form:<slug>" names the intake provider and the idempotency namespace (64 characters).
                if len(form.slug) > SLUG_MAX:
                    raise ValidationError(
                        _("At most %(limit)d characters.") % {"limit": SLUG_MAX}, code="too_long"
                    )
            else:
                setattr(form, name, value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            errors.setdefault(name, []).append(_("Enter a whole number."))
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
    try:
        form.full_clean(exclude=["queue", *errors], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if WebForm.objects.filter(slug=form.slug).exclude(pk=form.pk).exists():
        raise ConflictError(
            _("A form with the address “%(slug)s” already exists.") % {"slug": form.slug},
            code="slug_taken",
            field="slug",
        )
    return purposes


@transaction.atomic
def webform_create(*, actor: Any, slug: str, name: str, **settings_: Any) -> WebForm:
    """A new form; ``queue`` and ``consent_purposes`` may be objects or their codes."""
    with acting_as(actor):
        form = WebForm()
        purposes = _apply(form, {"slug": slug, "name": name, **settings_})
        form.save()
        form.consent_purposes.set(purposes or [])
        return form


@transaction.atomic
def webform_update(*, actor: Any, form: WebForm, version: int | None = None, **changes: Any) -> WebForm:
    with acting_as(actor):
        check_version(form, version)
        purposes = _apply(form, changes)
        form.save()
        if purposes is not None:
            form.consent_purposes.set(purposes)
        return form


# --- taking submissions (public) -----------------------------------------------------------------


class SubmissionRateLimited(Exception):
    """Too many submissions from one address within a minute."""

    retry_after = int(RATE_WINDOW.total_seconds())

    @property
    def message(self) -> str:
        return _("Too many submissions from your address. Please try again in a minute.")


@dataclass(frozen=True)
class SubmissionMeta:
    """Where a submission came from, as the request tells."""

    ip: str | None = None
    user_agent: str = ""
    headers: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""


@dataclass(frozen=True)
class SubmissionOutcome:
    stored: bool  # False for a bot caught by the honeypot: it is told "accepted" all the same
    interaction: Interaction | None = None
    created: bool = False  # False when an Idempotency-Key repeat found the earlier submission


@dataclass
class _Cleaned:
    name: str = ""
    phone: str = ""
    email: str = ""
    message: str = ""
    extras: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    lead_fields: dict[str, str] = field(default_factory=dict)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "on", "yes", "да"}


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, list[ValidationError]]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors.setdefault(name, []).append(ValidationError(_("Enter text."), code="invalid"))
        return ""
    text = str(value).strip()
    if len(text) > limit:
        errors.setdefault(name, []).append(
            ValidationError(_("At most %(limit)d characters.") % {"limit": limit}, code="too_long")
        )
    return text


def _clean_extra(definition: dict[str, Any], raw: Any) -> Any:
    """One of the form's own fields; raises ValidationError with a message for the visitor."""
    kind = definition.get("type", "text")
    if kind == "checkbox":
        value: Any = _truthy(raw)
        if definition.get("required") and not value:
            raise ValidationError(_("Tick this box to continue."), code="required")
        return value
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, (str, int, float))):
        raise ValidationError(_("Enter text."), code="invalid")
    text = "" if raw is None else str(raw).strip()
    if not text:
        if definition.get("required"):
            raise ValidationError(_("This field is required."), code="required")
        return ""
    if kind == "number":
        try:
            return str(Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", ".")))
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number."), code="invalid") from exc
    if kind == "select":
        if text not in definition.get("options", []):
            raise ValidationError(_("Choose one of the options."), code="invalid_choice")
        return text
    if kind == "date":
        try:
            return datetime.date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a date, e.g. 2026-12-31."), code="invalid") from exc
    limit = 5000 if kind == "textarea" else 500
    if len(text) > limit:
        raise ValidationError(_("At most %(limit)d characters.") % {"limit": limit}, code="too_long")
    return text


def _clean_submission(
    form: WebForm, data: Mapping[str, Any], consents: list[tuple[ConsentPurpose, ConsentText]]
) -> _Cleaned:
    given = data.get("consents")
    if given is not None and not isinstance(given, dict):
        raise ValidationError({"consents": ValidationError(_("Give consents as an object."), code="invalid")})
    given = given or {}
    # A consent text edited while the visitor had the page open: they must see the new wording first.
    shown = data.get("consent_versions")
    if isinstance(shown, dict):
        stale = {
            f"consents.{purpose.code}": ValidationError(
                _(
                    "The text of this consent has changed since the page was opened. Read it again and confirm."
                ),
                code="consent_text_changed",
            )
            for purpose, text in consents
            if shown.get(purpose.code) not in (None, "") and str(shown.get(purpose.code)) != str(text.version)
        }
        if stale:
            raise ValidationError(stale)

    errors: dict[str, list[ValidationError]] = {}
    cleaned = _Cleaned(name=_text(data, "name", TEXT_LIMITS["name"], errors))
    raw_phone = _text(data, "phone", 64, errors)
    raw_email = _text(data, "email", 254, errors)
    if raw_phone:
        try:
            cleaned.phone = normalize_phone(raw_phone)
        except ValidationError:
            errors.setdefault("phone", []).append(
                ValidationError(_("Enter a valid phone number, e.g. +7 912 345-67-89."), code="invalid_phone")
            )
    if raw_email:
        try:
            cleaned.email = normalize_email(raw_email)
        except ValidationError:
            errors.setdefault("email", []).append(
                ValidationError(
                    _("Enter a valid e-mail address, e.g. name@example.ru."), code="invalid_email"
                )
            )
    if not raw_phone and not raw_email and "phone" not in errors and "email" not in errors:
        for name in ("phone", "email"):
            errors[name] = [
                ValidationError(
                    _("Leave a phone number or an e-mail so we can reach you."), code="no_contact"
                )
            ]
    cleaned.message = _text(data, "message", TEXT_LIMITS["message"], errors)
    for definition in form.fields or []:
        try:
            cleaned.extras.append((definition, _clean_extra(definition, data.get(definition["name"]))))
        except ValidationError as exc:
            errors.setdefault(definition["name"], []).extend(exc.error_list)
    for purpose, _text_version in consents:
        if not _truthy(given.get(purpose.code)):
            errors[f"consents.{purpose.code}"] = [
                ValidationError(
                    _("Please confirm your consent: %(title)s.") % {"title": purpose.title},
                    code="consent_required",
                )
            ]
    for name in (*UTM_FIELDS, "page_url"):
        cleaned.lead_fields[name] = _text(data, name, TEXT_LIMITS[name], errors)
    page_url = cleaned.lead_fields["page_url"]
    if page_url and (urlsplit(page_url).scheme not in ("http", "https") or not urlsplit(page_url).netloc):
        errors.setdefault("page_url", []).append(
            ValidationError(_("Enter the page address (http or https)."), code="invalid")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _nul_fields(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The fields (``consents.x`` inside objects) whose text carries a NUL character, which
    PostgreSQL text cannot hold."""
    found = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            found += _nul_fields(value, f"{prefix}{key}.")
        elif isinstance(value, str) and "\x00" in value:
            found.append(f"{prefix}{key}")
    return found


def _nul_visible(data: Any) -> Any:
    """``data`` with every NUL written as the visible ``\\x00`` (for the intake log)."""
    if isinstance(data, Mapping):
        return {key: _nul_visible(value) for key, value in data.items()}
    return nul_visible(data) if isinstance(data, str) else data


def _redacted(data: Any) -> str:
    """The body of a refused submission without the person's data: they gave no (valid) consent to keep it."""
    if not isinstance(data, Mapping):
        return json.dumps({"_type": type(data).__name__})
    keep = {*UTM_FIELDS, "page_url", "consents", "consent_versions"}
    return json.dumps(
        {
            key: (value if key in keep else ("***" if value not in (None, "", False) else value))
            for key, value in data.items()
        },
        ensure_ascii=False,
        default=str,
    )


def _error_text(exc: ValidationError) -> str:
    return json.dumps(exc.message_dict if hasattr(exc, "error_dict") else exc.messages, ensure_ascii=False)


def _rate_limited(form: WebForm, ip: str | None) -> bool:
    if not form.rate_limit_per_minute or not ip:
        return False
    recent = IntakeLog.objects.filter(
        provider=form_provider(form), remote_addr=ip, created_at__gte=timezone.now() - RATE_WINDOW
    ).count()
    return recent >= form.rate_limit_per_minute


def _describe(form: WebForm, cleaned: _Cleaned) -> tuple[str, str]:
    """Body and one-line summary for the timeline, in the office's language (not the visitor's)."""
    with translation.override(settings.LANGUAGE_CODE):
        lines = []
        for definition, value in cleaned.extras:
            if value in ("", None):
                continue
            shown = (_("yes") if value else _("no")) if definition.get("type") == "checkbox" else value
            lines.append(f"{definition.get('label') or definition['name']}: {shown}")
        body = "\n\n".join(part for part in (cleaned.message, "\n".join(lines)) if part)
        summary = f"{form.name}: {cleaned.message}" if cleaned.message else form.name
    return body, " ".join(summary.split())[:500]


def webform_submit(*, form: WebForm, data: Any, meta: SubmissionMeta) -> SubmissionOutcome:
    """Take one submission: spam checks, validation, then the contact, lead, interaction and consents
    in one transaction (nothing half-written: on any failure only the intake log row remains).

    Raises SubmissionRateLimited (429) and ValidationError with per-field errors (400).
    """
    provider = form_provider(form)
    log_meta: dict[str, Any] = {"headers": meta.headers, "remote_addr": meta.ip or None}
    if _rate_limited(form, meta.ip):
        # Not logged: a flood must not be able to fill the database.
        logger.warning("form %s: rate limit hit by %s", form.slug, meta.ip)
        raise SubmissionRateLimited
    if not isinstance(data, Mapping):
        exc = ValidationError(
            {"__all__": ValidationError(_("Send the form as a JSON object."), code="invalid")}
        )
        intake_reject(provider=provider, body=_redacted(data), error=_error_text(exc), meta=log_meta)
        raise exc
    nul = _nul_fields(data)
    if nul:
        # The JSON API refuses NUL at the door (otdel.core.jsonsafe); the HTML form's POST arrives here.
        exc = ValidationError(
            {
                name: ValidationError(
                    ProhibitNullCharactersValidator.message, code="null_characters_not_allowed"
                )
                for name in nul
            }
        )
        intake_reject(
            provider=provider, body=_redacted(_nul_visible(data)), error=_error_text(exc), meta=log_meta
        )
        raise exc
    if str(data.get(HONEYPOT) or "").strip():
        intake_reject(provider=provider, body=_redacted(data), error="honeypot filled: spam", meta=log_meta)
        return SubmissionOutcome(stored=False)
    if len(meta.idempotency_key) > 200:
        raise ValidationError(
            {"idempotency_key": ValidationError(_("At most 200 characters."), code="too_long")}
        )
    consents = webform_consents(form)
    try:
        cleaned = _clean_submission(form, data, consents)
    except ValidationError as exc:
        intake_reject(provider=provider, body=_redacted(data), error=_error_text(exc), meta=log_meta)
        raise

    now = timezone.now()
    body, summary = _describe(form, cleaned)
    primary = ("phone", cleaned.phone) if cleaned.phone else ("email", cleaned.email)
    event = InboundEvent(
        provider=provider,
        external_id=meta.idempotency_key or uuid.uuid4().hex,
        kind=InteractionKind.FORM,
        channel="form",
        occurred_at=now,
        identity_kind=primary[0],
        identity_value=primary[1],
        extra_identities=[("email", cleaned.email)] if cleaned.phone and cleaned.email else [],
        contact_name=cleaned.name,
        subject=form.name,
        body=body,
        summary=summary,
        queue=form.queue,
        lead_fields=cleaned.lead_fields,
        payload={
            "form": form.slug,
            "fields": {
                "name": cleaned.name,
                "phone": cleaned.phone,
                "email": cleaned.email,
                "message": cleaned.message,
                **{definition["name"]: value for definition, value in cleaned.extras},
            },
            **cleaned.lead_fields,
            "consents": {purpose.code: text.version for purpose, text in consents},
            "ip": meta.ip,
            "user_agent": meta.user_agent[:500],
        },
    )
    raw = json.dumps(dict(data), ensure_ascii=False, default=str)
    try:
        with transaction.atomic():
            result = ingest_event(event)
            interaction = result.interaction
            if result.created and interaction.contact is not None:
                for purpose, text in consents:
                    consent_record(
                        contact=interaction.contact,
                        purpose=purpose,
                        text=text,
                        given_at=now,
                        ip=meta.ip,
                        user_agent=meta.user_agent,
                        page_url=cleaned.lead_fields.get("page_url", ""),
                        source=provider,
                        interaction=interaction,
                    )
            intake_record(
                provider=provider,
                status=IntakeLog.Status.PROCESSED,
                body=raw,
                interaction=interaction,
                **log_meta,
            )
            if result.created:
                emit(WebformSubmitted(form_id=form.pk, interaction_id=interaction.pk))
    except Exception:
        # Everything above rolled back together; keep the delivery so the admin can see what failed.
        intake_record(
            provider=provider,
            status=IntakeLog.Status.FAILED,
            body=raw,
            error=traceback.format_exc()[-5000:],
            **log_meta,
        )
        raise
    return SubmissionOutcome(stored=True, interaction=interaction, created=result.created)


def submission_from_post(
    form: WebForm, post: Mapping[str, Any], consent_codes: Iterable[str]
) -> dict[str, Any]:
    """An HTML form's fields in the JSON shape of the API (checkboxes ``consent_<code>``)."""
    names = ("name", "phone", "email", "message", HONEYPOT, *UTM_FIELDS, "page_url")
    data: dict[str, Any] = {name: post.get(name, "") for name in names}
    for definition in form.fields or []:
        data[definition["name"]] = post.get(definition["name"], "")
    codes = list(consent_codes)
    data["consents"] = {code: _truthy(post.get(f"consent_{code}")) for code in codes}
    data["consent_versions"] = {code: post.get(f"consent_version_{code}", "") for code in codes}
    return data
