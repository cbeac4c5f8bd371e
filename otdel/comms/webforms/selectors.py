"""Reads of web forms: the admin's list, the public definition a page or the embed script renders."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from otdel.comms.models import WebForm
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.privacy.models import ConsentPurpose, ConsentText
from otdel.privacy.selectors import consent_texts_current

HONEYPOT = "website"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def webform_list(*, user: Any) -> QuerySet[WebForm]:
    # No scope rule is registered for forms: only administrators see them (scope's safe default).
    return scope(WebForm.objects.select_related("queue").prefetch_related("consent_purposes"), user)


def webform_get(*, user: Any, slug: str) -> WebForm:
    return get_scoped_or_404(
        WebForm.objects.select_related("queue").prefetch_related("consent_purposes"), user, slug=slug
    )


def webform_by_slug(*, slug: str) -> WebForm | None:
    """Any form, active or not (the public endpoints need its allowed origins even to say 404)."""
    return WebForm.objects.select_related("queue").filter(slug=slug).first()


def webform_public(*, slug: str) -> WebForm:
    """The form a visitor may see and submit: unknown or switched off is 404."""
    form = webform_by_slug(slug=slug)
    if form is None or not form.is_active:
        raise Http404
    return form


def webform_consents(form: WebForm) -> list[tuple[ConsentPurpose, ConsentText]]:
    """The consents the form requires, each with the wording shown right now (purposes with no text are skipped)."""
    purposes = list(form.consent_purposes.filter(is_active=True).order_by("code"))
    texts = consent_texts_current(purposes)
    return [(purpose, texts[purpose.pk]) for purpose in purposes if purpose.pk in texts]


def webform_origins(form: WebForm) -> list[str]:
    return [line.strip() for line in (form.allowed_origins or "").splitlines() if line.strip()]


def webform_origin_allowed(form: WebForm, origin: str) -> bool:
    origins = webform_origins(form)
    return "*" in origins or origin.rstrip("/").lower() in origins


def origin_host(origin: str) -> str:
    return urlsplit(origin).netloc.lower()


def standard_fields() -> list[dict[str, Any]]:
    """The fields every form has, labelled in the visitor's language."""
    return [
        {"name": "name", "label": _("Your name"), "type": "text", "required": False, "autocomplete": "name"},
        {"name": "phone", "label": _("Phone"), "type": "tel", "required": False, "autocomplete": "tel"},
        {"name": "email", "label": _("E-mail"), "type": "email", "required": False, "autocomplete": "email"},
        {"name": "message", "label": _("Message"), "type": "textarea", "required": False},
    ]


def webform_success_message(form: WebForm) -> str:
    return form.success_message or _("Thank you! We will get back to you soon.")


def webform_definition(form: WebForm, *, submit_url: str = "") -> dict[str, Any]:
    """What a page needs to draw the form: fields, consent texts, the words around them."""
    consents = webform_consents(form)
    return {
        "slug": form.slug,
        "title": form.title or form.name,
        "submit_url": submit_url,
        "honeypot": HONEYPOT,
        "utm_fields": list(UTM_FIELDS),
        "fields": [*standard_fields(), *[_public_field(f) for f in form.fields or []]],
        "consents": [
            {
                "code": purpose.code,
                "title": purpose.title,
                "text": text.text,
                "version": text.version,
                "sha256": text.sha256,
            }
            for purpose, text in consents
        ],
        "success_message": webform_success_message(form),
        "labels": {
            "submit": _("Send"),
            "sending": _("Sending…"),
            "reach_hint": _("Leave a phone number or an e-mail so we can reach you."),
            "consent": _("I agree"),
            "fix_errors": _("Please correct the errors below."),
            "network_error": _("The form could not be sent. Check your connection and try again."),
            "required": _("required"),
        },
    }


def _public_field(field: dict[str, Any]) -> dict[str, Any]:
    public = {
        "name": field["name"],
        "label": field.get("label") or field["name"],
        "type": field.get("type", "text"),
        "required": bool(field.get("required")),
    }
    if public["type"] == "select":
        public["options"] = list(field.get("options") or [])
    return public
