"""The pipelines and stages editor's services and API: create, rename, reorder, delete moving deals."""

from __future__ import annotations

import pytest

from otdel.automation.models import Rule
from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_head_of_sales_adds_renames_and_moves_stages(api_for, head, pipeline):
    api = api_for(head)
    made = api.post(
        f"{V1}/pipelines/{pipeline.pk}/stages",
        {"name": "Демо", "kind": "open", "position": 1, "color": "#ffcc00"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert names(pipeline)[:3] == ["Новая", "Демо", "Переговоры"]
    stage_id = made.json()["id"]
    renamed = api.patch(f"{V1}/stages/{stage_id}", {"name": "Демонстрация", "position": 0}, format="json")
    assert renamed.status_code == 200, renamed.json()
    assert names(pipeline)[:2] == ["Демонстрация", "Новая"]
    assert list(pipeline.stages.order_by("order").values_list("order", flat=True)) == list(range(6))
    duplicate = api.post(f"{V1}/pipelines/{pipeline.pk}/stages", {"name": "новая"}, format="json")
    assert duplicate.status_code == 409
    order = list(reversed(pipeline.stages.order_by("order").values_list("pk", flat=True)))
    reordered = api.post(f"{V1}/pipelines/{pipeline.pk}/reorder", {"stages": order}, format="json")
    assert reordered.status_code == 200
    assert [s["id"] for s in reordered.json()["stages"]] == order
    assert (
        api.post(f"{V1}/pipelines/{pipeline.pk}/reorder", {"stages": order[:2]}, format="json").status_code
        == 400
    )
    assert ObjectChange.objects.filter(object_id=pipeline.pk, changes__has_key="stages").exists()


def test_salesperson_cannot_edit_stages(api_for, manager, pipeline):
    stage = pipeline.stages.first()
    assert api_for(manager).patch(f"{V1}/stages/{stage.pk}", {"name": "X"}, format="json").status_code == 403
    assert api_for(manager).get(f"{V1}/stages/{stage.pk}").status_code == 200


def test_delete_stage_moves_its_deals_in_one_go(api_for, admin_user, manager, pipeline):
    first, second = pipeline.stages.order_by("order")[:2]
    deals = [services.deal_create(actor=manager, title=f"D{n}", stage=first) for n in range(3)]
    api = api_for(admin_user)
    refused = api.delete(f"{V1}/stages/{first.pk}")
    assert refused.status_code == 409 and refused.json()["code"] == "stage_has_deals"
    won = pipeline.stages.get(kind="won")
    wrong_kind = api.delete(f"{V1}/stages/{first.pk}?move_to={won.pk}")
    assert wrong_kind.status_code == 400
    other = Pipeline.objects.create(name="Другая")
    foreign = Stage.objects.create(pipeline=other, name="Там")
    assert api.delete(f"{V1}/stages/{first.pk}?move_to={foreign.pk}").status_code == 400
    done = api.delete(f"{V1}/stages/{first.pk}?move_to={second.pk}")
    assert done.status_code == 204
    assert not Stage.objects.filter(pk=first.pk).exists()
    assert set(Deal.objects.filter(stage=second).values_list("pk", flat=True)) == {d.pk for d in deals}
    for deal in deals:
        change = ObjectChange.objects.filter(object_id=deal.pk, action="move").latest("id")
        assert change.changes == {"stage_id": [first.pk, second.pk]} and change.user == admin_user
    assert names(pipeline)[0] == "Переговоры"


def test_delete_refuses_while_automation_names_the_stage(api_for, admin_user, pipeline):
    stage = pipeline.stages.order_by("order")[1]
    Rule.objects.create(
        name="Задача на переговорах",
        event="deal.stage_entered",
        trigger={"event": "deal.stage_entered", "stage": stage.pk},
        stage=stage,
        actions=[{"action": "task", "title": "Позвонить"}],
    )
    response = api_for(admin_user).delete(f"{V1}/stages/{stage.pk}")
    assert response.status_code == 409
    assert "Задача на переговорах" in str(response.json()["errors"])
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_last_open_stage_stays(admin_user, pipeline):
    open_stages = list(pipeline.stages.filter(kind="open"))
    for stage in open_stages[1:]:
        services.stage_delete(actor=admin_user, stage=stage)
    with pytest.raises(Exception, match="at least one stage in progress"):
        services.stage_delete(actor=admin_user, stage=open_stages[0])


def test_kind_change_refused_with_deals(admin_user, manager, pipeline):
    stage = pipeline.stages.order_by("order").first()
    services.deal_create(actor=manager, title="D", stage=stage)
    with pytest.raises(Exception, match="Deals are in this stage"):
        services.stage_update(actor=admin_user, stage=stage, kind="won")


def test_pipeline_rename_and_default(api_for, head, pipeline):
    second = services.pipeline_create(actor=head, name="Тендеры", stages=[{"name": "Заявка"}])
    api = api_for(head)
    response = api.patch(
        f"{V1}/pipelines/{second.pk}", {"name": "Госзакупки", "is_default": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert list(Pipeline.objects.filter(is_default=True).values_list("name", flat=True)) == ["Госзакупки"]
    assert api.patch(f"{V1}/pipelines/{second.pk}", {"is_active": False}, format="json").status_code == 400
    made = api.post(f"{V1}/pipelines", {"name": "Сервис", "stages": [{"name": "Новая"}]}, format="json")
    assert made.status_code == 201


def test_kanban_without_pipelines_links_to_the_editor(client, admin_user, manager):
    client.force_login(admin_user)
    page = client.get("/deals/").content.decode()
    assert "/settings/pipelines/" in page and "admin site" not in page
    client.force_login(manager)
    page = client.get("/deals/").content.decode()
    assert "/settings/pipelines/" not in page and "head of sales sets them up" in page


def test_card_block_saves_custom_values_with_the_change_log(client, manager):
    services.custom_field_create(actor=None, entity="contact", code="birthday", name="Birthday", type="date")
    contact = services.contact_create(actor=manager, full_name="Смирнова Ольга", responsible=manager)
    client.force_login(manager)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'data-testid="custom-fields"' in page
    response = client.post(
        f"/custom/contact/{contact.pk}/",
        {"custom.birthday": "1985-03-08", "version": contact.version, "next": f"/contacts/{contact.pk}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/"
    contact.refresh_from_db()
    assert contact.custom == {"birthday": "1985-03-08"}
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Birthday" in page and "03/08/1985" in page  # the history line names the field
    # Someone else's contact is a 404.
    other = services.contact_create(actor=None, full_name="Чужой")
    assert client.post(f"/custom/contact/{other.pk}/", {"custom.birthday": "1985-03-08"}).status_code == 404
    assert client.post(f"/custom/nothing/{contact.pk}/", {}).status_code == 404


def test_deal_form_has_the_custom_fields_and_refuses_a_missing_required_one(client, manager, pipeline):
    services.custom_field_create(
        actor=None, entity="deal", code="budget", name="Budget", type="money", required=True
    )
    client.force_login(manager)
    page = client.get("/deals/new/").content.decode()
    assert 'name="custom.budget"' in page
    refused = client.post("/deals/new/", {"title": "Станки", "pipeline": pipeline.pk, "currency": "RUB"})
    assert refused.status_code == 200
    assert "“Budget” is required." in refused.content.decode()
    assert not Deal.objects.filter(title="Станки").exists()
    client.post(
        "/deals/new/",
        {"title": "Станки", "pipeline": pipeline.pk, "currency": "RUB", "custom.budget": "1500.5"},
    )
    assert Deal.objects.get(title="Станки").custom == {"budget": "1500.50"}
