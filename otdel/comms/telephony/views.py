"""Telephony pages: providers and lines in the channel settings, click-to-call from a card."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.views import admin_required
from otdel.comms.channels import public_base, settings_form_save, settings_page
from otdel.comms.forms import (
    TelephonyLineForm,
    TelephonyProviderForm,
)
from otdel.comms.models import (
    TelephonyLine,
    TelephonyProvider,
)
from otdel.comms.telephony import services as settings_services
from otdel.comms.telephony.click_to_call import call_originate
from otdel.comms.telephony.common import TelephonyError
from otdel.core.identity import format_phone
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm.models import Contact
from otdel.web.http import errors_text, int_or_none, is_htmx


def telephony_webhooks(request: HttpRequest, provider: TelephonyProvider) -> list[tuple[str, str]]:
    """The addresses to paste into the PBX or the provider's account for this provider."""
    base = public_base(request)
    route = base + reverse("api-telephony-route")
    urls: list[tuple[str, str]] = []
    if provider.kind == TelephonyProvider.Kind.ZADARMA:
        urls.append(
            (
                _(
                    "Notifications URL (NOTIFY_START, NOTIFY_END, NOTIFY_OUT_START, NOTIFY_OUT_END, NOTIFY_RECORD)"
                ),
                base + reverse("api-telephony-zadarma", kwargs={"key": provider.key}),
            )
        )
    elif provider.kind == TelephonyProvider.Kind.MANGO:
        call = base + reverse("api-telephony-mango", kwargs={"key": provider.key, "event": "events/call"})
        urls += [
            (
                _("External system address (Mango appends events/call, events/summary…)"),
                call.removesuffix("events/call"),
            ),
            (_("Call events"), call),
            (_("Call summary"), call.removesuffix("call") + "summary"),
        ]
    elif provider.kind == TelephonyProvider.Kind.ASTERISK:
        urls.append(
            (
                _("Live routing for the dialplan (CURL)"),
                route + "?caller=${CALLERID(num)}&called=${EXTEN}&format=text",
            )
        )
    if provider.kind != TelephonyProvider.Kind.ASTERISK:
        urls += [
            (_("Call events (generic webhook, POST)"), base + reverse("api-telephony-events")),
            (_("Live routing (GET ?caller=&called=)"), route),
        ]
    return urls


def _providers(request: HttpRequest) -> QuerySet[TelephonyProvider]:
    # No scope rule for channel settings: only administrators see them (scope's safe default).
    return scope(TelephonyProvider.objects.select_related("queue"), request.user)


@admin_required
def telephony_list(request: HttpRequest) -> HttpResponse:
    providers = _providers(request).prefetch_related("lines")
    return settings_page(request, "comms/settings/telephony_list.html", "telephony", providers=providers)


@admin_required
def telephony_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    provider = get_object_or_404(_providers(request), pk=pk) if pk is not None else None
    form = TelephonyProviderForm(request.POST or None, instance=provider)
    if request.method == "POST":

        def save() -> TelephonyProvider:
            if provider is None:
                return settings_services.telephony_provider_create(
                    actor=request.user, **form.service_fields()
                )
            return settings_services.telephony_provider_update(
                actor=request.user, provider=provider, version=form.read_version(), **form.service_fields()
            )

        done = settings_form_save(
            request,
            form,
            save,
            _("Telephony provider saved."),
            lambda p: redirect("comms_telephony_edit", pk=p.pk),
        )
        if done is not None:
            return done
    return settings_page(
        request,
        "comms/settings/telephony_form.html",
        "telephony",
        form=form,
        provider=provider,
        webhooks=telephony_webhooks(request, provider) if provider is not None else [],
        lines=provider.lines.select_related("queue") if provider is not None else [],
        line_form=TelephonyLineForm(prefix="line") if provider is not None else None,
    )


@admin_required
def telephony_line_edit(request: HttpRequest, provider_pk: int, pk: int | None = None) -> HttpResponse:
    provider = get_object_or_404(_providers(request), pk=provider_pk)
    line = (
        get_object_or_404(TelephonyLine.objects.filter(provider=provider), pk=pk) if pk is not None else None
    )
    form = TelephonyLineForm(request.POST or None, instance=line, prefix="line")
    if request.method == "POST":
        if request.POST.get("delete") and line is not None:
            settings_services.telephony_line_delete(actor=request.user, line=line)
            messages.success(request, _("Line %(number)s removed.") % {"number": format_phone(line.number)})
            return redirect("comms_telephony_edit", pk=provider.pk)

        def save() -> TelephonyLine:
            if line is None:
                return settings_services.telephony_line_create(
                    actor=request.user, provider=provider, **form.service_fields()
                )
            return settings_services.telephony_line_update(
                actor=request.user, line=line, **form.service_fields()
            )

        done = settings_form_save(
            request,
            form,
            save,
            _("Line saved."),
            lambda _line: redirect("comms_telephony_edit", pk=provider.pk),
        )
        if done is not None:
            return done
    return settings_page(
        request, "comms/settings/line_form.html", "telephony", form=form, provider=provider, line=line
    )


@login_required
@require_POST
def contact_call(request: HttpRequest, pk: int) -> HttpResponse:
    """Click-to-call: ring the user's extension, then the client's number (through the PBX/provider)."""
    contact = get_scoped_or_404(Contact.objects.all(), request.user, pk=pk)
    identity = contact.identities.filter(
        kind="phone", pk=int_or_none(request.POST.get("identity")) or 0
    ).first()
    if identity is None:
        identity = contact.identities.filter(kind="phone").order_by("-is_primary", "id").first()
    error = ""
    call = None
    if identity is None:
        error = _("This contact has no phone number.")
    else:
        try:
            call = call_originate(actor=request.user, contact=contact, number=identity.value)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = errors_text(exc)
        except TelephonyError as exc:
            error = _("The call could not be placed: %(reason)s") % {"reason": exc}
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.info(request, _("Calling… pick up your phone."))
        return redirect("contact_detail", pk=pk)
    return render(request, "comms/_call_status.html", {"error": error, "call": call})


# --- the ringing call on screen (comms/telephony/ringing.py) ------------------------------------


@login_required
def ringing_card_view(request: HttpRequest) -> HttpResponse:
    """The card of a call ringing for the viewer, as the pushed event left it (``?key=&phone=&state=``)."""
    from otdel.comms.telephony.ringing import ringing_card

    card = ringing_card(
        user=request.user,
        key=request.GET.get("key", "")[:400],
        phone=request.GET.get("phone", "")[:64],
        state=request.GET.get("state", ""),
        status=request.GET.get("status", "")[:16],
    )
    return render(request, "comms/_ringing_card.html", {"card": card, "key": request.GET.get("key", "")})


@login_required
@require_POST
def ringing_contact(request: HttpRequest) -> HttpResponse:
    """The "new number" card's buttons: make the caller a contact or a lead, then open it."""
    from otdel.comms.telephony.ringing import ringing_contact_create
    from otdel.core.exceptions import ConflictError
    from otdel.crm.models import Lead

    try:
        made = ringing_contact_create(
            actor=request.user,  # type: ignore[arg-type]
            phone=request.POST.get("phone", "")[:64],
            full_name=request.POST.get("full_name", ""),
            lead=request.POST.get("make") == "lead",
        )
    except (ValidationError, ConflictError) as exc:
        return HttpResponse(errors_text(exc) if isinstance(exc, ValidationError) else exc.message, status=400)
    url = reverse("lead_detail" if isinstance(made, Lead) else "contact_detail", args=[made.pk])
    if is_htmx(request):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return redirect(url)
