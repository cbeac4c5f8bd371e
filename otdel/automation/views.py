"""The notification bell and list, "My day", the rule editor and the SLA board."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otdel.accounts.permissions import may_manage_routing
from otdel.automation import selectors, services
from otdel.automation.forms import NotificationSettingsForm, RuleForm, SlaPolicyForm, editor_options
from otdel.automation.models import Notification, NotificationSettings, Rule, RuleRun, SlaPolicy
from otdel.automation.rules import dry_run
from otdel.automation.targets import policy_missing_target
from otdel.core.exceptions import ApiError
from otdel.crm.models import Pipeline

PAGE = 50
# How often an open page asks for the unread count (seconds).
BELL_POLL_SECONDS = 60


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    """The navbar bell with the unread count (htmx refreshes it)."""
    return render(
        request,
        "automation/_bell.html",
        {
            "unread": selectors.notification_unread_count(user=request.user),
            "poll_seconds": BELL_POLL_SECONDS,
        },
    )


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.notification_list(user=request.user).select_related("contact")
    page = Paginator(rows, PAGE).get_page(request.GET.get("page"))
    unread = selectors.notification_unread_count(user=request.user)
    return render(request, "automation/notification_list.html", {"page": page, "unread": unread})


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark it read and go where it points (a POST: a GET must not change anything)."""
    try:
        notification = services.notification_open(user=request.user, pk=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    safe = url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()})
    return redirect(notification.url if notification.url and safe else "notification_list")


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Which kinds of notification reach the user by e-mail and / or Telegram; reminders; the
    Telegram chat linked to a company bot (``/start <code>``)."""
    from otdel.automation import delivery
    from otdel.comms.models import TelegramBot

    chosen = delivery.settings_for(request.user)
    if request.method == "POST":
        op = request.POST.get("op", "save")
        if op == "telegram_link":
            delivery.telegram_link_start(user=request.user)
        elif op == "telegram_unlink":
            delivery.telegram_unlink(user=request.user)
        else:
            form = NotificationSettingsForm(request.POST)
            if form.is_valid():
                services.notification_settings_save(user=request.user, **form.cleaned_data)
                messages.success(request, _("Notification settings saved."))
            else:
                messages.error(request, _("Remind before: a whole number of minutes, 0 or more."))
        return redirect("notification_settings")
    chosen.refresh_from_db()
    kinds = [
        {
            "code": code,
            "label": label,
            "channels": [(c, c in chosen.channels_for(code)) for c in NotificationSettings.Channel.values],
        }
        for code, label in Notification.Kind.choices
    ]
    bots = list(TelegramBot.objects.filter(is_active=True).exclude(username="").order_by("name"))
    return render(
        request,
        "automation/notification_settings.html",
        {
            "settings": chosen,
            "kinds": kinds,
            "channel_labels": dict(NotificationSettings.Channel.choices),
            "bots": bots,
        },
    )


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_read_all(user=request.user)
    return redirect("notification_list")


# --- "My day", the rule editor, the SLA board ------------------------------------------------------


def _require_manager(request: HttpRequest) -> None:
    if not may_manage_routing(request.user):
        raise PermissionDenied


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """The salesperson's start page; the head of sales also sees the department by person."""
    context: dict[str, Any] = selectors.my_day(user=request.user)
    if may_manage_routing(request.user):
        context["team"] = selectors.team_day()
    return render(request, "automation/my_day.html", context)


_PATH = re.compile(r"([a-z_]+)(?:\[(\d+)\])?")


def _where(path: str) -> str:
    """``conditions[0].any[1].op`` -> "Condition 1 › OR group › condition 2 › operator"."""
    names = {
        "conditions": _("Condition %(n)s"),
        "actions": _("Action %(n)s"),
        "any": _("OR group › condition %(n)s"),
        "all": _("AND group › condition %(n)s"),
        "on_warn": _("On warning, action %(n)s"),
        "on_breach": _("On breach, action %(n)s"),
    }
    words = {
        "op": _("operator"),
        "field": _("field"),
        "value": _("value"),
        "trigger": _("trigger"),
        "stage": _("stage"),
        "queue": _("queue"),
        "to": _("whom to notify"),
        "assignee": _("assignee"),
        "template": _("template"),
        "purpose": _("consent"),
        "subject": _("subject"),
        "body": _("message"),
        "title": _("title"),
        "text": _("text"),
        "url": _("URL"),
        "secret": _("secret"),
        "route": _("route"),
    }
    parts = []
    for segment in path.split("."):
        match = _PATH.fullmatch(segment)
        if match and match.group(2) is not None and match.group(1) in names:
            parts.append(str(names[match.group(1)]) % {"n": int(match.group(2)) + 1})
        else:
            parts.append(str(words.get(segment, segment)))
    return " › ".join(parts)


