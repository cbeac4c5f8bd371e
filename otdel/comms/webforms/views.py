"""The public page of a web form (/f/<slug>): no staff layout, CSRF-protected, the API's service behind it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from otdel.accounts.views import admin_required
from otdel.comms.channels import public_base, settings_form_save, settings_page
from otdel.comms.forms import (
    WebFormForm,
)
from otdel.comms.models import (
    WebForm,
)
from otdel.comms.webforms.api import embed_snippet
from otdel.comms.webforms.http import submission_meta
from otdel.comms.webforms.selectors import (
    HONEYPOT,
    UTM_FIELDS,
    webform_definition,
    webform_get,
    webform_list,
    webform_public,
    webform_success_message,
)
from otdel.comms.webforms.services import (
    SubmissionRateLimited,
    submission_from_post,
    webform_create,
    webform_submit,
    webform_update,
)


@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    form = webform_public(slug=slug)
    definition = webform_definition(form)
    codes = [consent["code"] for consent in definition["consents"]]
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = submission_from_post(form, request.POST, codes)
        try:
            webform_submit(form=form, data=values, meta=submission_meta(request))
        except SubmissionRateLimited as exc:
            errors = {"__all__": [exc.message]}
            status = 429
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("webform-thanks", slug=form.slug)
    else:
        # The page's own address carries the campaign (/f/<slug>?utm_source=...): keep it with the lead.
        values = {name: request.GET.get(name, "")[:255] for name in UTM_FIELDS}
        values["page_url"] = request.build_absolute_uri()[:1000]
        values["consents"] = {}
    return render(request, "comms/webforms/page.html", _context(definition, values, errors), status=status)


def _context(
    definition: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    fields = [
        {
            **f,
            "value": values.get(f["name"], ""),
            "errors": errors.get(f["name"], []),
            "id": f"field-{f['name']}",
        }
        for f in definition["fields"]
    ]
    consents = [
        {
            **c,
            # A consent with an error (e.g. its text changed meanwhile) is to be ticked again, knowingly.
            "checked": bool(values.get("consents", {}).get(c["code"]))
            and not errors.get(f"consents.{c['code']}"),
            "errors": errors.get(f"consents.{c['code']}", []),
        }
        for c in definition["consents"]
    ]
    # Errors on fields the visitor cannot see (hidden UTM, page URL) go to the top of the form.
    shown = {f["name"] for f in fields} | {f"consents.{c['code']}" for c in consents}
    general = [message for key, messages in errors.items() if key not in shown for message in messages]
    return {
        "definition": definition,
        "fields": fields,
        "consents": consents,
        "hidden": {name: values.get(name, "") for name in (*UTM_FIELDS, "page_url")},
        "honeypot": HONEYPOT,
        "general_errors": general,
        "has_errors": bool(errors),
    }


@require_GET
def form_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    form = webform_public(slug=slug)
    return render(
        request,
        "comms/webforms/thanks.html",
        {"title": form.title or form.name, "message": webform_success_message(form), "slug": form.slug},
    )


# --- settings pages (administrators) -------------------------------------------------------


@admin_required
def webform_list_page(request: HttpRequest) -> HttpResponse:
    base = public_base(request)
    rows = [
        {"form": form, "public_url": base + reverse("webform-page", args=[form.slug])}
        for form in webform_list(user=request.user).order_by("name")
    ]
    return settings_page(request, "comms/settings/webform_list.html", "forms", rows=rows)


@admin_required
def webform_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    web_form = webform_get(user=request.user, slug=slug) if slug is not None else None
    form = WebFormForm(request.POST or None, instance=web_form)
    if request.method == "POST":

        def save() -> WebForm:
            fields = form.service_fields()
            if web_form is None:
                return webform_create(actor=request.user, **fields)
            return webform_update(actor=request.user, form=web_form, version=form.read_version(), **fields)

        done = settings_form_save(
            request, form, save, _("Web form saved."), lambda f: redirect("comms_webform_edit", slug=f.slug)
        )
        if done is not None:
            return done
    base = public_base(request)
    context: dict[str, Any] = {"form": form, "web_form": web_form}
    if web_form is not None:
        context["public_url"] = base + reverse("webform-page", args=[web_form.slug])
        context["embed"] = embed_snippet(base, web_form.slug)
        context["embed_script"] = base + static("comms/embed.js")
    return settings_page(request, "comms/settings/webform_form.html", "forms", **context)
