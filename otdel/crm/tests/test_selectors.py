"""Who sees which CRM records: the scoping rules per role, 404s, identity lookup and global search."""

from types import SimpleNamespace

import pytest
from django.http import Http404

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import DepartmentFactory, UserFactory
from otdel.core.scoping import get_scoped_or_404, scope
from otdel.crm import selectors, services
from otdel.crm.models import Company, Contact, Deal, Lead, Verdict
from otdel.crm.tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    IdentityFactory,
    LeadFactory,
)
from otdel.routing.triage import lead_triage


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Each test here makes ten users; the production hasher would spend most of the run hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(admin_user, head, manager, other_manager, office_manager, pipeline):
    """A department with its records, another department's records, and the non-target corner."""
    foreign_department = DepartmentFactory(name="Отдел тендеров")
    people = SimpleNamespace(
        admin=admin_user,
        head=head,
        manager=manager,
        other_manager=other_manager,
        office=office_manager,
        call_center=UserFactory(username="cc", role=Role.CALL_CENTER, extension="300"),
        approver=UserFactory(username="lawyer", role=Role.APPROVER),
        foreign=UserFactory(username="tender", role=Role.SALES_MANAGER, department=foreign_department),
        inactive=UserFactory(
            username="gone", role=Role.SALES_MANAGER, department=head.department, is_active=False
        ),
        inactive_admin=UserFactory(username="oldadmin", role=Role.ADMIN, is_active=False),
    )
    company_own = CompanyFactory(name="ООО Ромашка", responsible=manager)
    company_other = CompanyFactory(name="АО Василёк", responsible=other_manager)
    company_foreign = CompanyFactory(name="ООО Тендерстрой", responsible=people.foreign)
    company_nt = CompanyFactory(name="ИП Поставщиков")
    contacts = SimpleNamespace(
        own=ContactFactory(full_name="Петров Пётр", responsible=manager, company=company_own),
        other=ContactFactory(full_name="Сидорова Анна", responsible=other_manager, company=company_other),
        foreign=ContactFactory(
            full_name="Кузнецов Олег", responsible=people.foreign, company=company_foreign
        ),
        unassigned=ContactFactory(full_name="Новиков Игорь"),
        # Marked non-target while it was the manager's: the manager must stop seeing it.
        non_target=ContactFactory(
            full_name="Поставщиков Сергей",
            responsible=manager,
            company=company_nt,
            non_target=True,
            non_target_reason="supplier",
        ),
    )
    deals = SimpleNamespace(
        own=DealFactory(pipeline=pipeline, contact=contacts.own, company=company_own, responsible=manager),
        other=DealFactory(
            pipeline=pipeline, contact=contacts.other, company=company_other, responsible=other_manager
        ),
        foreign=DealFactory(
            pipeline=pipeline, contact=contacts.foreign, company=company_foreign, responsible=people.foreign
        ),
        unassigned=DealFactory(pipeline=pipeline, contact=contacts.unassigned, responsible=None),
    )
    leads = SimpleNamespace(
        own=LeadFactory(contact=contacts.own, responsible=manager, verdict=Verdict.QUALIFIED, deal=deals.own),
        untriaged=LeadFactory(contact=contacts.unassigned),
        non_target=LeadFactory(
            contact=contacts.non_target,
            responsible=manager,
            verdict=Verdict.NON_TARGET,
            verdict_reason="supplier",
        ),
        foreign=LeadFactory(contact=contacts.foreign, responsible=people.foreign, verdict=Verdict.QUALIFIED),
    )
    companies = SimpleNamespace(
        own=company_own, other=company_other, foreign=company_foreign, non_target=company_nt
    )
    return SimpleNamespace(people=people, contacts=contacts, deals=deals, leads=leads, companies=companies)


def visible(model, user, group):
    """Names (attributes of ``group``) of the records of ``model`` that ``user`` sees."""
    pks = set(scope(model.objects.all(), user).values_list("pk", flat=True))
    return {name for name, obj in vars(group).items() if obj.pk in pks}


