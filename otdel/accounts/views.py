"""Account pages: sign-in, the user's own profile, and user and department administration."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from otdel.accounts import services, twofactor
from otdel.accounts.forms import (
    DepartmentForm,
    IntegrationTokenForm,
    LanguageForm,
    LoginForm,
    OtpCodeForm,
    PasswordForm,
    UserFilterForm,
    UserForm,
)
from otdel.accounts.models import ApiToken, Department, TokenScope, User
from otdel.accounts.permissions import is_admin
from otdel.accounts.tokens import token_is_live
from otdel.core.exceptions import ConflictError
from otdel.core.identity import format_phone
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.web.http import form_save, safe_next

View = Callable[..., HttpResponse]


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        # Remember the user's language in the cookie too, so the sign-in page after logout speaks it.
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.get_user().language, samesite="Lax")
        return response


def admin_required(view: View) -> View:
    """Administration pages exist only for administrators: anyone else gets a plain 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def work_days_text(days: list[int] | None) -> str:
    return ", ".join(str(WEEKDAYS_ABBR[day]) for day in sorted(days or []) if day in WEEKDAYS_ABBR)


# --- profile -------------------------------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    language_form = LanguageForm(initial={"language": user.language})
    password_form = PasswordForm(user)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "language":
            language_form = LanguageForm(request.POST)
            if language_form.is_valid():
                language = language_form.cleaned_data["language"]
                try:
                    services.user_update(actor=user, user=user, language=language)
                except (ValidationError, ConflictError) as exc:
                    language_form.add_service_error(exc)
                    return _render_profile(request, user, language_form, password_form)
                # The message is stored as text: write it in the language the next page shows.
                translation.activate(language)
                messages.success(request, _("Interface language changed."))
                response = redirect("profile")
                # The sign-in page, seen after logging out, keeps the same language.
                response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
                return response
        elif action == "password":
            password_form = PasswordForm(user, request.POST)
            if password_form.is_valid():
                try:
                    services.user_update(
                        actor=user, user=user, password=password_form.cleaned_data["new_password1"]
                    )
                except ValidationError as exc:
                    password_form.add_error("new_password1", exc.error_dict.get("password", exc.messages))
                else:
                    # Changing the password rotates the session hash; keep this session signed in.
                    update_session_auth_hash(request, user)
                    messages.success(request, _("Password changed."))
                    return redirect("profile")
    return _render_profile(request, user, language_form, password_form)


def _render_profile(
    request: HttpRequest, user: User, language_form: LanguageForm, password_form: PasswordForm
) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "profile_user": user,
            "work_days": work_days_text(user.work_days),
            "phone": format_phone(user.phone) if user.phone else "",
            "language_form": language_form,
            "password_form": password_form,
        },
    )


# --- users ---------------------------------------------------------------------------------------


def _users(request: HttpRequest) -> QuerySet[User]:
    return scope(User.objects.select_related("department"), request.user).order_by("full_name", "username")


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    filter_form = UserFilterForm(request.GET or None)
    users = filter_form.filter(_users(request))
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/user_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "rows": [
                (user, work_days_text(user.work_days), format_phone(user.phone) if user.phone else "")
                for user in page.object_list
            ],
            "settings_tab": "users",
        },
    )


@admin_required
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None, actor=request.user)  # type: ignore[arg-type]
    if (
        request.method == "POST"
        and (
            user := form_save(
                form,
                lambda: services.user_create(
                    actor=request.user,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    **form.service_fields(),
                ),
            )
        )
        is not None
    ):
        messages.success(request, _("User “%(name)s” created.") % {"name": user})
        return redirect("user_list")
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "heading": _("New user"), "settings_tab": "users"},
    )


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_scoped_or_404(User.objects.select_related("department"), request.user, "change", pk=pk)
    heading = _("User “%(name)s”") % {"name": user}
    form = UserForm(request.POST or None, instance=user, actor=request.user)  # type: ignore[arg-type]
    if (
        request.method == "POST"
        and form_save(
            form,
            lambda: services.user_update(
                actor=request.user,
                user=user,
                password=form.cleaned_data["password"] or None,
                **form.service_fields(),
            ),
        )
        is not None
    ):
        if user.pk == request.user.pk and form.cleaned_data["password"]:
            update_session_auth_hash(request, user)
        messages.success(request, _("User “%(name)s” saved.") % {"name": user})
        return redirect("user_list")
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "heading": heading, "edited_user": user, "settings_tab": "users"},
    )


# --- departments ---------------------------------------------------------------------------------


@admin_required
def department_list(request: HttpRequest) -> HttpResponse:
    departments = scope(
        Department.objects.select_related("head").annotate(member_count=Count("members")), request.user
    ).order_by("name")
    return render(
        request,
        "accounts/department_list.html",
        {"departments": departments, "settings_tab": "departments"},
    )


