"""Custom fields: definitions, values by type through the API, filters on their index, the change log."""

from __future__ import annotations

import pytest
from django.db import connection

from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.custom import custom_filter, index_name
from otdel.crm.models import Contact, CustomField, Deal

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def define(entity, code, type, **extra):
    return services.custom_field_create(
        actor=None, entity=entity, code=code, name=code.title(), type=type, **extra
    )


@pytest.fixture
def deal_fields(db):
    return {
        "note": define("deal", "note", "text"),
        "qty": define("deal", "qty", "number"),
        "budget": define("deal", "budget", "money"),
        "due": define("deal", "due", "date"),
        "region": define("deal", "region", "list", options=["Москва", "Казань"]),
        "tags": define("deal", "tags", "multi_list", options=["опт", "розница", "VIP"]),
        "vip": define("deal", "vip", "checkbox"),
        "engineer": define("deal", "engineer", "user"),
        "site": define("deal", "site", "url"),
    }


def test_define_field_through_api_and_read_back(api_for, admin_user, head, manager):
    api = api_for(head)
    response = api.post(
        f"{V1}/custom-fields",
        {"entity": "contact", "code": "birthday", "name": "День рождения", "type": "date"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["code"] == "birthday"
    # A salesperson reads definitions but cannot make them.
    assert (
        api_for(manager).get(f"{V1}/custom-fields?entity=contact").json()["results"][0]["code"] == "birthday"
    )
    refused = api_for(manager).post(
        f"{V1}/custom-fields", {"entity": "deal", "code": "x", "name": "X", "type": "text"}, format="json"
    )
    assert refused.status_code == 403
    twice = api.post(
        f"{V1}/custom-fields",
        {"entity": "contact", "code": "birthday", "name": "Ещё", "type": "text"},
        format="json",
    )
    assert twice.status_code == 409
    bad_code = api.post(
        f"{V1}/custom-fields",
        {"entity": "deal", "code": "Bad code", "name": "X", "type": "text"},
        format="json",
    )
    assert bad_code.status_code == 400 and "code" in bad_code.json()["errors"]
    no_options = api.post(
        f"{V1}/custom-fields",
        {"entity": "deal", "code": "kind", "name": "Вид", "type": "list"},
        format="json",
    )
    assert no_options.status_code == 400 and "options" in no_options.json()["errors"]


def test_every_type_round_trips_through_the_deal_api(api_for, manager, pipeline, deal_fields):
    api = api_for(manager)
    custom = {
        "note": "  позвонить после 15:00 ",
        "qty": "12",
        "budget": "150000.5",
        "due": "2026-12-31",
        "region": "Казань",
        "tags": ["VIP", "опт"],
        "vip": True,
        "engineer": manager.pk,
        "site": "https://example.ru/order",
    }
    response = api.post(f"{V1}/deals", {"title": "Станки", "custom": custom}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()["custom"]
    assert body == {
        "note": "позвонить после 15:00",
        "qty": 12,
        "budget": "150000.50",
        "due": "2026-12-31",
        "region": "Казань",
        "tags": ["опт", "VIP"],  # in the order the options are defined
        "vip": True,
        "engineer": manager.pk,
        "site": "https://example.ru/order",
    }
    deal_id = response.json()["id"]
    # PATCH changes only the codes sent; null clears one.
    patched = api.patch(f"{V1}/deals/{deal_id}", {"custom": {"qty": 3.5, "note": None}}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["custom"]["qty"] == 3.5
    assert "note" not in patched.json()["custom"] and patched.json()["custom"]["region"] == "Казань"
    assert api.get(f"{V1}/deals/{deal_id}").json()["custom"]["budget"] == "150000.50"


@pytest.mark.parametrize(
    "code,value",
    [
        ("qty", "двенадцать"),
        ("qty", True),
        ("budget", "1.234"),
        ("due", "31.12.2026"),
        ("region", "Тула"),
        ("tags", "опт"),
        ("tags", ["опт", "нет такого"]),
        ("vip", "yes"),
        ("engineer", 999999),
        ("site", "ftp://example.ru"),
        ("note", {"nested": 1}),
        ("unknown_code", "x"),
    ],
)
def test_bad_values_are_400_naming_the_field(api_for, manager, pipeline, deal_fields, code, value):
    api = api_for(manager)
    before = Deal.objects.count()
    response = api.post(f"{V1}/deals", {"title": "Станки", "custom": {code: value}}, format="json")
    assert response.status_code == 400, response.json()
    assert f"custom.{code}" in response.json()["errors"]
    assert Deal.objects.count() == before  # nothing half-written


def test_custom_must_be_an_object(api_for, manager, pipeline, deal_fields):
    response = api_for(manager).post(f"{V1}/deals", {"title": "Станки", "custom": ["x"]}, format="json")
    assert response.status_code == 400


def test_required_field_on_create_and_on_clearing(api_for, manager, pipeline):
    define("contact", "inn_person", "text", required=True)
    api = api_for(manager)
    missing = api.post(f"{V1}/contacts", {"full_name": "Смирнова Ольга"}, format="json")
    assert missing.status_code == 400 and "custom.inn_person" in missing.json()["errors"]
    made = api.post(
        f"{V1}/contacts",
        {"full_name": "Смирнова Ольга", "custom": {"inn_person": "500100732259"}},
        format="json",
    )
    assert made.status_code == 201
    cleared = api.patch(f"{V1}/contacts/{made.json()['id']}", {"custom": {"inn_person": ""}}, format="json")
    assert cleared.status_code == 400
    # Records the system makes itself (a lead from a call) are not held to "required".
    contact = services.contact_create(actor=None, full_name="Звонивший")
    assert contact.custom == {}


def test_companies_and_leads_take_custom_values(api_for, manager):
    define("company", "segment", "list", options=["A", "B"])
    define("lead", "budget_known", "checkbox")
    api = api_for(manager)
    company = api.post(f"{V1}/companies", {"name": "ООО Вектор", "custom": {"segment": "B"}}, format="json")
    assert company.status_code == 201 and company.json()["custom"] == {"segment": "B"}
    contact = services.contact_create(actor=manager, full_name="Клиент", responsible=manager)
    lead = api.post(f"{V1}/leads", {"contact": contact.pk, "custom": {"budget_known": False}}, format="json")
    assert lead.status_code == 201 and lead.json()["custom"] == {"budget_known": False}
    changed = api.patch(f"{V1}/leads/{lead.json()['id']}", {"custom": {"budget_known": True}}, format="json")
    assert changed.status_code == 200 and changed.json()["custom"] == {"budget_known": True}
    wrong = api.patch(f"{V1}/leads/{lead.json()['id']}", {"custom": {"budget_known": "да"}}, format="json")
    assert wrong.status_code == 400 and "custom.budget_known" in wrong.json()["errors"]


def test_list_filters_by_each_type(api_for, manager, pipeline, deal_fields):
    api = api_for(manager)
    a = services.deal_create(
        actor=manager,
        title="A",
        custom={
            "note": "x",
            "qty": 5,
            "budget": "100.00",
            "due": "2026-12-01",
            "region": "Москва",
            "tags": ["опт"],
            "vip": True,
            "engineer": manager.pk,
        },
    )
    b = services.deal_create(
        actor=manager,
        title="B",
        custom={
            "qty": 50,
            "budget": "5000.00",
            "due": "2027-01-15",
            "region": "Казань",
            "tags": ["опт", "VIP"],
            "vip": False,
        },
    )
    services.deal_create(actor=manager, title="C")

    def ids(query):
        response = api.get(f"{V1}/deals?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("custom__region=Казань") == {b.pk}
    assert ids("custom__note=x") == {a.pk}
    assert ids("custom__qty__gte=10") == {b.pk}
    assert ids("custom__qty__lte=10") == {a.pk}
    assert ids("custom__budget__gte=1000") == {b.pk}
    assert ids("custom__due__lte=2026-12-31") == {a.pk}
    assert ids("custom__tags=VIP") == {b.pk}
    assert ids("custom__tags=опт") == {a.pk, b.pk}
    assert ids("custom__vip=true") == {a.pk}
    assert ids("custom__vip=false") == {b.pk}
    assert ids(f"custom__engineer={manager.pk}") == {a.pk}
    assert ids("custom__region=Москва&custom__qty__gte=1") == {a.pk}


def test_unknown_filter_code_is_400(api_for, manager, pipeline, deal_fields):
    response = api_for(manager).get(f"{V1}/deals?custom__nope=1")
    assert response.status_code == 400
    assert api_for(manager).get(f"{V1}/deals?custom__region__gte=1").status_code == 400


def test_change_log_records_custom_values(manager, pipeline, deal_fields):
    deal = services.deal_create(actor=manager, title="A", custom={"region": "Москва"})
    services.deal_update(actor=manager, deal=deal, custom={"region": "Казань"})
    change = ObjectChange.objects.filter(object_id=deal.pk, action="update").latest("id")
    assert change.changes["custom"] == [{"region": "Москва"}, {"region": "Казань"}]
    assert change.user == manager


def test_deactivate_keeps_values_and_delete_refuses_while_used(api_for, head, manager, pipeline, deal_fields):
    deal = services.deal_create(actor=manager, title="A", custom={"region": "Москва"})
    api = api_for(head)
    field = deal_fields["region"]
    assert api.delete(f"{V1}/custom-fields/{field.pk}").status_code == 409
    off = api.patch(f"{V1}/custom-fields/{field.pk}", {"is_active": False}, format="json")
    assert off.status_code == 200
    assert "region" not in api_for(manager).get(f"{V1}/deals/{deal.pk}").json()["custom"]
    assert Deal.objects.get(pk=deal.pk).custom == {"region": "Москва"}  # kept
    # A deactivated field takes no new values.
    refused = api_for(manager).patch(f"{V1}/deals/{deal.pk}", {"custom": {"region": "Казань"}}, format="json")
    assert refused.status_code == 400
    api.patch(f"{V1}/custom-fields/{field.pk}", {"is_active": True}, format="json")
    assert api_for(manager).get(f"{V1}/deals/{deal.pk}").json()["custom"] == {"region": "Москва"}
    # An option in use cannot be removed; the type cannot change.
    removing = api.patch(f"{V1}/custom-fields/{field.pk}", {"options": ["Казань"]}, format="json")
    assert removing.status_code == 400 and "options" in removing.json()["errors"]
    unused = api.delete(f"{V1}/custom-fields/{deal_fields['site'].pk}")
    assert unused.status_code == 204
    assert not CustomField.objects.filter(code="site").exists()


def test_filter_query_uses_the_same_expression_as_the_index(manager, pipeline, deal_fields):
    """The index is created with the field, and the filter's SQL repeats its expression."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "crm_deal")
    assert index_name(deal_fields["region"]) in indexes
    assert index_name(deal_fields["qty"]) in indexes
    sql = str(custom_filter(Deal.objects.all(), {"custom__region": "Москва"}).query)
    if connection.vendor == "postgresql":
        assert """("crm_deal"."custom" ->> 'region')""" in sql
    else:
        assert """CAST(json_extract("crm_deal"."custom", '$.region') AS TEXT)""" in sql


def test_the_filter_uses_the_field_index(manager, pipeline, deal_fields):
    deals = [
        Deal(
            title=f"D{n}",
            pipeline=pipeline,
            stage=pipeline.stages.first(),
            custom={"region": "Москва" if n % 500 else "Казань", "qty": n},
        )
        for n in range(3000)
    ]
    Deal.objects.bulk_create(deals)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_deal" if connection.vendor == "postgresql" else "ANALYZE")
    for params, index in (
        ({"custom__region": "Казань"}, deal_fields["region"]),
        ({"custom__qty__gte": "2990"}, deal_fields["qty"]),
    ):
        # The planner's choice for the filter alone (PostgreSQL's EXPLAIN, SQLite's QUERY PLAN).
        plan = custom_filter(Deal.objects.order_by(), params).explain()
        assert index_name(index) in plan, plan


def test_contact_custom_values_are_personal_data():
    from otdel.privacy.register import register

    entry = register()["crm.contact"]
    assert "custom" in entry.pd
    assert Contact._meta.get_field("custom")


def test_automation_conditions_on_custom_fields(api_for, head, manager, pipeline, deal_fields):
    from otdel.automation.rules import conditions_hold, subject_fields

    deal = services.deal_create(
        actor=manager, title="A", custom={"region": "Казань", "vip": True, "tags": ["опт"], "qty": 7}
    )
    fields = subject_fields(deal)
    assert conditions_hold([{"field": "custom.region", "op": "eq", "value": "Казань"}], fields)
    assert not conditions_hold([{"field": "custom.region", "op": "eq", "value": "Москва"}], fields)
    assert conditions_hold([{"field": "custom.vip", "op": "eq", "value": True}], fields)
    assert conditions_hold([{"field": "custom.vip", "op": "eq", "value": "true"}], fields)
    assert conditions_hold([{"field": "custom.tags", "op": "contains", "value": "опт"}], fields)
    assert not conditions_hold([{"field": "custom.tags", "op": "contains", "value": "VIP"}], fields)
    assert conditions_hold([{"field": "custom.qty", "op": "gt", "value": 5}], fields)
    assert conditions_hold([{"field": "custom.note", "op": "empty"}], fields)

    api = api_for(head)
    rule = {
        "name": "VIP из Казани",
        "trigger": {"event": "deal.created"},
        "conditions": [{"field": "custom.region", "op": "eq", "value": "Казань"}],
        "actions": [{"action": "task", "title": "Позвонить"}],
    }
    assert api.post(f"{V1}/automation/rules", rule, format="json").status_code == 201
    rule["conditions"] = [{"field": "custom.nope", "op": "eq", "value": 1}]
    response = api.post(f"{V1}/automation/rules", rule, format="json")
    assert response.status_code == 400 and "conditions[0].field" in response.json()["errors"]


def test_document_context_has_custom_fields(manager, pipeline, deal_fields):
    import datetime

    from otdel.documents.context import deal_context, reference, sample_context

    define("contact", "birthday", "date")
    contact = services.contact_create(actor=manager, full_name="Иванов", custom={"birthday": "1980-05-17"})
    deal = services.deal_create(
        actor=manager, title="A", contact=contact, custom={"region": "Казань", "budget": "1500.5"}
    )
    context = deal_context(
        deal=deal, items=[], legal_entity=None, number="1", date=datetime.date(2026, 12, 2)
    )
    assert context["deal"]["custom"]["region"] == "Казань"
    assert context["deal"]["custom"]["note"] == ""  # every active field is there, empty when unset
    assert context["deal"]["custom"]["budget"].startswith("1,500.50")
    assert context["contact"]["custom"]["birthday"] in ("05/17/1980", "17.05.1980")
    assert sample_context()["deal"]["custom"]["region"] == "Москва"
    assert any(row[0] == "deal.custom.region" and row[1] for row in reference())


def test_missing_indexes_come_back_after_migrate(pipeline, deal_fields):
    from otdel.crm.apps import _custom_indexes_ensure
    from otdel.crm.custom import index_drop

    index_drop(deal_fields["region"])
    with connection.cursor() as cursor:
        assert index_name(deal_fields["region"]) not in connection.introspection.get_constraints(
            cursor, "crm_deal"
        )
    _custom_indexes_ensure(sender=None)
    with connection.cursor() as cursor:
        assert index_name(deal_fields["region"]) in connection.introspection.get_constraints(
            cursor, "crm_deal"
        )
