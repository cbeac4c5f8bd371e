"""CRM REST API: contacts, companies, leads, deals, pipelines; scope per role, errors, query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otdel.comms.models import Interaction
from otdel.core.models import ObjectChange
from otdel.crm import services
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
    Stage,
)
from otdel.crm.tests.factories import ContactFactory, LostReasonFactory, PipelineFactory
from otdel.routing.triage import lead_triage

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


@pytest.fixture
def contact(manager):
    return services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[("phone", "+79123456789"), ("email", "petrov@example.ru")],
        responsible=manager,
    )


@pytest.fixture
def others_contact(other_manager):
    return services.contact_create(
        actor=other_manager,
        full_name="Сидоров Сидор",
        identities=[("phone", "+79220001122")],
        responsible=other_manager,
    )


@pytest.fixture
def company(manager):
    return services.company_create(actor=manager, name="ООО Ромашка", inn="7707083893", responsible=manager)


@pytest.fixture
def deal(manager, pipeline, contact, company):
    return services.deal_create(
        actor=manager,
        title="Поставка станков",
        pipeline=pipeline,
        contact=contact,
        company=company,
        amount="1500000",
    )


@pytest.fixture
def others_deal(other_manager, pipeline, others_contact):
    return services.deal_create(
        actor=other_manager, title="Чужая сделка", pipeline=pipeline, contact=others_contact, amount="10"
    )


@pytest.fixture
def new_lead(office_manager):
    """A fresh inbound lead from an unknown person: the office manager's triage inbox."""
    person = services.contact_create(
        actor=None, full_name="Новый клиент", identities=[("phone", "89035550101")]
    )
    return services.lead_create(
        actor=None, contact=person, source="form", channel="form", comment="Перезвоните"
    )


@pytest.fixture
def non_target_contact(office_manager, new_lead):
    lead_triage(actor=office_manager, lead=new_lead, verdict="non_target", reason="spam")
    return Contact.objects.get(pk=new_lead.contact_id)


def stage_of(pipeline, kind=Stage.Kind.OPEN, index=0):
    return list(pipeline.stages.filter(kind=kind).order_by("order"))[index]


def assert_error(response, status, field, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert field in body["errors"], body
    if code is not None:
        assert body["code"] == code, body


# --- contacts --------------------------------------------------------------------------------


def test_contact_create_normalizes_identities_and_makes_it_the_salespersons(api_for, manager):
    response = api_for(manager).post(
        f"{V1}/contacts",
        {
            "full_name": "Иванова Анна",
            "position": "Закупщик",
            "identities": [
                {"kind": "phone", "value": "8 (912) 345-67-00"},
                {"kind": "email", "value": "Anna@Example.RU"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["full_name"] == "Иванова Анна"
    assert body["responsible"] == manager.pk
    assert body["non_target"] is False
    assert body["company"] is None
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("phone", "+79123456700"),
        ("email", "anna@example.ru"),
    }
    assert {"id", "version", "created_at", "position"} <= set(body)
    assert Identity.objects.filter(contact_id=body["id"]).count() == 2


def test_contact_create_with_a_taken_identity_is_409_naming_the_holder(api_for, manager, contact):
    response = api_for(manager).post(
        f"{V1}/contacts",
        {"full_name": "Двойник", "identities": [{"kind": "phone", "value": "+7 912 345 67 89"}]},
        format="json",
    )
    assert_error(response, 409, "identities", "identity_taken")
    assert "Петров Пётр" in response.json()["errors"]["identities"][0]
    assert str(contact.pk) in response.json()["errors"]["identities"][0]
    assert not Contact.objects.filter(full_name="Двойник").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"identities": [{"kind": "phone", "value": "123"}]}, "identities"),
        ({"full_name": "", "identities": []}, "full_name"),
        ({"full_name": "Без телефона", "identities": [{"kind": "pager", "value": "1"}]}, "identities.0.kind"),
        ({"full_name": "Чужая фирма", "company": 999999}, "company"),
        (
            {"full_name": "Кривой e-mail", "identities": [{"kind": "email", "value": "not-an-email"}]},
            "identities",
        ),
    ],
)
def test_contact_create_bad_input_is_400_naming_the_field(api_for, manager, payload, field):
    payload = {"full_name": "Кто-то", **payload}
    response = api_for(manager).post(f"{V1}/contacts", payload, format="json")
    assert_error(response, 400, field)
    assert not Contact.objects.exists()


