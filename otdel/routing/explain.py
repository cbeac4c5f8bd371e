"""Why traffic went where it went, in one sentence a head of sales understands: the reading of
``decide``'s recorded rule (``RuleRef``), beside it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.routing.decide import RuleRef
from otdel.routing.models import Queue, RoutingDecision


def _name(user: Any) -> str:
    return user.get_full_name() if user is not None else _("nobody")


def explain(
    *,
    reason: str,
    rule: str,
    user: Any = None,
    queue: Queue | None = None,
    people: dict[int, Any] | None = None,
) -> str:
    """One sentence a head of sales understands: why the traffic went where it went.

    ``rule`` is what ``routing_decide`` recorded ("deal:12:backup_of:5", "queue:sales:duty", ...);
    ``people`` names the users a rule mentions by id (the absent owner).
    """
    people = people or {}
    ref = RuleRef.parse(rule)

    def person(user_id: int | None) -> str:
        return _name(people.get(user_id)) if user_id is not None else _("the owner")

    queue_name = queue.name if queue is not None else (ref.queue or "—")
    who = _name(user)
    if reason == RoutingDecision.Reason.NON_TARGET:
        if ref.source == "settings.non_target_user":
            return _("Non-target contact: goes to %(user)s, who handles non-target traffic.") % {"user": who}
        if ref.source == "queue":
            if user is not None:
                return _("Non-target contact: goes to the non-target queue “%(queue)s”, to %(user)s.") % {
                    "queue": queue_name,
                    "user": who,
                }
            return _("Non-target contact: goes to the non-target queue “%(queue)s”.") % {"queue": queue_name}
        return _(
            "Non-target contact, but no non-target destination is set: goes to the fallback person %(user)s."
        ) % {"user": who}
    if reason == RoutingDecision.Reason.OPEN_DEAL:
        deal = ref.deal if ref.deal is not None else "?"
        if ref.backup_of is not None:
            return _(
                "Open deal #%(deal)s: its owner %(owner)s is away, so their backup %(user)s takes it."
            ) % {
                "deal": deal,
                "owner": person(ref.backup_of),
                "user": who,
            }
        return _("Open deal #%(deal)s: its owner %(user)s is at work.") % {"deal": deal, "user": who}
    if reason == RoutingDecision.Reason.CONTACT_OWNER:
        if ref.source == "owner_next_morning":
            return _(
                "Known client: their responsible %(user)s is off now and nobody in the team can take it, "
                "so it waits for them the next working morning."
            ) % {"user": who}
        if ref.backup_of is not None:
            return _(
                "Known client: the responsible %(owner)s is away, so their backup %(user)s takes it."
            ) % {
                "owner": person(ref.backup_of),
                "user": who,
            }
        return _("Known client: their responsible %(user)s is at work.") % {"user": who}
    if reason == RoutingDecision.Reason.QUEUE:
        prefix = ""
        if ref.owner_off_shift is not None:
            prefix = _("The responsible %(owner)s is not at work. ") % {"owner": person(ref.owner_off_shift)}
        if ref.fallback == "duty":
            text = _("Nobody in queue “%(queue)s” is at work: the duty person %(user)s takes it.")
        elif ref.fallback == "voicemail":
            text = _("Nobody in queue “%(queue)s” is at work: the call goes to voicemail %(voicemail)s.")
        elif ref.fallback == "next_morning":
            text = _("Nobody in queue “%(queue)s” is at work: %(user)s gets it for the next working morning.")
        elif user is not None:
            text = _("Queue “%(queue)s” (%(strategy)s): it was %(user)s's turn.")
        else:
            text = _("Queue “%(queue)s” (%(strategy)s): the next member at work takes it.")
        strategy = queue.get_strategy_display() if queue is not None else ""
        voicemail = queue.voicemail if queue is not None else ""
        return prefix + text % {
            "queue": queue_name,
            "user": who,
            "strategy": strategy,
            "voicemail": voicemail,
        }
    if reason == RoutingDecision.Reason.FALLBACK:
        if user is None:
            return _("No rule matched and no fallback person is set: nobody gets it.")
        return _("No rule matched (unknown client, no usable queue): the fallback person %(user)s.") % {
            "user": who
        }
    return rule or reason


def people_in_rules(rules: Iterable[str]) -> dict[int, Any]:
    """The users the rules name by id (an absent owner), for ``explain``."""
    ids: set[int] = set()
    for rule in rules:
        ref = RuleRef.parse(rule)
        ids.update(i for i in (ref.backup_of, ref.owner_off_shift) if i is not None)
    return User.objects.in_bulk(ids) if ids else {}
