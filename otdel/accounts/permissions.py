"""Who may do what, by role: the one module views, the API and templates ask.

Row-level access (which records) is ``otdel.core.scoping.scope``; these predicates answer the
model-level questions ("may this person manage routing at all?"). Each takes any user object,
anonymous included, and answers False for anyone not signed in and active.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

from otdel.accounts.models import Role, User
from otdel.core.scoping import scope_rule

# Who marks contacts non-target and works the non-target inbox.
NON_TARGET_ROLES = frozenset({Role.HEAD_OF_SALES, Role.OFFICE_MANAGER, Role.CALL_CENTER})
# Who may overrule a triage verdict (restore a non-target contact): supervisors, not the call center.
OVERRULE_ROLES = frozenset({Role.HEAD_OF_SALES, Role.OFFICE_MANAGER})


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def is_admin(user: Any) -> bool:
    return _active(user) and bool(user.is_admin)


def is_head_of_sales(user: Any) -> bool:
    return _active(user) and user.role == Role.HEAD_OF_SALES


def may_manage_routing(user: Any) -> bool:
    """Queues, routing settings, the decision log, the what-if tester, absences of the team."""
    return is_admin(user) or is_head_of_sales(user)


def may_configure_sales(user: Any) -> bool:
    """Pipelines and stages, custom fields: administrators and the head of sales."""
    return is_admin(user) or is_head_of_sales(user)


def may_handle_non_target(user: Any) -> bool:
    return is_admin(user) or (_active(user) and user.role in NON_TARGET_ROLES)


def may_overrule_triage(user: Any) -> bool:
    return is_admin(user) or (_active(user) and user.role in OVERRULE_ROLES)


def may_see_triage(user: Any) -> bool:
    """The lead inbox: administrators, the head of sales and the triage roles."""
    return is_admin(user) or is_head_of_sales(user) or (_active(user) and user.is_triage)


def may_sell(user: Any) -> bool:
    """Deals, the kanban, the sales lists."""
    return is_admin(user) or (_active(user) and user.is_sales)


def may_see_team(user: Any) -> bool:
    """Other people's inboxes and work: administrators, and the head of sales for their department."""
    return may_manage_routing(user)


def may_integrate(user: Any) -> bool:
    """PBXs and scripts use a technical user with role "integration"; administrators may too."""
    return _active(user) and (user.role == Role.INTEGRATION or user.is_admin)


PREDICATES = {
    "admin": is_admin,
    "head_of_sales": is_head_of_sales,
    "manage_routing": may_manage_routing,
    "configure_sales": may_configure_sales,
    "handle_non_target": may_handle_non_target,
    "overrule_triage": may_overrule_triage,
    "see_triage": may_see_triage,
    "sell": may_sell,
    "see_team": may_see_team,
    "integrate": may_integrate,
}


def may(user: Any, what: str) -> bool:
    """``may(user, "manage_routing")``: the predicate by name (for templates: ``user|may:"..."``)."""
    return PREDICATES[what](user)


@scope_rule(User)
def _scope_users(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    """Which people a user may see or act for.

    - ``view`` (user administration): administrators only.
    - ``manage`` (absences): administrators everyone but technical users, the head of sales their
      department and themselves; nobody else.
    - ``inbox`` (whose Inbox one may open): the active ones of ``manage``, and everyone their own.
    """
    if action == "view":
        return qs if is_admin(user) else qs.none()
    people = qs.exclude(role=Role.INTEGRATION)
    if is_admin(user):
        managed = people
    elif is_head_of_sales(user):
        team = Q(pk=user.pk)
        if user.department_id is not None:
            team |= Q(department_id=user.department_id)
        managed = people.filter(team)
    else:
        managed = people.none()
    if action == "inbox":
        return (managed | people.filter(pk=user.pk)).filter(is_active=True)
    return managed


def signed_in(request: HttpRequest | Request) -> User:
    """The request's user as the ``User`` services take (views behind login/auth checks only)."""
    user = request.user
    if not isinstance(user, User) or not user.is_active:
        raise PermissionDenied
    return user