def _api_errors(form: Any, exc: ApiError) -> None:
    for field, said in exc.errors.items():
        for message in said:
            form.add_error(None, f"{_where(field)}: {message}" if field != "__all__" else message)


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Global rules (not tied to a stage), with a form to add one; links to each pipeline's editor."""
    _require_manager(request)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create(actor=request.user, **form.rule_fields())
        except ApiError as exc:
            _api_errors(form, exc)
        else:
            return redirect("automation_rule", rule.pk)
    rules = Rule.objects.filter(stage__isnull=True).annotate(
        run_count=Count("runs"), failed=Count("runs", filter=Q(runs__outcome=RuleRun.Outcome.FAILED))
    )
    pipelines = Pipeline.objects.filter(is_active=True).order_by("order", "name")
    return render(
        request,
        "automation/rule_list.html",
        {"rules": rules, "form": form, "pipelines": pipelines, "editor": editor_options()},
    )


@login_required
def pipeline_rules(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule editor of one pipeline, laid out like the kanban: one column per stage, its rules as cards."""
    _require_manager(request)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = RuleForm(request.POST or None, pipeline=pipeline, initial={"event": "deal.stage_entered"})
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_create(actor=request.user, **form.rule_fields())
        except ApiError as exc:
            _api_errors(form, exc)
        else:
            return redirect("automation_pipeline_rules", pipeline.pk)
    stages = list(pipeline.stages.order_by("order", "id"))
    by_stage: dict[int, list[Rule]] = {}
    for rule in Rule.objects.filter(stage__pipeline=pipeline).annotate(run_count=Count("runs")):
        by_stage.setdefault(rule.stage_id or 0, []).append(rule)
    columns = [{"stage": s, "rules": by_stage.get(s.pk, [])} for s in stages]
    return render(
        request,
        "automation/pipeline_rules.html",
        {
            "pipeline": pipeline,
            "columns": columns,
            "form": form,
            "pipelines": Pipeline.objects.filter(is_active=True),
            "editor": editor_options(pipeline),
        },
    )


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A rule and its run log: when, on what, done / skipped (why) / failed (error)."""
    _require_manager(request)
    rule = get_object_or_404(Rule, pk=pk)
    form = RuleForm(pipeline=rule.pipeline, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and request.POST.get("op") == "edit":
        form = RuleForm(request.POST, pipeline=rule.pipeline)
        if form.is_valid():
            try:
                # Saved as valid: its targets exist again, so an active rule's pause is lifted.
                services.rule_update(
                    actor=request.user, rule=rule, is_active=rule.is_active, **form.rule_fields()
                )
            except ApiError as exc:
                _api_errors(form, exc)
            else:
                return redirect("automation_rule", rule.pk)
        rule.refresh_from_db()
    elif request.method == "POST":
        if request.POST.get("op") == "delete":
            back = rule.pipeline_id
            services.rule_delete(actor=request.user, rule=rule)
            return redirect("automation_pipeline_rules", back) if back else redirect("automation_rules")
        # A paused rule is resumed (the pause cleared); otherwise the switch flips.
        resume = bool(rule.paused_reason) or not rule.is_active
        try:
            services.rule_update(actor=request.user, rule=rule, is_active=resume)
        except ApiError as exc:  # resumed while its target is still gone
            messages.error(request, "; ".join(f"{_where(k)}: {' '.join(v)}" for k, v in exc.errors.items()))
        return redirect("automation_rule", rule.pk)
    runs = rule.runs.prefetch_related("deliveries").order_by("-due_at", "-id")
    page = Paginator(runs, PAGE).get_page(request.GET.get("page"))
    trial = dry_run(rule) if request.GET.get("try") else None
    return render(
        request,
        "automation/rule_detail.html",
        {
            "rule": rule,
            "page": page,
            "trial": trial,
            "form": form,
            "editor": editor_options(rule.pipeline),
            "editing": request.method == "POST",
        },
    )


@login_required
def sla_board(request: HttpRequest) -> HttpResponse:
    """What is at risk now, by person; and the policies with a form to add one."""
    _require_manager(request)
    form = SlaPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sla_policy_create(actor=request.user, **form.policy_fields())
        except ApiError as exc:
            _api_errors(form, exc)
        else:
            return redirect("automation_sla_board")
    context = selectors.sla_board()
    # Each policy with what stops its warning or escalation, if anything: shown on its row.
    policies = [(policy, policy_missing_target(policy)) for policy in SlaPolicy.objects.all()]
    context.update(form=form, policies=policies)
    return render(request, "automation/sla_board.html", context)
