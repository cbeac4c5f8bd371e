"""Automation rules: validation of what the head of sales wrote, matching events, running actions.

Matching happens in the worker (``tasks.rules_match``), never in the request that caused the event:
the request only enqueues the event. A match makes one ``RuleRun`` row per (rule, subject,
occurrence) (unique in the database); ``runs_drain`` claims due rows one at a time with
``SELECT ... FOR UPDATE SKIP LOCKED`` and runs the actions in the same transaction.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import socket
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from otdel.accounts.models import Role, User
from otdel.automation import actions as outside
from otdel.automation.errors import AutomationErrorCode as Code
from otdel.automation.models import Notification, Rule, RuleRun
from otdel.automation.services import notify
from otdel.automation.worktime import add_minutes
from otdel.core import outbound
from otdel.core.events import CATALOG
from otdel.core.exceptions import ApiError
from otdel.crm.models import Contact, CustomField, Deal, Lead, Stage, Task

logger = logging.getLogger(__name__)

PAUSE_AFTER_FAILURES = 5
OPERATORS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "empty", "not_empty"}
ACTIONS = {
    "task",
    "notify",
    "assign",
    "move_stage",
    "webhook",
    "send_email",
    "generate_document",
    "start_approval",
}
# Fields a condition may test, by subject type (what ``subject_fields`` returns).
FIELDS = {
    "deal": {
        "amount",
        "title",
        "stage",
        "pipeline",
        "responsible",
        "company",
        "source",
        "channel",
        "contact",
    },
    "lead": {"source", "channel", "status", "verdict", "responsible", "contact", "comment", "utm_source"},
}
ANY_FIELDS = set().union(*FIELDS.values())
# A condition on a custom field names it "custom.<code>" (the field's code in settings).
CUSTOM_PREFIX = "custom."


# --- validation -------------------------------------------------------------------------------


def _user(value: Any, field: str) -> User:
    pk = value.get("user") if isinstance(value, dict) else None
    user = User.objects.filter(pk=pk, is_active=True).first() if isinstance(pk, int) else None
    if user is None:
        raise ApiError(
            {field: [_("There is no active user with the id %(id)s.") % {"id": pk}]}, Code.UNKNOWN_USER
        )
    return user


def validate(*, trigger: Any, conditions: Any, actions: Any) -> dict[str, Any]:
    """Check a rule; returns ``{"event", "stage", "pipeline"}``. Unknown references -> ApiError naming them."""

    if not isinstance(trigger, dict) or trigger.get("event") not in CATALOG:
        raise ApiError(
            {"trigger": [_("Unknown event “%(event)s”.") % {"event": (trigger or {}).get("event")}]},
            Code.UNKNOWN_EVENT,
        )
    stage = None
    if trigger.get("stage") not in (None, ""):
        stage = Stage.objects.select_related("pipeline").filter(pk=_int(trigger["stage"]) or 0).first()
        if stage is None:
            raise ApiError(
                {"trigger.stage": [_("There is no stage with the id %(id)s.") % {"id": trigger["stage"]}]},
                Code.UNKNOWN_STAGE,
            )
    _validate_conditions(conditions, "conditions")
    if not isinstance(actions, list) or not actions:
        raise ApiError({"actions": [_("Add at least one action.")]}, Code.INVALID)
    validate_actions(actions, "actions")
    return {"event": trigger["event"], "stage": stage, "pipeline": stage.pipeline if stage else None}


def validate_actions(actions: list[Any], name: str) -> None:
    """Each action known, available and naming things that exist (ApiError naming the first that is not)."""
    from otdel.routing.models import Queue

    for n, action in enumerate(actions):
        field = f"{name}[{n}]"
        kind = action.get("action") if isinstance(action, dict) else None
        if kind not in ACTIONS:
            raise ApiError({field: [_("Unknown action “%(a)s”.") % {"a": kind}]}, Code.UNKNOWN_ACTION)
        if kind == "task":
            if not str(action.get("title") or "").strip():
                raise ApiError({f"{field}.title": [_("Write what needs to be done.")]}, Code.INVALID)
            if action.get("assignee", "responsible") != "responsible":
                _user(action["assignee"], f"{field}.assignee")
            if _int(action.get("due_in_minutes", 0)) is None:
                raise ApiError({f"{field}.due_in_minutes": [_("A whole number of minutes.")]}, Code.INVALID)
        elif kind == "notify":
            if action.get("to") not in ("responsible", "head_of_sales"):
                _user(action.get("to"), f"{field}.to")
            if not str(action.get("text") or "").strip():
                raise ApiError({f"{field}.text": [_("Write the text of the notification.")]}, Code.INVALID)
        elif kind == "assign":
            if not Queue.objects.filter(code=str(action.get("queue"))).exists():
                raise ApiError(
                    {
                        f"{field}.queue": [
                            _("There is no queue with the code “%(code)s”.") % {"code": action.get("queue")}
                        ]
                    },
                    Code.UNKNOWN_QUEUE,
                )
        elif kind == "move_stage":
            target = Stage.objects.filter(pk=_int(action.get("stage")) or 0).first()
            if target is None:
                raise ApiError(
                    {
                        f"{field}.stage": [
                            _("There is no stage with the id %(id)s.") % {"id": action.get("stage")}
                        ]
                    },
                    Code.UNKNOWN_STAGE,
                )
        elif kind == "webhook":
            try:
                outbound.check_url(str(action.get("url") or ""))
            except outbound.OutboundRefused as exc:
                raise ApiError(
                    {f"{field}.url": [_("Otdel does not send to this address: %(why)s.") % {"why": exc}]},
                    Code.URL_NOT_ALLOWED,
                ) from exc
            if not str(action.get("secret") or ""):
                raise ApiError(
                    {f"{field}.secret": [_("A webhook needs a secret to sign with.")]}, Code.INVALID
                )
        elif kind == "send_email":
            outside.check_send_email(action, field)
        elif kind == "generate_document":
            outside.check_generate_document(action, field)
        elif kind == "start_approval":
            outside.check_start_approval(action, field)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _validate_conditions(conditions: Any, field: str) -> None:
    if not isinstance(conditions, list):
        raise ApiError({field: [_("A list of conditions.")]}, Code.INVALID)
    for n, cond in enumerate(conditions):
        name = f"{field}[{n}]"
        if not isinstance(cond, dict):
            raise ApiError({name: [_("A condition is an object.")]}, Code.INVALID)
        if "any" in cond or "all" in cond:
            _validate_conditions(
                cond.get("any", cond.get("all")), f"{name}.{'any' if 'any' in cond else 'all'}"
            )
            continue
        if str(cond.get("field") or "").startswith(CUSTOM_PREFIX):
            code = str(cond["field"])[len(CUSTOM_PREFIX) :]
            if not CustomField.objects.filter(code=code, entity__in=list(FIELDS), is_active=True).exists():
                raise ApiError(
                    {
                        f"{name}.field": [
                            _("There is no custom field “%(code)s” on deals or leads.") % {"code": code}
                        ]
                    },
                    Code.UNKNOWN_FIELD,
                )
        elif cond.get("field") not in ANY_FIELDS:
            raise ApiError(
                {f"{name}.field": [_("Unknown field “%(f)s”.") % {"f": cond.get("field")}]},
                Code.UNKNOWN_FIELD,
            )
        if cond.get("op") not in OPERATORS:
            raise ApiError(
                {f"{name}.op": [_("Unknown operator “%(op)s”.") % {"op": cond.get("op")}]},
                Code.UNKNOWN_OPERATOR,
            )


# --- subjects and conditions ------------------------------------------------------------------


def subject_record(subject_type: str, subject_id: int | None) -> Deal | Lead | Contact | Task | None:
    """The record the actions act on: a deal, a lead, a contact or a task (an interaction's lead or
    contact; an SLA timer's lead or deal)."""
    if subject_id is None:
        return None
    if subject_type == "deal":
        return (
            Deal.objects.select_related("contact", "responsible", "pipeline", "stage")
            .filter(pk=subject_id)
            .first()
        )
    if subject_type == "lead":
        return Lead.objects.select_related("contact", "responsible").filter(pk=subject_id).first()
    if subject_type == "contact":
        return Contact.objects.filter(pk=subject_id).first()
    if subject_type == "task":
        return Task.objects.select_related("deal", "lead", "contact").filter(pk=subject_id).first()
    if subject_type == "interaction":
        from otdel.comms.models import Interaction

        interaction = Interaction.objects.select_related("lead", "contact").filter(pk=subject_id).first()
        if interaction is None:
            return None
        return interaction.lead or interaction.contact
    if subject_type == "document":
        from otdel.documents.models import Document

        document = Document.objects.select_related("deal").filter(pk=subject_id).first()
        return document.deal if document else None
    if subject_type == "timer":
        from otdel.automation.models import SlaTimer

        timer = SlaTimer.objects.select_related("lead", "deal", "task").filter(pk=subject_id).first()
        return (timer.deal or timer.lead or timer.task) if timer else None
    return None


def subject_fields(record: Any) -> dict[str, Any]:
    fields = _subject_fields(record)
    if isinstance(record, (Deal, Lead)):
        fields.update({CUSTOM_PREFIX + code: value for code, value in (record.custom or {}).items()})
    return fields


def _subject_fields(record: Any) -> dict[str, Any]:
    if isinstance(record, Deal):
        lead = Lead.objects.filter(deal=record).order_by("id").first()
        return {
            "amount": record.amount,
            "title": record.title,
            "stage": record.stage_id,
            "pipeline": record.pipeline_id,
            "responsible": record.responsible_id,
            "company": record.company_id,
            "contact": record.contact_id,
            "source": lead.source if lead else "",
            "channel": lead.channel if lead else "",
        }
    if isinstance(record, Lead):
        return {
            "source": record.source,
            "channel": record.channel,
            "status": record.status,
            "verdict": record.verdict,
            "responsible": record.responsible_id,
            "contact": record.contact_id,
            "comment": record.comment,
            "utm_source": getattr(record, "utm_source", ""),
        }
    return {}


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, bool):  # a checkbox custom field: true/false, however the rule wrote it
        actual = "true" if actual else "false"
        expected = str(expected).lower()
    if isinstance(actual, list) and op in ("eq", "ne", "contains"):  # a multi-list: holds the option?
        held = str(expected) in [str(v) for v in actual]
        return held if op != "ne" else not held
    if op == "empty":
        return actual in (None, "", [])
    if op == "not_empty":
        return actual not in (None, "", [])
    if op in ("in", "not_in"):
        values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
        return (str(actual) in values) == (op == "in")
    if op == "contains":
        return str(expected).lower() in str(actual or "").lower()
    if op in ("gt", "gte", "lt", "lte"):
        try:
            a, b = Decimal(str(actual)), Decimal(str(expected))
        except (InvalidOperation, ValueError):
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    equal = str(actual) == str(expected)
    if not equal and isinstance(actual, (int, Decimal)):
        with contextlib.suppress(InvalidOperation, ValueError):
            equal = Decimal(str(actual)) == Decimal(str(expected))
    return equal if op == "eq" else not equal