@admin_required
def department_create(request: HttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None)
    if (
        request.method == "POST"
        and (
            department := form_save(
                form, lambda: services.department_create(actor=request.user, **form.cleaned_data)
            )
        )
        is not None
    ):
        messages.success(request, _("Department “%(name)s” created.") % {"name": department})
        return redirect("department_list")
    return render(
        request,
        "accounts/department_form.html",
        {"form": form, "heading": _("New department"), "settings_tab": "departments"},
    )


@admin_required
def department_edit(request: HttpRequest, pk: int) -> HttpResponse:
    department = get_scoped_or_404(Department.objects.all(), request.user, "change", pk=pk)
    heading = _("Department “%(name)s”") % {"name": department}
    form = DepartmentForm(request.POST or None, instance=department)
    if (
        request.method == "POST"
        and form_save(
            form,
            lambda: services.department_update(
                actor=request.user, department=department, **form.cleaned_data
            ),
        )
        is not None
    ):
        messages.success(request, _("Department “%(name)s” saved.") % {"name": department})
        return redirect("department_list")
    return render(
        request,
        "accounts/department_form.html",
        {"form": form, "heading": heading, "settings_tab": "departments"},
    )


# --- integration tokens --------------------------------------------------------------------------


@admin_required
def integration_token_list(request: HttpRequest) -> HttpResponse:
    """The integration tokens, and a form to make one: its secret is shown on the answer, once."""
    form = IntegrationTokenForm(request.POST or None)
    secret = None
    created = None
    if request.method == "POST":
        made = form_save(
            form, lambda: services.integration_token_create(actor=request.user, **form.cleaned_data)
        )
        if made is not None:
            created, secret = made
            form = IntegrationTokenForm()
    rows = ApiToken.objects.filter(kind=ApiToken.Kind.INTEGRATION).select_related("user", "created_by")
    names = dict(TokenScope.choices)
    return render(
        request,
        "accounts/integration_tokens.html",
        {
            "form": form,
            "secret": secret,
            "created": created,
            "rows": [
                (token, token_is_live(token), [names.get(s, s) for s in token.scopes or []]) for token in rows
            ],
            "settings_tab": "tokens",
        },
    )


@admin_required
@require_POST
def integration_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, kind=ApiToken.Kind.INTEGRATION, pk=pk)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token})
    return redirect("integration_token_list")


# --- two-factor sign-in (administrators) -----------------------------------------------------------


@admin_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator (QR code or secret, a first code), or manage the one enrolled."""
    user: User = request.user  # type: ignore[assignment]
    device = twofactor.confirmed_device(user)
    verified = user.is_verified()  # type: ignore[attr-defined]
    if device is not None and not verified:
        return redirect(f"{reverse('two_factor_verify')}?{request.GET.urlencode()}")
    form = OtpCodeForm(request.POST or None)
    codes = None
    if request.method == "POST" and device is not None:
        action = request.POST.get("action")
        if action == "codes":
            codes = twofactor.recovery_codes_issue(user=user)
        elif action == "reset":
            twofactor.two_factor_reset(user=user)
            messages.success(request, _("Two-factor sign-in is reset: set up the authenticator again."))
            return redirect("two_factor_setup")
    elif request.method == "POST" and form.is_valid():
        codes = twofactor.enrolment_confirm(request=request, user=user, code=form.cleaned_data["code"])
        if codes is None:
            form.add_error("code", _("This code is not right. Check the time on the phone and try again."))
        else:
            device = twofactor.confirmed_device(user)
    enrolling = device is None
    pending = twofactor.enrolment_device(user) if enrolling else None
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "enrolling": enrolling,
            "qr": twofactor.qr_svg(pending) if pending else "",
            "secret": twofactor.secret_base32(pending) if pending else "",
            "codes": codes,
            "codes_left": twofactor.recovery_codes_left(user),
            "next": safe_next(request, request.GET.get("next") or ""),
        },
    )


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator or a recovery code."""
    user: User = request.user  # type: ignore[assignment]
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next") or "") or "/"
    if not twofactor.required_for(user) or user.is_verified():  # type: ignore[attr-defined]
        return redirect(next_url)
    if twofactor.confirmed_device(user) is None:
        return redirect(f"{reverse('two_factor_setup')}?next={quote(next_url)}")
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.code_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("code", _("Wrong or expired code, or too many tries: wait a little and try again."))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url}, status=200)


@admin_required
@require_POST
def two_factor_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator resets another user's authenticator (a lost phone)."""
    user = get_scoped_or_404(User.objects.all(), request.user, "change", pk=pk)
    twofactor.two_factor_reset(user=user)
    messages.success(request, _("Two-factor sign-in of “%(name)s” is reset.") % {"name": user})
    return redirect("user_edit", pk=user.pk)