ALL_DEALS = {"own", "other", "foreign", "unassigned"}
ALL_LEADS = {"own", "untriaged", "non_target", "foreign"}
ALL_CONTACTS = {"own", "other", "foreign", "unassigned", "non_target"}
ALL_COMPANIES = {"own", "other", "foreign", "non_target"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ALL_DEALS),
        ("head", {"own", "other", "unassigned"}),
        ("manager", {"own"}),
        ("other_manager", {"other"}),
        ("foreign", {"foreign"}),
        ("office", set()),
        ("call_center", set()),
        ("approver", set()),
        ("inactive", set()),
        ("inactive_admin", set()),
    ],
)
def test_deal_scope(world, role, expected):
    assert visible(Deal, getattr(world.people, role), world.deals) == expected


def test_an_approver_sees_the_deal_they_decide_on_and_nothing_else(world, admin_user):
    """The approver's scope (otdel/approvals): a deal whose document awaits them, for reading only,
    and its client company (whose requisites the contract carries anyway); the contact, other
    deals and leads stay out of reach."""
    from otdel.approvals import services as approvals
    from otdel.documents.models import Document, DocumentStatus, DocumentTemplate

    approver = world.people.approver
    template = DocumentTemplate.objects.create(name="Договор", kind="contract", file="t.docx")
    document = Document.objects.create(
        deal=world.deals.own,
        template=template,
        kind="contract",
        title="Договор",
        date="2026-12-02",
        status=DocumentStatus.READY,
        current_version=1,
    )
    route = approvals.route_save(
        actor=admin_user,
        name="Договоры",
        document_kinds=["contract"],
        steps=[{"name": "Юрист", "approvers": [{"user": approver.pk}]}],
    )
    approvals.approval_start(actor=world.people.manager, document=document, route=route)
    assert visible(Deal, approver, world.deals) == {"own"}
    assert not scope(Deal.objects.all(), approver, "change").exists()
    assert visible(Contact, approver, world.contacts) == set()
    assert visible(Company, approver, world.companies) == {"own"}
    assert visible(Lead, approver, world.leads) == set()
    assert visible(Document, approver, SimpleNamespace(doc=document)) == {"doc"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ALL_LEADS),
        ("head", {"own", "untriaged"}),
        ("manager", {"own"}),  # never the non-target lead, though it is still assigned to them
        ("other_manager", set()),
        ("office", {"untriaged", "non_target"}),
        ("call_center", {"untriaged", "non_target"}),
        ("approver", set()),
        ("inactive", set()),
    ],
)
def test_lead_scope(world, role, expected):
    assert visible(Lead, getattr(world.people, role), world.leads) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ALL_CONTACTS),
        ("head", {"own", "other", "unassigned"}),
        ("manager", {"own"}),
        ("other_manager", {"other"}),
        ("foreign", {"foreign"}),
        ("office", {"unassigned", "non_target"}),
        ("call_center", {"unassigned", "non_target"}),
        ("approver", set()),
        ("inactive", set()),
    ],
)
def test_contact_scope(world, role, expected):
    assert visible(Contact, getattr(world.people, role), world.contacts) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", ALL_COMPANIES),
        # Unassigned companies are the head's to hand out, whoever their contacts are.
        ("head", {"own", "other", "non_target"}),
        ("manager", {"own"}),
        ("foreign", {"foreign"}),
        ("office", {"non_target"}),
        ("call_center", {"non_target"}),
        ("approver", set()),
        ("inactive", set()),
    ],
)
def test_company_scope(world, role, expected):
    assert visible(Company, getattr(world.people, role), world.companies) == expected


def test_manager_sees_a_contact_through_own_deal_or_lead(world, manager):
    stranger = ContactFactory(full_name="Чужой Клиент", responsible=world.people.foreign)
    assert not scope(Contact.objects.filter(pk=stranger.pk), manager).exists()
    DealFactory(pipeline=world.deals.own.pipeline, contact=stranger, responsible=manager)
    assert scope(Contact.objects.filter(pk=stranger.pk), manager).exists()
    via_lead = ContactFactory(full_name="Клиент По Заявке", responsible=world.people.foreign)
    LeadFactory(contact=via_lead, responsible=manager)
    assert scope(Contact.objects.filter(pk=via_lead.pk), manager).exists()