def conditions_hold(
    conditions: list[dict[str, Any]], fields: dict[str, Any], *, any_of: bool = False
) -> bool:
    """A list is AND (``{"all": [...]}`` the same), ``{"any": [...]}`` is OR; they nest."""
    results = []
    for cond in conditions:
        if "any" in cond:
            results.append(conditions_hold(cond["any"], fields, any_of=True))
        elif "all" in cond:
            results.append(conditions_hold(cond["all"], fields))
        else:
            results.append(_compare(fields.get(cond["field"]), cond["op"], cond.get("value")))
    if not results:
        return True
    return any(results) if any_of else all(results)


def trigger_matches(rule: Rule, payload: dict[str, Any]) -> bool:
    """The trigger's filters (``stage`` for a stage trigger, any other key equal to the event's)."""
    for key, value in rule.trigger.items():
        if key == "event":
            continue
        actual = payload.get("to_stage") if key == "stage" else payload.get(key)
        if str(actual) != str(value):
            return False
    return True


# --- matching and running ----------------------------------------------------------------------


def rules_match(
    *, event: str, payload: dict[str, Any], subject_type: str, subject_id: int | None, occurrence: str
) -> int:
    """Make the due runs of every active rule this event triggers; returns how many were new."""
    now = timezone.now()
    made = 0
    for rule in Rule.objects.filter(is_active=True, event=event, paused_reason=""):
        if not trigger_matches(rule, payload):
            continue
        # Without a delay the run is due at once, whatever the hour: working time counts the delay
        # (and a task's due time), it does not hold back a rule that has none.
        due = (
            add_minutes(now, rule.delay_minutes, working_time=rule.working_time)
            if rule.delay_minutes
            else now
        )
        try:
            with transaction.atomic():
                RuleRun.objects.create(
                    rule=rule,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    occurrence=occurrence,
                    event=event,
                    payload=payload,
                    due_at=due,
                )
                made += 1
        except IntegrityError:
            continue  # this occurrence was matched already (a redelivered event)
    return made


