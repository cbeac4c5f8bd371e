"""Reads of CRM records, always through ``scope``; also the scoping rules for CRM models."""

from __future__ import annotations

import itertools
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest

from otdel.accounts.models import Role
from otdel.accounts.permissions import may_configure_sales
from otdel.core.identity import IdentityKind, guess_identity
from otdel.core.models import ObjectChange
from otdel.core.scoping import scope, scope_rule
from otdel.crm.models import (
    Company,
    Contact,
    CustomField,
    Deal,
    Identity,
    Lead,
    LostReason,
    Note,
    Pipeline,
    SearchEntry,
    Stage,
    Task,
    Verdict,
)
from otdel.crm.search import reversed_digits


def _department_users_q(user: Any, field: str) -> Q:
    """Records whose ``field`` user is in the head's department, or unassigned."""
    if user.department_id is None:
        return Q()
    return (
        Q(**{f"{field}__department_id": user.department_id})
        | Q(**{f"{field}__isnull": True})
        | Q(**{field: user})
    )


@scope_rule(Deal)
def _scope_deals(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    if user.role == Role.HEAD_OF_SALES:
        return qs.filter(_department_users_q(user, "responsible"))
    if user.role == Role.SALES_MANAGER:
        return qs.filter(responsible=user)
    if user.role == Role.APPROVER and action == "view":
        # The deals of what they decide on or their department was asked about (otdel/approvals).
        from otdel.approvals.selectors import approver_deal_ids

        return qs.filter(pk__in=approver_deal_ids(user))
    return qs.none()


@scope_rule(Lead)
def _scope_leads(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    target = ~Q(verdict=Verdict.NON_TARGET) & Q(contact__non_target=False)
    if user.role == Role.HEAD_OF_SALES:
        return qs.filter(target & _department_users_q(user, "responsible"))
    if user.role == Role.SALES_MANAGER:
        return qs.filter(target, responsible=user)
    if user.is_triage:
        return qs.filter(Q(verdict="") | Q(verdict=Verdict.NON_TARGET) | Q(contact__non_target=True))
    return qs.none()


@scope_rule(Contact)
def _scope_contacts(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    if user.role == Role.HEAD_OF_SALES:
        if user.department_id is None:
            return qs.filter(non_target=False)
        in_department = Q(responsible__department_id=user.department_id) | Q(responsible__isnull=True)
        deals = Deal.objects.filter(contact=OuterRef("pk"), responsible__department_id=user.department_id)
        return qs.filter(Q(non_target=False) & (in_department | Exists(deals)))
    if user.role == Role.SALES_MANAGER:
        own_deals = Deal.objects.filter(contact=OuterRef("pk"), responsible=user)
        own_leads = Lead.objects.filter(contact=OuterRef("pk"), responsible=user)
        return qs.filter(Q(non_target=False) & (Q(responsible=user) | Exists(own_deals) | Exists(own_leads)))
    if user.is_triage:
        untriaged = Lead.objects.filter(contact=OuterRef("pk"), verdict="")
        return qs.filter(Q(non_target=True) | Q(responsible__isnull=True) | Exists(untriaged))
    return qs.none()


@scope_rule(Company)
def _scope_companies(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    if user.is_admin:
        return qs
    if user.role == Role.HEAD_OF_SALES and user.department_id is None:
        return qs
    visible_contacts = scope(Contact.objects.all(), user, action).filter(company=OuterRef("pk"))
    visible_deals = scope(Deal.objects.all(), user, action).filter(company=OuterRef("pk"))
    own = Q(responsible=user)
    if user.role == Role.HEAD_OF_SALES:
        own = _department_users_q(user, "responsible")
    elif user.is_triage:
        own = Q(pk__in=[])
    return qs.filter(own | Exists(visible_contacts) | Exists(visible_deals))


@scope_rule(Pipeline)
def _scope_pipelines(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    """Everyone reads pipelines; administrators and the head of sales change them (settings)."""
    if action == "view" or may_configure_sales(user):
        return qs
    return qs.none()


@scope_rule(CustomField)
def _scope_custom_fields(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return _scope_pipelines(qs, user, action)


@scope_rule(Stage)
def _scope_stages(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    return _scope_pipelines(qs, user, action)


# --- lists -----------------------------------------------------------------------------------


def contact_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Contact]:
    qs = scope(Contact.objects.filter(merged_into__isnull=True), user)
    filters = filters or {}
    identity = filters.get("identity")
    if identity:
        qs = qs.filter(pk__in=_contacts_by_identity_text(identity))
    return qs.select_related("company", "responsible").prefetch_related("identities")


def contact_by_identity(*, kind: str, value: str) -> Contact | None:
    """Identity resolution: who is this phone/e-mail/chat (unscoped; for channels and routing).

    A phone nobody holds exactly may still be the same line with or without an extension (see
    ``phone_same_line``).
    """
    identity = Identity.objects.select_related("contact").filter(kind=kind, value=value).first()
    if identity is None and kind == IdentityKind.PHONE:
        line = phone_same_line(value)
        if line is not None:
            identity = Identity.objects.select_related("contact").filter(kind=kind, value=line).first()
    if identity is None:
        return None
    contact = identity.contact
    while contact.merged_into_id is not None:  # follow merges to the surviving contact
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return contact


def phone_same_line(value: str) -> str | None:
    """The stored phone that is ``value``'s line with or without an extension, when unambiguous.

    A PBX sends a company's main number ("+74951234567") for a person stored with their extension
    ("+74951234567;ext=123"), and sometimes the reverse. When exactly one contact holds the line in
    the other form, that identity's value is returned; when nobody or several people do (two
    extensions of one office), ``None``: guessing would hand one person's call to another.
    """
    base, _sep, extension = value.partition(";ext=")
    if extension:
        found = list(
            Identity.objects.filter(kind=IdentityKind.PHONE, value=base).values_list("value", "contact_id")
        )
    else:
        found = list(
            Identity.objects.filter(
                kind=IdentityKind.PHONE,
                search_entry__kind=SearchEntry.Kind.PHONE,
                search_entry__digits=reversed_digits(base),
                value__startswith=f"{base};ext=",
            ).values_list("value", "contact_id")[:20]
        )
    if not found:
        return None
    holders = {contact_id for _value, contact_id in found}  # a merge moves identities to the survivor
    return found[0][0] if len(holders) == 1 else None


def _contacts_by_identity_text(text: str) -> QuerySet[Any]:
    guess = guess_identity(text)
    if guess is None:
        return Identity.objects.filter(value=text.strip()).values("contact_id")
    kind, value = guess
    return Identity.objects.filter(kind=kind, value=value).values("contact_id")


def company_list(*, user: Any) -> QuerySet[Company]:
    # The contact count as a subquery per row shown, not a GROUP BY over every company's contacts:
    # a page computes it for its 50 rows, and counting the list's rows does not compute it at all.
    contacts = (
        Contact.objects.filter(company=OuterRef("pk")).order_by().values("company").annotate(n=Count("pk"))
    )
    return (
        scope(Company.objects.all(), user)
        .select_related("responsible")
        .annotate(contact_count=Coalesce(Subquery(contacts.values("n")), 0))
    )


def lead_list(*, user: Any) -> QuerySet[Lead]:
    return scope(Lead.objects.all(), user).select_related(
        "contact", "contact__company", "responsible", "deal"
    )


def lead_inbox(*, user: Any) -> QuerySet[Lead]:
    """Leads waiting for a verdict that this user may triage."""
    return lead_list(user=user).filter(verdict="").exclude(status=Lead.Status.CLOSED)


def deal_list(*, user: Any) -> QuerySet[Deal]:
    return scope(Deal.objects.all(), user).select_related(
        "pipeline", "stage", "contact", "company", "responsible", "lost_reason"
    )


def kanban_columns(
    *, user: Any, pipeline: Pipeline, filters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Stages of a pipeline with the count and total amount of the user's visible deals in each."""
    deals = deal_list(user=user).filter(pipeline=pipeline)
    deals = kanban_filter(deals, filters or {})
    totals = {
        row["stage_id"]: row
        for row in deals.order_by().values("stage_id").annotate(count=Count("id"), total=Sum("amount"))
    }
    return [
        {
            "stage": stage,
            "count": totals.get(stage.pk, {}).get("count", 0),
            "total": totals.get(stage.pk, {}).get("total") or 0,
        }
        for stage in pipeline.stages.all()
    ]


def kanban_filter(deals: QuerySet[Deal], filters: dict[str, Any]) -> QuerySet[Deal]:
    if filters.get("responsible"):
        deals = deals.filter(responsible_id=filters["responsible"])
    if filters.get("q"):  # the one CRM search (otdel.crm.search), within the board's own order
        from otdel.crm.search import filter_queryset

        deals = deals.filter(pk__in=filter_queryset(Deal.objects.all(), "deals", filters["q"]).values("pk"))
    return deals


def kanban_page(
    *, user: Any, stage: Stage, offset: int = 0, limit: int = 20, filters: dict[str, Any] | None = None
) -> list[Deal]:
    deals = kanban_filter(deal_list(user=user).filter(stage=stage), filters or {})
    return list(with_card_facts(deals).order_by("position", "-id")[offset : offset + limit])


def with_card_facts(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """What a kanban card shows besides its fields: the next open task's due time (``next_task_due``;
    ``has_open_task`` for a task without a due time) and the last activity (``last_activity``: the
    newest call, message or note on the deal or with its contact, else the deal's last change).
    Correlated subqueries on indexed columns, for one page of cards at a time."""
    from otdel.comms.models import Interaction

    open_tasks = Task.objects.filter(deal=OuterRef("pk"), done_at__isnull=True)
    newest = F("updated_at")
    on_deal = (
        Interaction.objects.filter(deal=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
    )
    with_contact = (
        Interaction.objects.filter(contact=OuterRef("contact_id"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    note = Note.objects.filter(deal=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return deals.select_related("stage", "responsible", "contact", "company").annotate(
        next_task_due=Subquery(open_tasks.exclude(due_at=None).order_by("due_at").values("due_at")[:1]),
        has_open_task=Exists(open_tasks),
        last_activity=Greatest(
            Coalesce(Subquery(on_deal), newest),
            Coalesce(Subquery(with_contact), newest),
            Coalesce(Subquery(note), newest),
            newest,
        ),
    )


def global_search(*, user: Any, text: str, limit: int = 10) -> dict[str, list[Any]]:
    """Contacts, companies, deals and leads the user may see that match ``text``, best first
    (the one CRM search: otdel.crm.search)."""
    from otdel.crm.search import find

    return find(user=user, text=text, limit=limit, count=False).objects


def object_history(*, user: Any, instance: Any, limit: int = 100) -> list[Any]:
    """Change-log rows of one CRM record the user may see, newest first (empty when out of scope)."""
    from django.contrib.contenttypes.models import ContentType

    model = type(instance)
    if not scope(model.objects.filter(pk=instance.pk), user).exists():
        return []
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    changes = ObjectChange.objects.filter(content_type=content_type, object_id=instance.pk)
    return list(changes.order_by("-at", "-id")[:limit])


# --- API support: notes, timeline, lost reasons ------------------------------------------------


@scope_rule(LostReason)
def _scope_lost_reasons(qs: QuerySet[Any], user: Any, action: str) -> QuerySet[Any]:
    """A reference list: everyone reads it (to close a deal as lost), administrators change it."""
    if action == "view" or user.is_admin:
        return qs
    return qs.none()


def note_list(
    *, user: Any, contact: Contact | None = None, deal: Deal | None = None, company: Company | None = None
) -> QuerySet[Note]:
    """Notes on one record, newest first; none when the record is outside the user's scope."""
    subject: Any = contact or deal or company
    if subject is None or not scope(type(subject).objects.filter(pk=subject.pk), user).exists():
        return Note.objects.none()
    field = "contact" if contact is not None else "deal" if deal is not None else "company"
    return Note.objects.filter(**{field: subject}).select_related("author").order_by("-created_at", "-id")


def non_target_contact_list(*, user: Any) -> QuerySet[Contact]:
    """Contacts marked non-target that ``user`` may review (and restore): the non-target inbox.

    The office manager, call center and administrators see them all. The head of sales, whose
    ordinary scope hides non-target people, sees those of their department (or unassigned) here,
    since they may overrule a verdict. Anyone else sees none.
    """
    qs = Contact.objects.filter(merged_into__isnull=True, non_target=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_admin or user.is_triage:
        pass
    elif user.role == Role.HEAD_OF_SALES:
        if user.department_id is not None:
            qs = qs.filter(Q(responsible__department_id=user.department_id) | Q(responsible__isnull=True))
    else:
        return qs.none()
    return qs.select_related("company", "responsible").prefetch_related("identities")


# --- tasks -----------------------------------------------------------------------------------


def task_list(*, user: Any) -> QuerySet[Task]:
    """Tasks the user may see and complete: their own, and those on contacts, deals or leads they see."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Task.objects.none()
    qs = Task.objects.select_related("assignee", "contact", "deal")
    if user.is_admin:
        return qs
    return qs.filter(
        Q(assignee=user)
        | Q(contact__in=scope(Contact.objects.all(), user))
        | Q(deal__in=scope(Deal.objects.all(), user))
        | Q(lead__in=scope(Lead.objects.all(), user))
    )


def task_open_for(*, user: Any) -> QuerySet[Task]:
    """The user's open tasks: call-backs first, then by due time (no due time last)."""
    return task_open_for_users(users=[user])


def task_open_for_users(*, users: Any) -> QuerySet[Task]:
    """Open tasks of any of ``users`` (a queryset or a list), ordered as ``task_open_for``."""
    from django.db.models import Case, F, IntegerField, Value, When

    return (
        Task.objects.filter(assignee__in=users, done_at__isnull=True)
        .select_related("contact", "deal", "lead")
        .annotate(
            callback_first=Case(
                When(kind=Task.Kind.CALL_BACK, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("callback_first", F("due_at").asc(nulls_last=True), "id")
    )


# --- the same person under a new address -----------------------------------------------------

MERGE_CANDIDATES = 3
MERGE_SEARCH_LIMIT = 20
# A lead is checked when its contact was made for it (a new e-mail address or Telegram account).
MERGE_CHANNELS = ("email", "telegram", "whatsapp", "chat")


def _name_words(name: str) -> frozenset[str]:
    from otdel.crm.search import words

    return frozenset(w for w in words(name) if len(w) > 1 and not w.isdigit())


def merge_candidates(
    *, user: Any, contact: Contact, limit: int = MERGE_CANDIDATES, everyone: bool = False
) -> list[Contact]:
    """Contacts the user may see who look like the same person as ``contact``: the same name in any
    order, case or ё/е (a patronymic more or less), or the same company and a word of the name in
    common. Needs two words of a name: "Ольга" alone matches nobody. Best first; the search index
    narrows, the comparison here decides."""
    from otdel.crm.search import filter_queryset, fold, words

    mine = _name_words(contact.full_name)
    if "@" in contact.full_name or len(mine) < 1:
        return []
    # ``everyone``: also contacts outside the user's scope (only to say whose they are, see below).
    visible = Contact.objects.filter(merged_into__isnull=True) if everyone else contact_list(user=user)
    others = visible.filter(merged_into__isnull=True).exclude(pk=contact.pk)
    found: dict[int, tuple[int, Contact]] = {}
    if len(mine) >= 2:
        # Any two words of the name find the person (either side may carry a patronymic more).
        ordered = [w for w in dict.fromkeys(words(contact.full_name)) if w in mine][:3]
        seen: dict[int, Contact] = {}
        for pair in itertools.combinations(ordered, 2):
            for other in filter_queryset(others, "contacts", " ".join(pair)).select_related("company")[
                :MERGE_SEARCH_LIMIT
            ]:
                seen.setdefault(other.pk, other)
        for other in seen.values():
            theirs = _name_words(other.full_name)
            small, large = sorted((mine, theirs), key=len)
            if len(small) >= 2 and small <= large:
                found[other.pk] = (2 if small == large else 1, other)
    company = contact.company
    if company is not None:
        same_company = others.filter(
            Q(company=company) | Q(company__name__iexact=company.name)
        ).select_related("company")[:MERGE_SEARCH_LIMIT]
        for other in same_company:
            same_name = fold(other.company.name if other.company else "") == fold(company.name)
            if other.pk not in found and same_name and mine & _name_words(other.full_name):
                found[other.pk] = (1, other)
    ranked = sorted(found.values(), key=lambda pair: (-pair[0], pair[1].full_name, pair[1].pk))
    return [other for _score, other in ranked[:limit]]


def lead_merge_candidates(*, user: Any, lead: Lead) -> list[Contact]:
    """Who the person behind an untriaged lead from a new e-mail or Telegram identity may already be."""
    if lead.verdict or lead.channel not in MERGE_CHANNELS or lead.contact.merged_into_id is not None:
        return []
    if lead.contact.deals.exists():  # a known person with deals is not "new"
        return []
    return merge_candidates(user=user, contact=lead.contact)


def lead_merge_elsewhere(*, user: Any, lead: Lead, offered: list[Contact]) -> list[Any]:
    """The owners of same-named contacts the user may not see (a salesperson's lead whose person
    another salesperson already has): named so the two can settle it, nothing else shown."""
    if lead.verdict or lead.channel not in MERGE_CHANNELS or lead.contact.merged_into_id is not None:
        return []
    shown = {c.pk for c in offered}
    found = merge_candidates(user=user, contact=lead.contact, everyone=True)
    return sorted({c.responsible for c in found if c.pk not in shown and c.responsible is not None}, key=str)
