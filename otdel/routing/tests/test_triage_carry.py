"""A deal opened from a lead carries the lead's data: a title from the form and company, the company
linked, the first message on the deal's timeline, the amount the form gave (issue 15)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from otdel.comms.models import Interaction, InteractionKind
from otdel.comms.selectors import timeline
from otdel.crm import services as crm_services
from otdel.crm.models import Company, Verdict
from otdel.crm.tests.factories import CompanyFactory, ContactFactory
from otdel.routing.triage import lead_triage

pytestmark = pytest.mark.django_db


def form_lead(contact, **fields):
    lead = crm_services.lead_create(actor=None, contact=contact, source="form", channel="form")
    Interaction.objects.create(
        kind=InteractionKind.FORM,
        channel="form",
        occurred_at=timezone.now(),
        contact=contact,
        lead=lead,
        subject="Заявка с сайта",
        body="Нужны 40 стеллажей",
        payload={
            "form": "site",
            "fields": {"name": contact.full_name, "message": "Нужны 40 стеллажей", **fields},
        },
    )
    return lead


def test_a_form_lead_becomes_a_deal_with_its_company_amount_and_first_message(manager, pipeline):
    contact = ContactFactory(full_name="Смирнова Ольга Петровна", company=None)
    lead = form_lead(contact, company="ООО Вектор", budget="350 000")

    lead = lead_triage(actor=manager, lead=lead, verdict=Verdict.QUALIFIED)

    deal = lead.deal
    assert deal.title == "Заявка с сайта: ООО Вектор"
    assert deal.company == Company.objects.get(name="ООО Вектор")
    contact.refresh_from_db()
    assert contact.company == deal.company  # the person is linked to the company the form named
    assert deal.amount == Decimal("350000")
    items = timeline(user=manager, deal=deal)
    assert any(getattr(item.obj, "body", "") == "Нужны 40 стеллажей" for item in items)


def test_the_contacts_company_is_kept_and_an_explicit_title_and_amount_win(manager, pipeline):
    company = CompanyFactory(name="АО Стройкомплект")
    contact = ContactFactory(full_name="Иванов Пётр", company=company)
    lead = form_lead(contact, company="Другая", amount="не знаю")
    deal = lead_triage(actor=manager, lead=lead, verdict=Verdict.QUALIFIED).deal
    assert deal.company == company and deal.title == "Заявка с сайта: АО Стройкомплект"
    assert deal.amount == 0  # "не знаю" is not an amount
    assert not Company.objects.filter(name="Другая").exists()

    other = form_lead(ContactFactory(full_name="Петров Иван", company=None))
    deal = lead_triage(
        actor=manager, lead=other, verdict=Verdict.QUALIFIED, title="Поставка", amount="10"
    ).deal
    assert deal.title == "Поставка" and deal.amount == Decimal("10") and deal.company is None


def test_a_lead_without_a_form_is_named_by_its_source_and_person(manager, pipeline):
    contact = ContactFactory(full_name="Смирнова Ольга Петровна", company=None)
    lead = crm_services.lead_create(actor=None, contact=contact, source="call", channel="call")
    deal = lead_triage(actor=manager, lead=lead, verdict=Verdict.QUALIFIED).deal
    assert deal.title.endswith(": Смирнова Ольга Петровна") and " с " not in deal.title