def outbox_drain(*, limit: int = 1000) -> int:
    """Match the queued events (``EventOutbox``) one by one, each claimed under a row lock other
    workers skip and deleted in the same transaction as its runs and clocks; returns how many."""
    from otdel.automation.models import EventOutbox
    from otdel.automation.sla import sla_on_event

    done = 0
    while done < limit:
        with transaction.atomic():
            row = EventOutbox.objects.select_for_update(skip_locked=True).order_by("id").first()
            if row is None:
                return done
            rules_match(
                event=row.event,
                payload=row.payload,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                occurrence=row.occurrence,
            )
            sla_on_event(event=row.event, payload=row.payload)
            row.delete()
            done += 1
    return done


def runs_drain(*, now: datetime.datetime | None = None, worker: str = "", limit: int = 1000) -> int:
    """Run due runs one by one, each claimed under a row lock other workers skip; returns how many ran."""
    worker = worker or socket.gethostname()
    done = 0
    while done < limit:
        with transaction.atomic():
            run = (
                RuleRun.objects.select_for_update(skip_locked=True)
                .filter(outcome=RuleRun.Outcome.PENDING, due_at__lte=now or timezone.now())
                .order_by("due_at", "id")
                .first()
            )
            if run is None:
                return done
            _run(run, worker)
            done += 1
    return done


