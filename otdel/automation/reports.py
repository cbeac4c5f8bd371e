"""The SLA report's figures, plugged into the reports section (``sla_provider_register``).

A clock counts in the period it started in; running clocks are not counted yet. A clock is *met*
when the response (or the stage move) came before its deadline, *breached* otherwise. The person is
who had to act (an approval step's approver, a department request's assignee: ``SlaTimer.person``),
else the responsible of the clock's deal or lead now. ``late`` of a breach is how long past the deadline
the response came (``met_at`` of a breached clock), or until now while it still has not come.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from otdel.automation.models import SlaPolicy, SlaTimer
from otdel.core.scoping import scope

DONE = (SlaTimer.State.MET, SlaTimer.State.BREACHED)
LONGEST = 20


def _timers(user: Any, filters: Any) -> Any:  # a QuerySet[SlaTimer] annotated with who_id (who had to act)
    """Finished clocks of the period whose person ``user`` may see figures of."""
    from otdel.reports.selectors import period_q, report_people

    timers = SlaTimer.objects.filter(period_q("started_at", filters), state__in=DONE).annotate(
        who_id=Coalesce(F("person_id"), F("deal__responsible_id"), F("lead__responsible_id"))
    )
    if filters.manager is not None or not user.is_admin:
        people = report_people(user, filters.manager).values("pk")
        timers = timers.filter(who_id__in=people)
    return timers


def _compliance(met: int, breached: int) -> float | None:
    return round(met / (met + breached), 4) if met + breached else None


def _row(key: dict[str, Any], met: int, breached: int) -> dict[str, Any]:
    return {**key, "met": met, "breached": breached, "compliance": _compliance(met, breached)}


def sla_figures(user: Any, filters: Any) -> dict[str, Any]:
    """Met / breached by policy and person, totals per policy and per person, the longest breaches."""
    from otdel.accounts.models import User

    timers = _timers(user, filters)
    cells: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0, 0])
    for policy_id, person_id, state in timers.values_list("policy_id", "who_id", "state").order_by():
        cells[(policy_id, person_id)][0 if state == SlaTimer.State.MET else 1] += 1
    policies = dict(SlaPolicy.objects.filter(pk__in={p for p, _ in cells}).values_list("pk", "name"))
    people = {
        u.pk: u.get_full_name() for u in User.objects.filter(pk__in={p for _, p in cells if p is not None})
    }

    def person_name(pk: int | None) -> str:
        return people.get(pk, "") if pk else ""

    rows = [
        _row(
            {
                "policy": policies.get(policy_id, ""),
                "policy_id": policy_id,
                "person": person_name(person_id),
                "person_id": person_id,
            },
            met,
            breached,
        )
        for (policy_id, person_id), (met, breached) in sorted(
            cells.items(), key=lambda kv: (policies.get(kv[0][0], ""), person_name(kv[0][1]))
        )
    ]
    by_policy: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_person: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for (policy_id, person_id), (met, breached) in cells.items():
        by_policy[policy_id][0] += met
        by_policy[policy_id][1] += breached
        by_person[person_id][0] += met
        by_person[person_id][1] += breached
    now = timezone.now()
    longest = []
    breaches = (
        timers.filter(state=SlaTimer.State.BREACHED)
        .annotate(until=Coalesce(F("met_at"), Value(now)))
        .order_by(F("due_at") - F("until"), "id")
        .select_related("policy", "lead__contact", "deal")[:LONGEST]
    )
    for timer in breaches:
        until = timer.met_at or now
        record = timer.deal or timer.lead
        longest.append(
            {
                "timer": timer.pk,
                "policy": timer.policy.name,
                "policy_id": timer.policy_id,
                "person": person_name(timer.who_id),  # type: ignore[attr-defined]
                "person_id": timer.who_id,  # type: ignore[attr-defined]
                "record": "deal" if timer.deal_id else "lead",
                "record_id": record.pk if record else None,
                "title": str(record) if record else "",
                "started_at": timer.started_at.isoformat(),
                "due_at": timer.due_at.isoformat(),
                "answered_at": timer.met_at.isoformat() if timer.met_at else None,
                "late": int((until - timer.due_at).total_seconds()),
            }
        )
    return {
        "rows": rows,
        "by_policy": [
            _row({"policy": policies.get(pk, ""), "policy_id": pk}, met, breached)
            for pk, (met, breached) in sorted(by_policy.items(), key=lambda kv: policies.get(kv[0], ""))
        ],
        "by_person": [
            _row({"person": person_name(pk), "person_id": pk}, met, breached)
            for pk, (met, breached) in sorted(by_person.items(), key=lambda kv: person_name(kv[0]))
        ],
        "longest": longest,
    }


def sla_records(user: Any, filters: Any) -> tuple[str, QuerySet[Any]] | None:
    """The leads or deals behind one SLA figure (``policy``, ``user``, ``state`` in the drill-down's
    parameters), through the record scope."""
    from otdel.crm.models import Deal, Lead

    x = filters.extra
    policy = SlaPolicy.objects.filter(pk=_int(x.get("policy")) or 0).first()
    if policy is None:
        return None
    timers = _timers(user, filters).filter(policy=policy)
    if x.get("state") in DONE:
        timers = timers.filter(state=x["state"])
    person = x.get("user")
    if person == "none":
        timers = timers.filter(who_id__isnull=True)
    elif _int(person) is not None:
        timers = timers.filter(who_id=_int(person))
    if policy.target == SlaPolicy.Target.STAGE_TIME:
        return "deals", scope(Deal.objects.all(), user).filter(
            Q(pk__in=timers.filter(deal__isnull=False).values("deal_id"))
        )
    return "leads", scope(Lead.objects.all(), user).filter(
        Q(pk__in=timers.filter(lead__isnull=False).values("lead_id"))
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