def test_marking_non_target_hides_the_contact_from_sales(world, manager, office_manager):
    lead = LeadFactory(contact=world.contacts.own, responsible=manager)
    lead_triage(actor=office_manager, lead=lead, verdict=Verdict.NON_TARGET, reason="spam")
    assert world.contacts.own.pk not in scope(Contact.objects.all(), manager).values_list("pk", flat=True)
    assert world.contacts.own.pk in scope(Contact.objects.all(), office_manager).values_list("pk", flat=True)


def test_selector_lists_apply_the_scope(world, manager, office_manager, head):
    assert set(selectors.deal_list(user=manager)) == {world.deals.own}
    assert set(selectors.lead_list(user=manager)) == {world.leads.own}
    assert set(selectors.company_list(user=manager)) == {world.companies.own}
    assert set(selectors.deal_list(user=office_manager)) == set()
    assert set(selectors.lead_inbox(user=office_manager)) == {world.leads.untriaged}
    assert set(selectors.lead_inbox(user=head)) == {world.leads.untriaged}
    assert set(selectors.lead_inbox(user=manager)) == set()


def test_contact_list_hides_merged_tombstones(world, admin_user):
    duplicate = ContactFactory(full_name="Петров П.")
    services.contact_merge(actor=admin_user, source=duplicate, target=world.contacts.own)
    names = set(selectors.contact_list(user=admin_user).values_list("full_name", flat=True))
    assert "Петров Пётр" in names
    assert "Петров П." not in names


def test_contact_list_filters_by_identity_in_any_format(world, manager):
    services.identity_add(actor=manager, contact=world.contacts.own, kind="phone", value="+79123456789")
    found = selectors.contact_list(user=manager, filters={"identity": "8 (912) 345-67-89"})
    assert list(found) == [world.contacts.own]
    assert (
        list(selectors.contact_list(user=world.people.other_manager, filters={"identity": "89123456789"}))
        == []
    )


# --- get_scoped_or_404 ---------------------------------------------------------------------------


def test_get_scoped_or_404_returns_a_visible_record(world, manager):
    assert get_scoped_or_404(Deal.objects.all(), manager, pk=world.deals.own.pk) == world.deals.own


@pytest.mark.parametrize(
    ("role", "model", "record"),
    [
        ("manager", Deal, "other"),
        ("manager", Deal, "foreign"),
        ("head", Deal, "foreign"),
        ("office", Deal, "unassigned"),
        ("approver", Deal, "own"),
        ("inactive", Deal, "own"),
        ("manager", Contact, "non_target"),
        ("manager", Lead, "non_target"),
        ("office", Lead, "own"),
    ],
)
def test_get_scoped_or_404_hides_what_is_out_of_scope(world, role, model, record):
    group = {Deal: world.deals, Contact: world.contacts, Lead: world.leads}[model]
    with pytest.raises(Http404):
        get_scoped_or_404(model.objects.all(), getattr(world.people, role), pk=getattr(group, record).pk)


def test_get_scoped_or_404_for_a_missing_record(world, admin_user):
    with pytest.raises(Http404):
        get_scoped_or_404(Deal.objects.all(), admin_user, pk=999_999)


def test_anonymous_and_missing_user_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not scope(Deal.objects.all(), AnonymousUser()).exists()
    assert not scope(Contact.objects.all(), None).exists()


# --- identity resolution ---------------------------------------------------------------------------


def test_contact_by_identity(world, manager):
    services.identity_add(actor=manager, contact=world.contacts.own, kind="email", value="Petrov@Mail.ru")
    assert selectors.contact_by_identity(kind="email", value="petrov@mail.ru") == world.contacts.own
    assert selectors.contact_by_identity(kind="email", value="nobody@mail.ru") is None
    assert selectors.contact_by_identity(kind="phone", value="petrov@mail.ru") is None


def test_contact_by_identity_follows_merges(world, admin_user):
    source = services.contact_create(
        actor=admin_user, full_name="Дубль", identities=[("phone", "8 912 000 11 22")]
    )
    services.contact_merge(actor=admin_user, source=source, target=world.contacts.other)
    assert selectors.contact_by_identity(kind="phone", value="+79120001122") == world.contacts.other