def _run(run: RuleRun, worker: str) -> None:
    from otdel.automation.targets import missing_target

    rule = Rule.objects.get(pk=run.rule_id)
    outcome, reason = RuleRun.Outcome.DONE, ""
    record = subject_record(run.subject_type, run.subject_id)
    missing = missing_target(rule) if rule.is_active and not rule.paused_reason else ""
    if missing:
        rule_pause(rule, missing)
    if not rule.is_active or rule.paused_reason:
        outcome, reason = RuleRun.Outcome.SKIPPED, rule.paused_reason or _("the rule was switched off")
    elif record is None:
        outcome, reason = RuleRun.Outcome.SKIPPED, _("the record no longer exists")
    elif not conditions_hold(rule.conditions, subject_fields(record)):
        outcome, reason = RuleRun.Outcome.SKIPPED, _("the conditions did not hold")
    else:
        notes, refused = [], 0
        try:
            with transaction.atomic():
                for n, action in enumerate(rule.actions):
                    try:
                        with transaction.atomic():
                            notes.append(
                                perform(
                                    action,
                                    record=record,
                                    key=f"rule-run:{run.pk}:{n}",
                                    working_time=rule.working_time,
                                    about={
                                        "rule": rule.pk,
                                        "run": run.pk,
                                        "event": run.event,
                                        "subject": {"type": run.subject_type, "id": run.subject_id},
                                        "payload": run.payload,
                                    },
                                )
                            )
                    except outside.ActionRefused as refusal:
                        # Not a failure: this action must not be done to this record (no consent...).
                        notes.append(str(refusal))
                        refused += 1
            reason = "; ".join(n for n in notes if n)
            if refused == len(rule.actions):
                outcome = RuleRun.Outcome.SKIPPED
        except Exception as exc:
            logger.warning("rule %s run %s failed: %s", rule.pk, run.pk, exc)
            outcome, reason = RuleRun.Outcome.FAILED, str(exc)[:1000] or exc.__class__.__name__
    run.outcome, run.reason, run.finished_at, run.worker = outcome, reason, timezone.now(), worker[:100]
    run.save(update_fields=["outcome", "reason", "finished_at", "worker", "updated_at"])
    if outcome == RuleRun.Outcome.FAILED:
        pause_if_failing(rule, reason)