def test_contacts_by_identity_in_any_format(api_for, manager, contact, others_contact):
    client = api_for(manager)
    for text in ("8 912 345-67-89", "+7 (912) 345 67 89", "9123456789", "PETROV@example.ru"):
        response = client.get(f"{V1}/contacts", {"identity": text})
        assert response.status_code == 200
        assert [c["id"] for c in response.json()["results"]] == [contact.pk], text
    # Another manager's client is not found, not even by the exact number.
    assert client.get(f"{V1}/contacts", {"identity": "+79220001122"}).json()["results"] == []
    assert client.get(f"{V1}/contacts", {"identity": "+79990000000"}).json()["results"] == []


def test_contact_list_filters(api_for, admin_user, contact, others_contact, company):
    services.contact_update(actor=admin_user, contact=contact, company=company)
    client = api_for(admin_user)
    assert [c["id"] for c in client.get(f"{V1}/contacts", {"company": company.pk}).json()["results"]] == [
        contact.pk
    ]
    assert [c["id"] for c in client.get(f"{V1}/contacts", {"q": "сидоров"}).json()["results"]] == [
        others_contact.pk
    ]
    response = client.get(f"{V1}/contacts", {"responsible": "nobody"})
    assert_error(response, 400, "responsible")


def test_contact_retrieve_and_patch_with_version(api_for, manager, contact):
    client = api_for(manager)
    body = client.get(f"{V1}/contacts/{contact.pk}").json()
    assert body["identities"][0]["kind"] in ("phone", "email")

    response = client.patch(
        f"{V1}/contacts/{contact.pk}", {"position": "Директор", "version": body["version"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["position"] == "Директор"
    assert response.json()["version"] == body["version"] + 1

    stale = client.patch(
        f"{V1}/contacts/{contact.pk}", {"position": "Стажёр", "version": body["version"]}, format="json"
    )
    assert_error(stale, 409, "__all__", "stale_version")
    assert Contact.objects.get(pk=contact.pk).position == "Директор"


def test_contact_patch_identities_replaces_the_list(api_for, manager, contact):
    response = api_for(manager).patch(
        f"{V1}/contacts/{contact.pk}",
        {"identities": [{"kind": "phone", "value": "8-912-345-67-89"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [(i["kind"], i["value"]) for i in response.json()["identities"]] == [("phone", "+79123456789")]
    assert not Identity.objects.filter(value="petrov@example.ru").exists()


def test_contact_scope_per_role(
    api_for, manager, other_manager, head, office_manager, admin_user, contact, non_target_contact
):
    url = f"{V1}/contacts/{contact.pk}"
    assert api_for(manager).get(url).status_code == 200
    assert api_for(head).get(url).status_code == 200  # the department's client
    assert api_for(admin_user).get(url).status_code == 200
    assert_error(api_for(other_manager).get(url), 404, "__all__", "not_found")
    assert api_for(other_manager).patch(url, {"full_name": "Взлом"}, format="json").status_code == 404
    assert api_for(office_manager).get(url).status_code == 404
    assert Contact.objects.get(pk=contact.pk).full_name == "Петров Пётр"

    # Non-target traffic: the office manager and the admin see it, salespeople never do.
    url = f"{V1}/contacts/{non_target_contact.pk}"
    assert api_for(office_manager).get(url).status_code == 200
    assert api_for(admin_user).get(url).status_code == 200
    assert api_for(head).get(url).status_code == 404
    assert api_for(manager).get(url).status_code == 404
    ids = [c["id"] for c in api_for(office_manager).get(f"{V1}/contacts").json()["results"]]
    assert non_target_contact.pk in ids and contact.pk not in ids


def test_contact_merge(api_for, manager, contact):
    twin = services.contact_create(
        actor=manager, full_name="Петров П.", identities=[("phone", "+79031112233")], responsible=manager
    )
    client = api_for(manager)
    response = client.post(f"{V1}/contacts/{twin.pk}/merge", {"into": contact.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == contact.pk
    assert {i["value"] for i in body["identities"]} == {"+79123456789", "petrov@example.ru", "+79031112233"}
    assert Contact.objects.get(pk=twin.pk).merged_into_id == contact.pk
    # The merged contact drops out of lists but its old id still resolves to a pointer.
    assert twin.pk not in [c["id"] for c in client.get(f"{V1}/contacts").json()["results"]]
    assert client.get(f"{V1}/contacts/{twin.pk}").json()["merged_into"] == contact.pk


def test_contact_merge_errors(api_for, manager, contact, others_contact):
    client = api_for(manager)
    assert_error(
        client.post(f"{V1}/contacts/{contact.pk}/merge", {"into": contact.pk}, format="json"),
        400,
        "into",
        "merge_self",
    )
    # Someone else's contact is not a valid target, nor a valid source.
    assert_error(
        client.post(f"{V1}/contacts/{contact.pk}/merge", {"into": others_contact.pk}, format="json"),
        400,
        "into",
    )
    assert (
        client.post(
            f"{V1}/contacts/{others_contact.pk}/merge", {"into": contact.pk}, format="json"
        ).status_code
        == 404
    )
    assert_error(client.post(f"{V1}/contacts/{contact.pk}/merge", {}, format="json"), 400, "into")
    assert Contact.objects.filter(merged_into__isnull=False).count() == 0


def test_contact_timeline_newest_first(api_for, manager, contact, other_manager):
    now = timezone.now()
    lead = services.lead_create(
        actor=manager, contact=contact, source="manual", channel="call", comment="Позвонил сам"
    )
    Lead.objects.filter(pk=lead.pk).update(created_at=now - datetime.timedelta(hours=3))
    call = Interaction.objects.create(
        kind="call",
        channel="call",
        direction="in",
        occurred_at=now - datetime.timedelta(hours=2),
        contact=contact,
        status="missed",
        routed_to=manager,
    )
    note = services.note_create(actor=manager, body="Просил КП к пятнице", contact=contact)
    Note.objects.filter(pk=note.pk).update(created_at=now - datetime.timedelta(hours=1))

    response = api_for(manager).get(f"{V1}/contacts/{contact.pk}/timeline")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["type"], r["id"]) for r in rows] == [
        ("note", note.pk),
        ("interaction", call.pk),
        ("lead", lead.pk),
    ]
    note_row, call_row, lead_row = rows
    assert note_row["channel"] == "note" and note_row["summary"] == "Просил КП к пятнице"
    assert (
        call_row["channel"] == "call"
        and call_row["status"] == "missed"
        and call_row["routed_to"] == manager.pk
    )
    assert call_row["direction"] == "in"
    assert (
        lead_row["channel"] == "call"
        and lead_row["direction"] == "in"
        and lead_row["summary"] == "Позвонил сам"
    )
    assert set(note_row) >= {"id", "channel", "direction", "at", "status", "routed_to", "summary"}

    assert api_for(other_manager).get(f"{V1}/contacts/{contact.pk}/timeline").status_code == 404


def test_lead_made_by_an_interaction_shows_once_on_the_timeline(api_for, manager, contact):
    lead = services.lead_create(actor=manager, contact=contact, source="form", channel="form")
    Interaction.objects.create(
        kind="form", channel="form", direction="in", occurred_at=timezone.now(), contact=contact, lead=lead
    )
    rows = api_for(manager).get(f"{V1}/contacts/{contact.pk}/timeline").json()["results"]
    assert [r["type"] for r in rows] == ["interaction"]


def test_restore_target(api_for, office_manager, head, manager, admin_user, contact, non_target_contact):
    url = f"{V1}/contacts/{non_target_contact.pk}/restore-target"
    # The head of sales cannot see non-target traffic at all: 404, not 403.
    assert api_for(head).post(url).status_code == 404
    assert api_for(manager).post(url).status_code == 404
    # A salesperson on a contact they do see: the role is not allowed.
    assert_error(api_for(manager).post(f"{V1}/contacts/{contact.pk}/restore-target"), 403, "__all__")

    response = api_for(office_manager).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["non_target"] is False
    assert response.json()["non_target_reason"] == ""
    restored = Contact.objects.get(pk=non_target_contact.pk)
    assert restored.non_target is False
    change = ObjectChange.objects.filter(object_id=restored.pk, action="update").first()
    assert change.user == office_manager
    assert change.changes["non_target"] == [True, False]
    assert change.message


def test_restore_target_returns_the_non_target_lead_to_triage(api_for, office_manager, new_lead):
    """Undo is one action: the mark is lifted and the lead closed as non-target is a new lead again."""
    client = api_for(office_manager)
    client.post(
        f"{V1}/leads/{new_lead.pk}/triage", {"verdict": "non_target", "reason": "supplier"}, format="json"
    )
    assert Lead.objects.get(pk=new_lead.pk).verdict == "non_target"

    response = client.post(f"{V1}/contacts/{new_lead.contact_id}/restore-target")

    assert response.status_code == 200, response.content
    lead = Lead.objects.get(pk=new_lead.pk)
    assert (lead.verdict, lead.status, lead.triaged_by) == ("", Lead.Status.NEW, None)
    body = client.get(f"{V1}/leads/{new_lead.pk}").json()
    assert body["verdict"] == ""
    change = (
        ObjectChange.objects.filter(object_id=lead.pk, changes__has_key="verdict").order_by("-id").first()
    )
    assert change is not None and change.user == office_manager


def test_restore_target_by_admin(api_for, admin_user, non_target_contact):
    response = api_for(admin_user).post(f"{V1}/contacts/{non_target_contact.pk}/restore-target/")
    assert response.status_code == 200
    assert Contact.objects.get(pk=non_target_contact.pk).non_target is False


def test_contact_notes(api_for, manager, other_manager, contact):
    client = api_for(manager)
    response = client.post(
        f"{V1}/contacts/{contact.pk}/notes", {"body": "Любит звонки после обеда"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["author"] == manager.pk
    assert response.json()["contact"] == contact.pk
    listed = client.get(f"{V1}/contacts/{contact.pk}/notes").json()["results"]
    assert [n["body"] for n in listed] == ["Любит звонки после обеда"]
    assert_error(client.post(f"{V1}/contacts/{contact.pk}/notes", {"body": "  "}, format="json"), 400, "body")
    assert (
        api_for(other_manager)
        .post(f"{V1}/contacts/{contact.pk}/notes", {"body": "x"}, format="json")
        .status_code
        == 404
    )
    assert api_for(other_manager).get(f"{V1}/contacts/{contact.pk}/notes").status_code == 404
    assert Note.objects.count() == 1


# --- companies -------------------------------------------------------------------------------


def test_company_crud(api_for, manager, other_manager, company):
    client = api_for(manager)
    response = client.post(f"{V1}/companies", {"name": "АО Василёк", "inn": "7736050003"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["responsible"] == manager.pk
    assert created["contact_count"] == 0

    names = [c["name"] for c in client.get(f"{V1}/companies").json()["results"]]
    assert names == ["АО Василёк", "ООО Ромашка"]
    assert [c["name"] for c in client.get(f"{V1}/companies", {"q": "ромаш"}).json()["results"]] == [
        "ООО Ромашка"
    ]

    detail = client.get(f"{V1}/companies/{company.pk}").json()
    response = client.patch(
        f"{V1}/companies/{company.pk}", {"industry": "Станки", "version": detail["version"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["industry"] == "Станки"
    stale = client.patch(
        f"{V1}/companies/{company.pk}", {"industry": "Мебель", "version": detail["version"]}, format="json"
    )
    assert_error(stale, 409, "__all__", "stale_version")
    assert_error(client.post(f"{V1}/companies", {"name": ""}, format="json"), 400, "name")
    assert Company.objects.get(pk=company.pk).industry == "Станки"

    assert api_for(other_manager).get(f"{V1}/companies/{company.pk}").status_code == 404
    assert (
        api_for(other_manager).patch(f"{V1}/companies/{company.pk}", {"name": "x"}, format="json").status_code
        == 404
    )


def test_company_notes(api_for, manager, company):
    response = api_for(manager).post(
        f"{V1}/companies/{company.pk}/notes", {"body": "Головной офис в Казани"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["company"] == company.pk


# --- leads -----------------------------------------------------------------------------------


def test_lead_create_and_list_by_contact(api_for, manager, contact, others_contact):
    client = api_for(manager)
    response = client.post(
        f"{V1}/leads",
        {"contact": contact.pk, "source": "manual", "channel": "call", "comment": "Звонок на мобильный"},
        format="json",
    )
    assert response.status_code == 201, response.content
    lead = response.json()
    assert lead["status"] == "new" and lead["verdict"] == "" and lead["responsible"] == manager.pk
    assert {
        "id",
        "contact",
        "source",
        "channel",
        "status",
        "verdict",
        "responsible",
        "created_at",
        "utm_source",
    } <= set(lead)

    listed = client.get(f"{V1}/leads", {"contact": contact.pk}).json()["results"]
    assert [item["id"] for item in listed] == [lead["id"]]
    assert client.get(f"{V1}/leads/{lead['id']}").json()["comment"] == "Звонок на мобильный"

    assert_error(client.post(f"{V1}/leads", {"contact": others_contact.pk}, format="json"), 400, "contact")
    assert_error(
        client.post(f"{V1}/leads", {"contact": contact.pk, "source": "pigeon"}, format="json"), 400, "source"
    )
    assert Lead.objects.count() == 1


def test_lead_triage_qualified_opens_a_deal(api_for, office_manager, manager, new_lead, pipeline):
    response = api_for(office_manager).post(
        f"{V1}/leads/{new_lead.pk}/triage",
        {"verdict": "qualified", "responsible": manager.pk, "pipeline": pipeline.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] == "qualified" and body["deal"] is not None
    deal = Deal.objects.get(pk=body["deal"])
    assert deal.responsible == manager and deal.pipeline == pipeline
    # The deal is the manager's now; the office manager does not see deals.
    assert api_for(manager).get(f"{V1}/deals/{deal.pk}").status_code == 200
    assert api_for(office_manager).get(f"{V1}/deals/{deal.pk}").status_code == 404

    again = api_for(manager).post(
        f"{V1}/leads/{new_lead.pk}/triage", {"verdict": "non_target"}, format="json"
    )
    assert_error(again, 409, "__all__", "already_triaged")
    assert Lead.objects.get(pk=new_lead.pk).verdict == "qualified"


def test_lead_triage_non_target_marks_the_contact(api_for, office_manager, new_lead):
    response = api_for(office_manager).post(
        f"{V1}/leads/{new_lead.pk}/triage", {"verdict": "non_target", "reason": "supplier"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["verdict_reason"] == "supplier"
    contact = Contact.objects.get(pk=new_lead.contact_id)
    assert contact.non_target and contact.non_target_reason == "supplier"


def test_lead_triage_duplicate(api_for, admin_user, new_lead, contact):
    client = api_for(admin_user)
    assert_error(
        client.post(f"{V1}/leads/{new_lead.pk}/triage", {"verdict": "duplicate"}, format="json"),
        400,
        "duplicate_of",
    )
    assert_error(
        client.post(f"{V1}/leads/{new_lead.pk}/triage", {"verdict": "maybe"}, format="json"), 400, "verdict"
    )
    assert Lead.objects.get(pk=new_lead.pk).verdict == ""
    response = client.post(
        f"{V1}/leads/{new_lead.pk}/triage",
        {"verdict": "duplicate", "duplicate_of": contact.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["contact"] == contact.pk
    assert Contact.objects.get(pk=new_lead.contact_id).merged_into_id == contact.pk


def test_lead_scope_per_role(
    api_for, manager, other_manager, head, office_manager, admin_user, contact, new_lead
):
    own = services.lead_create(actor=manager, contact=contact, source="manual", channel="call")
    url = f"{V1}/leads/{own.pk}"
    assert api_for(manager).get(url).status_code == 200
    assert api_for(head).get(url).status_code == 200
    assert api_for(admin_user).get(url).status_code == 200
    assert api_for(other_manager).get(url).status_code == 404
    assert (
        api_for(other_manager).post(f"{url}/triage", {"verdict": "non_target"}, format="json").status_code
        == 404
    )
    # The office manager sees untriaged traffic, including this new lead, but not salespeople's deals.
    ids = [lead["id"] for lead in api_for(office_manager).get(f"{V1}/leads").json()["results"]]
    assert new_lead.pk in ids
    assert api_for(manager).get(f"{V1}/leads/{new_lead.pk}").status_code == 404
    assert Lead.objects.get(pk=own.pk).verdict == ""


# --- deals -----------------------------------------------------------------------------------


def test_deal_create(api_for, manager, pipeline, contact, company):
    stage = stage_of(pipeline, index=1)
    response = api_for(manager).post(
        f"{V1}/deals",
        {
            "title": "Линия розлива",
            "pipeline": pipeline.pk,
            "stage": stage.pk,
            "contact": contact.pk,
            "company": company.pk,
            "amount": "2500000.5",
            "currency": "rub",
            "expected_close": "2030-03-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "2500000.50"
    assert body["currency"] == "RUB"
    assert body["stage"] == stage.pk and body["stage_name"] == stage.name and body["pipeline"] == pipeline.pk
    assert body["responsible"] == manager.pk and body["contact_name"] == "Петров Пётр"
    assert body["expected_close"] == "2030-03-01"


def test_deal_create_picks_the_first_open_stage(api_for, manager, pipeline):
    body = api_for(manager).post(f"{V1}/deals", {"title": "Просто сделка"}, format="json").json()
    assert body["stage"] == stage_of(pipeline).pk


def test_deal_create_straight_into_lost_with_a_reason(api_for, manager, pipeline):
    reason = LostReasonFactory(name="Дорого")
    lost = stage_of(pipeline, Stage.Kind.LOST)
    response = api_for(manager).post(
        f"{V1}/deals", {"title": "Отказ", "stage": lost.pk, "lost_reason": reason.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["pipeline"] == pipeline.pk
    assert response.json()["closed_at"] is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stage": "other_pipeline"}, "stage"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "много"}, "amount"),
        ({"stage": "lost"}, "lost_reason"),
        ({"title": ""}, "title"),
        ({"contact": "others"}, "contact"),
    ],
)
def test_deal_create_bad_input_saves_nothing(api_for, manager, pipeline, others_contact, change, field):
    other = PipelineFactory(name="Сервис")
    values = {
        "other_pipeline": stage_of(other).pk,
        "lost": stage_of(pipeline, Stage.Kind.LOST).pk,
        "others": others_contact.pk,
    }
    payload = {"title": "Сделка", "pipeline": pipeline.pk}
    payload.update({k: values.get(v, v) for k, v in change.items()})
    response = api_for(manager).post(f"{V1}/deals", payload, format="json")
    assert_error(response, 400, field)
    assert not Deal.objects.filter(title="Сделка").exists()


def test_deal_list_filters_and_scope(
    api_for, manager, other_manager, head, office_manager, admin_user, deal, others_deal, pipeline
):
    def ids(user, **params):
        response = api_for(user).get(f"{V1}/deals", params)
        assert response.status_code == 200, response.content
        return {d["id"] for d in response.json()["results"]}

    assert ids(manager) == {deal.pk}
    assert ids(other_manager) == {others_deal.pk}
    assert ids(head) == {deal.pk, others_deal.pk}
    assert ids(admin_user) == {deal.pk, others_deal.pk}
    assert ids(office_manager) == set()
    assert ids(admin_user, responsible=manager.pk) == {deal.pk}
    assert ids(admin_user, state="open", pipeline=pipeline.pk) == {deal.pk, others_deal.pk}
    assert ids(admin_user, state="won") == set()
    assert ids(admin_user, q="Чужая") == {others_deal.pk}


def test_deal_detail_scope(api_for, manager, other_manager, head, office_manager, admin_user, deal):
    url = f"{V1}/deals/{deal.pk}"
    for user, status in (
        (manager, 200),
        (head, 200),
        (admin_user, 200),
        (other_manager, 404),
        (office_manager, 404),
    ):
        assert api_for(user).get(url).status_code == status, user
    assert api_for(other_manager).patch(url, {"title": "Моя"}, format="json").status_code == 404
    target = stage_of(deal.pipeline, index=1)
    assert api_for(other_manager).post(f"{url}/move", {"stage": target.pk}, format="json").status_code == 404
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.title == "Поставка станков" and fresh.stage_id == deal.stage_id


def test_deal_patch_with_version(api_for, manager, deal):
    client = api_for(manager)
    read = client.get(f"{V1}/deals/{deal.pk}").json()
    assert read["amount"] == "1500000.00"
    response = client.patch(
        f"{V1}/deals/{deal.pk}", {"amount": "1750000", "version": read["version"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "1750000.00"
    stale = client.patch(f"{V1}/deals/{deal.pk}", {"amount": "1", "version": read["version"]}, format="json")
    assert_error(stale, 409, "__all__", "stale_version")
    assert_error(client.patch(f"{V1}/deals/{deal.pk}", {"amount": "-5"}, format="json"), 400, "amount")
    assert str(Deal.objects.get(pk=deal.pk).amount) == "1750000.00"


def test_deal_move(api_for, manager, deal, pipeline):
    client = api_for(manager)
    target = stage_of(pipeline, index=2)
    response = client.post(f"{V1}/deals/{deal.pk}/move", {"stage": target.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == target.pk
    assert Deal.objects.get(pk=deal.pk).stage == target


def test_deal_move_errors_save_nothing(api_for, manager, deal, pipeline):
    client = api_for(manager)
    lost = stage_of(pipeline, Stage.Kind.LOST)
    other = stage_of(PipelineFactory(name="Другая"))
    assert_error(
        client.post(f"{V1}/deals/{deal.pk}/move", {"stage": other.pk}, format="json"),
        400,
        "stage",
        "stage_pipeline_mismatch",
    )
    assert_error(
        client.post(f"{V1}/deals/{deal.pk}/move", {"stage": lost.pk}, format="json"),
        400,
        "lost_reason",
        "lost_reason_required",
    )
    assert_error(client.post(f"{V1}/deals/{deal.pk}/move", {}, format="json"), 400, "stage")
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.stage_id == deal.stage_id and fresh.closed_at is None and fresh.version == deal.version


def test_deal_move_to_lost_with_a_reason(api_for, manager, deal, pipeline):
    reason = LostReasonFactory(name="Дорого")
    lost = stage_of(pipeline, Stage.Kind.LOST)
    response = api_for(manager).post(
        f"{V1}/deals/{deal.pk}/move",
        {"stage": lost.pk, "lost_reason": reason.pk, "lost_comment": "Ушли к конкуренту"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lost_reason"] == reason.pk and body["lost_reason_name"] == "Дорого"
    assert body["stage_kind"] == "lost" and body["closed_at"] is not None


def test_deal_notes(api_for, manager, deal):
    client = api_for(manager)
    assert client.post(f"{V1}/deals/{deal.pk}/notes", {"body": "Выслал КП"}, format="json").status_code == 201
    notes = client.get(f"{V1}/deals/{deal.pk}/notes").json()["results"]
    assert [(n["body"], n["deal"]) for n in notes] == [("Выслал КП", deal.pk)]


# --- pipelines and lost reasons --------------------------------------------------------------


def test_pipelines_list_with_ordered_stages(api_for, manager, pipeline):
    body = api_for(manager).get(f"{V1}/pipelines").json()
    (item,) = body["results"]
    assert item["name"] == "Основная воронка"
    assert [s["name"] for s in item["stages"]] == [
        "Новая",
        "Переговоры",
        "Счёт выставлен",
        "Успешно",
        "Проиграна",
    ]
    assert [s["kind"] for s in item["stages"]][-2:] == ["won", "lost"]


def test_pipeline_create_by_admin(api_for, admin_user, manager, pipeline):
    payload = {
        "name": "Тендеры",
        "stages": [
            {"name": "Заявка"},
            {"name": "Торги", "probability": 40},
            {"name": "Выиграли", "kind": "won"},
        ],
    }
    assert_error(api_for(manager).post(f"{V1}/pipelines", payload, format="json"), 403, "__all__")
    response = api_for(admin_user).post(f"{V1}/pipelines", payload, format="json")
    assert response.status_code == 201, response.content
    assert [(s["name"], s["order"], s["kind"]) for s in response.json()["stages"]] == [
        ("Заявка", 0, "open"),
        ("Торги", 1, "open"),
        ("Выиграли", 2, "won"),
    ]
    assert_error(
        api_for(admin_user).post(f"{V1}/pipelines", payload, format="json"), 409, "name", "name_taken"
    )
    no_open = {"name": "Только финал", "stages": [{"name": "Успех", "kind": "won"}]}
    assert_error(api_for(admin_user).post(f"{V1}/pipelines", no_open, format="json"), 400, "stages")
    twice = {"name": "Повторы", "stages": [{"name": "Новая"}, {"name": "новая"}]}
    assert_error(api_for(admin_user).post(f"{V1}/pipelines", twice, format="json"), 400, "stages")
    assert set(Pipeline.objects.values_list("name", flat=True)) == {"Основная воронка", "Тендеры"}


def test_lost_reasons(api_for, admin_user, manager):
    LostReasonFactory(name="Дорого")
    assert [r["name"] for r in api_for(manager).get(f"{V1}/lost-reasons").json()["results"]] == ["Дорого"]
    assert_error(
        api_for(manager).post(f"{V1}/lost-reasons", {"name": "Долго"}, format="json"), 403, "__all__"
    )
    response = api_for(admin_user).post(f"{V1}/lost-reasons", {"name": "Долго"}, format="json")
    assert response.status_code == 201
    assert_error(
        api_for(admin_user).post(f"{V1}/lost-reasons", {"name": "дорого"}, format="json"), 409, "name"
    )
    assert_error(api_for(admin_user).post(f"{V1}/lost-reasons", {"name": ""}, format="json"), 400, "name")
    assert LostReason.objects.count() == 2


# --- query counts: a list costs the same for 3 rows and for 30 ----------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured), response.json()


def _fill(kind, start, stop, *, manager, pipeline, company):
    for n in range(start, stop):
        contact = ContactFactory(full_name=f"Клиент {n}", responsible=manager, company=company)
        Identity.objects.create(contact=contact, kind="phone", value=f"+7917{n:07d}")
        Identity.objects.create(contact=contact, kind="email", value=f"client{n}@example.ru")
        if kind == "deals":
            services.deal_create(
                actor=manager, title=f"Сделка {n}", pipeline=pipeline, contact=contact, company=company
            )
        elif kind == "leads":
            services.lead_create(actor=manager, contact=contact, source="form", channel="form")
        elif kind == "companies":
            services.company_create(actor=manager, name=f"Фирма {n}", responsible=manager)


# One query more than before custom fields: the definitions, read once per response.
@pytest.mark.parametrize(("kind", "limit"), [("contacts", 5), ("deals", 4), ("leads", 4), ("companies", 4)])
def test_list_query_count_does_not_grow_with_rows(
    api_for, manager, pipeline, company, kind, limit, django_assert_max_num_queries
):
    client = api_for(manager)
    url = f"{V1}/{kind}"
    _fill(kind, 0, 3, manager=manager, pipeline=pipeline, company=company)
    few, body = _queries(client, url)
    assert body["count"] >= 3
    _fill(kind, 3, 30, manager=manager, pipeline=pipeline, company=company)
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.json()["count"] >= 30
    assert len(response.json()["results"]) >= 30
    many, _body = _queries(client, url)
    assert many == few


def test_plain_contact_rows_are_the_serializers_output(api_for, admin_user, manager, company):
    """The contact list and ``?q=`` answer with ``contact_rows`` (plain rows from one query); each
    row must be exactly what ``ContactSerializer`` makes of the same contact."""
    import json

    from django.test import RequestFactory

    from otdel.accounts.tests.factories import UserFactory
    from otdel.crm.api.serializers import ContactSerializer, contact_rows

    nameless = UserFactory(full_name="", first_name="Иван", last_name="Петров")
    loginonly = UserFactory(full_name="", first_name="", last_name="")
    for code, kind in (("site", "url"), ("size", "number"), ("gone", "text")):
        services.custom_field_create(actor=None, entity="contact", code=code, name=code, type=kind)
    services.custom_field_update(actor=None, field=CustomField.objects.get(code="gone"), is_active=False)
    people = [
        services.contact_create(
            actor=admin_user,
            full_name="Петров Пётр",
            position="директор",
            company=company,
            responsible=manager,
            identities=[
                ("email", "petrov@example.ru"),
                ("phone", "+79123456789"),
                ("whatsapp", "+79123456780"),
                ("phone", "+74957770102;ext=12"),
                ("telegram", "@petrov"),
            ],
            custom={"site": "https://example.ru", "size": 12},
        ),
        services.contact_create(actor=admin_user, full_name="Без всего", identities=[], custom={}),
        services.contact_create(actor=admin_user, full_name="Иванова", responsible=nameless, custom={}),
        services.contact_create(actor=admin_user, full_name="Логин", responsible=loginonly, custom={}),
    ]
    Contact.objects.filter(pk=people[1].pk).update(custom={"gone": "x", "size": 3}, comment="коммент")
    ids = [c.pk for c in reversed(people)]
    request = RequestFactory().get("/")
    fresh = Contact.objects.select_related("company", "responsible").prefetch_related("identities")
    by_pk = fresh.in_bulk(ids)
    expected = ContactSerializer([by_pk[pk] for pk in ids], many=True, context={"request": request}).data
    assert json.loads(json.dumps(contact_rows(ids, request=request))) == json.loads(json.dumps(expected))
    # and through the API, for a search and for a plain page
    api = api_for(admin_user)
    found = api.get(f"{V1}/contacts", {"q": "петров петр"}).json()["results"]
    assert found[0] == json.loads(json.dumps(expected[-1]))
    listed = {row["id"]: row for row in api.get(f"{V1}/contacts").json()["results"]}
    assert [listed[pk] for pk in ids] == json.loads(json.dumps(expected))