def test_contact_by_identity_follows_a_chain_of_merges(world):
    last = ContactFactory(full_name="Итоговый")
    middle = ContactFactory(full_name="Промежуточный", merged_into=last)
    first = ContactFactory(full_name="Первый", merged_into=middle)
    # An identity left on a tombstone (e.g. written before the merge by a concurrent request).
    IdentityFactory(contact=first, kind="phone", value="+79125550000")
    assert selectors.contact_by_identity(kind="phone", value="+79125550000") == last


# --- global search ---------------------------------------------------------------------------------


@pytest.fixture
def searchable(world, admin_user):
    services.identity_add(
        actor=admin_user, contact=world.contacts.own, kind="phone", value="+7 912 345 67 89"
    )
    services.identity_add(
        actor=admin_user, contact=world.contacts.own, kind="email", value="p.petrov@romashka.ru"
    )
    services.identity_add(
        actor=admin_user, contact=world.contacts.other, kind="phone", value="8 (495) 123-45-67"
    )
    return world


def _names(result, key):
    return {str(obj) for obj in result[key]}


@pytest.mark.parametrize("typed", ["Петров", "петров", "ПЕТРОВ", "пётр", "петров пётр"])
def test_global_search_by_name_is_case_insensitive_in_cyrillic(searchable, manager, typed):
    assert _names(selectors.global_search(user=manager, text=typed), "contacts") == {"Петров Пётр"}


@pytest.mark.parametrize("typed", ["ромашка", "РОМАШКА", "ООО Ромашка"])
def test_global_search_by_company_name(searchable, manager, typed):
    result = selectors.global_search(user=manager, text=typed)
    assert _names(result, "companies") == {"ООО Ромашка"}
    assert _names(result, "contacts") == {"Петров Пётр"}


@pytest.mark.parametrize(
    "typed", ["p.petrov@romashka.ru", "P.Petrov@Romashka.RU", "p.petrov@", "romashka.ru"]
)
def test_global_search_by_email(searchable, manager, typed):
    assert _names(selectors.global_search(user=manager, text=typed), "contacts") == {"Петров Пётр"}


@pytest.mark.parametrize("typed", ["8 (912) 345-67-89", "89123456789", "+7 912 345 67 89", "9123456789"])
def test_global_search_by_phone_in_another_format(searchable, manager, typed):
    result = selectors.global_search(user=manager, text=typed)
    assert _names(result, "contacts") == {"Петров Пётр"}
    assert result["deals"] == [searchable.deals.own]


def test_global_search_respects_the_scope(searchable, manager, head, office_manager):
    assert selectors.global_search(user=manager, text="+7 495 123-45-67")["contacts"] == []
    assert selectors.global_search(user=manager, text="Сидорова")["contacts"] == []
    assert _names(selectors.global_search(user=head, text="84951234567"), "contacts") == {"Сидорова Анна"}
    assert selectors.global_search(user=office_manager, text="Петров")["contacts"] == []
    assert selectors.global_search(user=searchable.people.approver, text="Петров") == {
        "contacts": [],
        "companies": [],
        "deals": [],
        "leads": [],
    }


@pytest.mark.parametrize("typed", ["", " ", "п"])
def test_global_search_ignores_too_short_text(searchable, admin_user, typed):
    result = selectors.global_search(user=admin_user, text=typed)
    assert result == {"contacts": [], "companies": [], "deals": [], "leads": []}


def test_global_search_finds_deals_by_contact_name(searchable, manager):
    assert selectors.global_search(user=manager, text="петров")["deals"] == [searchable.deals.own]


# Only the title as written: Deal has no lower-cased search_text yet, and SQLite's LIKE folds ASCII only.
@pytest.mark.parametrize("typed", ["Поставка станков", "станков ЧПУ", "ЧПУ"])
def test_global_search_finds_deals_by_title(searchable, manager, typed):
    deal = searchable.deals.own
    deal.title = "Поставка станков ЧПУ"
    deal.save()
    assert selectors.global_search(user=manager, text=typed)["deals"] == [deal]