def pause_if_failing(rule: Rule, reason: str) -> None:
    """A rule whose last ``PAUSE_AFTER_FAILURES`` runs all failed is paused; administrators are told."""
    last = list(
        RuleRun.objects.filter(rule=rule)
        .exclude(outcome=RuleRun.Outcome.PENDING)
        .order_by("-finished_at", "-id")
        .values_list("outcome", flat=True)[:PAUSE_AFTER_FAILURES]
    )
    if len(last) < PAUSE_AFTER_FAILURES or any(o != RuleRun.Outcome.FAILED for o in last):
        return
    rule_pause(rule, _("failed %(n)s times in a row: %(why)s") % {"n": PAUSE_AFTER_FAILURES, "why": reason})


def rule_pause(rule: Rule, reason: str) -> None:
    """Pause ``rule`` with ``reason`` shown on it; every administrator is told (once per pause)."""
    if rule.paused_reason:
        return
    rule.paused_reason = reason[:255]
    rule.save(update_fields=["paused_reason", "updated_at"])
    for admin in User.objects.filter(role=Role.ADMIN, is_active=True):
        with override(admin.language or None):  # the reason stays as written; the frame is theirs
            title = _("Rule “%(name)s” paused: %(why)s") % {"name": rule.name, "why": rule.paused_reason}
        notify(
            user=admin,
            kind=Notification.Kind.AUTOMATION,
            key=f"rule-paused:{rule.pk}:{rule.updated_at.isoformat()}",
            title=title,
            url=reverse("automation_rule", args=[rule.pk]),
        )


