"""The public page of a web form (/f/<slug>): no staff layout, CSRF-protected, the API's service behind it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from otdel.comms.webforms.http import submission_meta
from otdel.comms.webforms.selectors import (
    HONEYPOT,
    UTM_FIELDS,
    webform_definition,
    webform_public,
    webform_success_message,
)
from otdel.comms.webforms.services import (
    SubmissionRateLimited,
    submission_from_post,
    webform_submit,
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