def tasks_overdue_emit(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Emit ``task.overdue`` once per open task whose due time passed (within the last day, so a first
    run does not replay years of history); returns how many."""
    from otdel.automation.models import TaskOverdueMark
    from otdel.core.events import TaskOverdue, emit

    now = now or timezone.now()
    due = (
        Task.objects.filter(
            done_at__isnull=True, due_at__lt=now, due_at__gte=now - datetime.timedelta(days=1)
        )
        .exclude(pk__in=TaskOverdueMark.objects.values("task_id"))
        .values_list("pk", flat=True)[:limit]
    )
    emitted = 0
    for task_id in list(due):
        try:
            with transaction.atomic():
                TaskOverdueMark.objects.create(task_id=task_id)
                emit(TaskOverdue(task_id=task_id))
                emitted += 1
        except IntegrityError:
            continue  # another worker marked it
    return emitted


def _responsible(record: Any) -> User | None:
    return getattr(record, "responsible", None) or getattr(record, "assignee", None)


def card_url(record: Any) -> str:
    if isinstance(record, Deal):
        return reverse("deal_detail", args=[record.pk])
    if isinstance(record, Lead):
        return reverse("lead_detail", args=[record.pk])
    contact_id = getattr(record, "contact_id", None) or (record.pk if isinstance(record, Contact) else None)
    return reverse("contact_detail", args=[contact_id]) if contact_id else ""


def perform(
    action: dict[str, Any], *, record: Any, key: str, working_time: bool, about: dict[str, Any]
) -> str:
    """Carry out one action on ``record``; returns a note for the log. Raises on failure.

    ``key`` names this action of this run (a notification is sent once per key); ``about`` is what
    a webhook is told (the rule and run, or the SLA timer)."""
    from otdel.crm import services as crm

    kind = action["action"]
    if kind == "task":
        assignee = (
            _responsible(record)
            if action.get("assignee", "responsible") == "responsible"
            else _user(action["assignee"], "assignee")
        )
        due = add_minutes(timezone.now(), _int(action.get("due_in_minutes")) or 0, working_time=working_time)
        links: dict[str, Any] = {}
        if isinstance(record, Deal):
            links = {"deal": record, "contact": record.contact}
        elif isinstance(record, Lead):
            links = {"lead": record, "contact": record.contact}
        elif isinstance(record, Contact):
            links = {"contact": record}
        elif isinstance(record, Task):
            links = {"deal": record.deal, "lead": record.lead, "contact": record.contact}
        task = crm.task_create(actor=None, title=action["title"], assignee=assignee, due_at=due, **links)
        return _("task #%(id)s") % {"id": task.pk}
    if kind == "notify":
        to = action.get("to")
        if to == "responsible":
            people = [u for u in [_responsible(record)] if u is not None]
        elif to == "head_of_sales":
            people = list(User.objects.filter(role=Role.HEAD_OF_SALES, is_active=True))
        else:
            people = [_user(to, "to")]
        for someone in people:
            notify(
                user=someone,
                kind=Notification.Kind.AUTOMATION,
                key=key,
                title=f"{action['text']} — {record}",
                url=card_url(record),
                contact=getattr(record, "contact", None) if not isinstance(record, Contact) else record,
            )
        return _("notified %(n)s") % {"n": len(people)}
    if kind == "assign":
        from otdel.routing.models import Queue
        from otdel.routing.services import queue_next_member

        queue = Queue.objects.filter(code=str(action["queue"])).first()
        if queue is None:
            raise ValueError(_("the queue “%(code)s” no longer exists") % {"code": action["queue"]})
        person = queue_next_member(queue=queue, exclude=_responsible(record))
        if person is None:
            raise ValueError(_("nobody in the queue “%(code)s” is at work") % {"code": queue.code})
        if isinstance(record, Deal):
            crm.deal_update(actor=None, deal=record, responsible=person)
        elif isinstance(record, Lead):
            crm.lead_update(actor=None, lead=record, responsible=person)
        else:
            raise ValueError(_("only a lead or a deal can be handed over"))
        return _("handed to %(who)s") % {"who": person.full_name or person.username}
    if kind == "move_stage":
        if not isinstance(record, Deal):
            raise ValueError(_("only a deal moves between stages"))
        stage = Stage.objects.filter(pk=_int(action["stage"]) or 0).first()
        if stage is None:
            raise ValueError(_("the stage %(id)s no longer exists") % {"id": action["stage"]})
        crm.deal_move(actor=None, deal=record, stage=stage)
        return _("moved to %(stage)s") % {"stage": stage.name}
    if kind == "webhook":
        return outside.do_webhook(action, key=key, about=about)
    if kind == "send_email":
        return outside.do_send_email(action, record=record, responsible=_responsible(record))
    if kind == "generate_document":
        return outside.do_generate_document(action, record=record)
    if kind == "start_approval":
        return outside.do_start_approval(action, record=record)
    raise ValueError(_("the action “%(a)s” is not available") % {"a": kind})


def dry_run(rule: Rule, *, limit: int = 20) -> list[dict[str, Any]]:
    """ "Try on past records": the last ``limit`` records the trigger is about (deals that entered the
    rule's stage and are still there, the latest deals or leads), with what the rule would do to
    each. Changes nothing."""
    kind = rule.event.split(".", 1)[0]
    records: list[Any]
    if kind == "deal":
        deals = Deal.objects.select_related("contact", "responsible", "stage")
        if rule.stage_id:
            deals = deals.filter(stage_id=rule.stage_id)
        records = list(deals.order_by("-updated_at", "-id")[:limit])
    elif kind == "lead":
        records = list(
            Lead.objects.select_related("contact", "responsible").order_by("-created_at", "-id")[:limit]
        )
    else:
        return []
    plan = ", ".join(_describe(a) for a in rule.actions)
    result = []
    for record in records:
        holds = conditions_hold(rule.conditions, subject_fields(record))
        result.append(
            {
                "record": record,
                "type": kind,
                "outcome": RuleRun.Outcome.DONE if holds else RuleRun.Outcome.SKIPPED,
                "what": plan if holds else _("the conditions did not hold"),
            }
        )
    return result


def _describe(action: dict[str, Any]) -> str:
    kind = action.get("action")
    if kind == "task":
        return _("task “%(title)s”") % {"title": action.get("title", "")}
    if kind == "notify":
        return _("notification “%(text)s”") % {"text": action.get("text", "")}
    if kind == "assign":
        return _("hand over through the queue “%(code)s”") % {"code": action.get("queue", "")}
    if kind == "move_stage":
        stage = Stage.objects.filter(pk=_int(action.get("stage")) or 0).first()
        return _("move to %(stage)s") % {"stage": stage.name if stage else action.get("stage")}
    if kind == "webhook":
        return _("webhook %(url)s") % {"url": action.get("url", "")}
    if kind == "send_email":
        return _("e-mail “%(subject)s”") % {"subject": action.get("subject", "")}
    if kind == "generate_document":
        return _("document from template %(id)s") % {"id": action.get("template", "")}
    if kind == "start_approval":
        return _("approval by route %(id)s") % {"id": action.get("route", "")}
    return str(kind)
