"""CRM pages: what each role sees, what the forms refuse, the kanban moves, triage and search."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.models import Company, Contact, Deal, Identity, Lead, Note, Stage
from otdel.crm.tests.factories import ContactFactory, LeadFactory, LostReasonFactory, PipelineFactory
from otdel.routing.triage import lead_triage

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(manager):
    return services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[("phone", "+79123456789"), ("email", "petrov@example.ru")],
        responsible=manager,
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
def lead(manager, contact):
    return services.lead_create(
        actor=manager, contact=contact, source="form", channel="form", comment="Нужен станок"
    )


def stage_of(pipeline, kind=Stage.Kind.OPEN, index=0):
    return list(pipeline.stages.filter(kind=kind).order_by("order"))[index]


def make_deals(actor, pipeline, stage, count, prefix="Сделка"):
    reason = LostReasonFactory() if stage.kind == Stage.Kind.LOST else None
    return [
        services.deal_create(
            actor=actor,
            title=f"{prefix} {n}",
            pipeline=pipeline,
            stage=stage,
            amount="1000",
            lost_reason=reason,
        )
        for n in range(count)
    ]


# --- access ----------------------------------------------------------------------------------


def test_pages_need_login(client, deal):
    for url in ["/", "/deals/", f"/deals/{deal.pk}/", "/contacts/", "/leads/", "/search/?q=x"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_home_sends_sales_to_my_day_and_triage_to_the_inbox(client, manager, office_manager):
    client.force_login(manager)
    assert client.get("/")["Location"] == reverse("my_day")
    client.force_login(office_manager)
    assert client.get("/")["Location"] == reverse("lead_inbox")
    client.force_login(UserFactory(role=Role.APPROVER))
    assert client.get("/")["Location"] == reverse("approvals_inbox")


def test_every_page_renders_for_its_owner(client, manager, deal, contact, company, lead):
    client.force_login(manager)
    urls = [
        reverse("kanban"),
        reverse("kanban_column", args=[deal.stage_id]),
        reverse("deal_list"),
        reverse("deal_detail", args=[deal.pk]),
        reverse("deal_create"),
        reverse("deal_edit", args=[deal.pk]),
        reverse("contact_list"),
        reverse("contact_detail", args=[contact.pk]),
        reverse("contact_create"),
        reverse("contact_edit", args=[contact.pk]),
        reverse("company_list"),
        reverse("company_detail", args=[company.pk]),
        reverse("company_create"),
        reverse("company_edit", args=[company.pk]),
        reverse("lead_inbox"),
        reverse("lead_list"),
        reverse("lead_detail", args=[lead.pk]),
        reverse("lead_create"),
        reverse("search") + "?q=Поставка",
        reverse("contact_pick") + "?q=Петров",
        reverse("company_pick") + "?q=ромашка",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Поставка станков" in client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    card = client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "+7 912 345-67-89" in card and "petrov@example.ru" in card and "Поставка станков" in card
    assert "ООО Ромашка" in client.get(reverse("deal_detail", args=[deal.pk])).content.decode()


def test_triage_pages_render_for_the_office_manager(client, office_manager):
    untriaged = LeadFactory(comment="Хочу купить")
    client.force_login(office_manager)
    for url in [reverse("lead_inbox"), reverse("lead_list"), reverse("lead_detail", args=[untriaged.pk])]:
        assert client.get(url).status_code == 200
    assert "Хочу купить" in client.get(reverse("lead_inbox")).content.decode()


def test_another_managers_records_are_404(client, other_manager, deal, contact, company, lead):
    client.force_login(other_manager)
    for url in [
        reverse("deal_detail", args=[deal.pk]),
        reverse("deal_edit", args=[deal.pk]),
        reverse("contact_detail", args=[contact.pk]),
        reverse("contact_edit", args=[contact.pk]),
        reverse("company_detail", args=[company.pk]),
        reverse("lead_detail", args=[lead.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("deal_move", args=[deal.pk]), {"stage": stage_of(deal.pipeline, index=1).pk}
    )
    assert response.status_code == 404
    assert client.post(reverse("deal_note_add", args=[deal.pk]), {"body": "чужое"}).status_code == 404
    assert (
        client.post(
            reverse("lead_triage", args=[lead.pk]), {f"lead{lead.pk}-verdict": "qualified"}
        ).status_code
        == 404
    )
    deal.refresh_from_db()
    lead.refresh_from_db()
    assert deal.stage.order == 0 and lead.verdict == "" and not Note.objects.exists()
    board = client.get(reverse("kanban")).content.decode()
    assert "Поставка станков" not in board
    assert client.get(reverse("search") + "?q=Петров").context["results"]["contacts"] == []


def test_head_of_sales_sees_the_department(client, head, deal):
    client.force_login(head)
    assert client.get(reverse("deal_detail", args=[deal.pk])).status_code == 200


# --- kanban ----------------------------------------------------------------------------------


def test_kanban_shows_columns_with_counts_and_localized_totals(client, manager, pipeline):
    first = stage_of(pipeline)
    services.deal_create(actor=manager, title="Большая", pipeline=pipeline, stage=first, amount="1234567")
    services.deal_create(actor=manager, title="Малая", pipeline=pipeline, stage=first, amount="1000")
    manager.language = "ru"
    manager.save()
    client.force_login(manager)
    html = client.get(reverse("kanban")).content.decode()
    for stage in pipeline.stages.all():
        assert stage.name in html
    assert "1\u00a0235\u00a0567\u00a0₽" in html  # grouped the Russian way
    assert 'data-role="count">2<' in html
    assert "Большая" in html and "Малая" in html


def test_kanban_filters_by_text_and_responsible(client, head, manager, other_manager, pipeline):
    services.deal_create(actor=manager, title="Станок", pipeline=pipeline, amount="1")
    services.deal_create(actor=other_manager, title="Пресс", pipeline=pipeline, amount="1")
    client.force_login(head)
    html = client.get(reverse("kanban") + "?q=Стан").content.decode()
    assert "Станок" in html and "Пресс" not in html
    html = client.get(reverse("kanban") + f"?responsible={other_manager.pk}").content.decode()
    assert "Пресс" in html and "Станок" not in html


def test_kanban_pipeline_switcher(client, manager, pipeline):
    other = PipelineFactory(name="Сервис", is_default=False, stages=[("Заявка", "open"), ("Сделано", "won")])
    services.deal_create(actor=manager, title="Ремонт", pipeline=other, amount="1")
    client.force_login(manager)
    assert "Ремонт" not in client.get(reverse("kanban")).content.decode()
    html = client.get(reverse("kanban") + f"?pipeline={other.pk}").content.decode()
    assert "Ремонт" in html and "Заявка" in html


def test_kanban_loads_cards_in_pages(client, manager, pipeline):
    first = stage_of(pipeline)
    make_deals(manager, pipeline, first, 25)
    client.force_login(manager)
    html = client.get(reverse("kanban")).content.decode()
    assert html.count('data-testid="deal-card"') == 20
    assert 'data-testid="load-more"' in html
    url = reverse("kanban_column", args=[first.pk])
    page = client.get(url + "?offset=20").content.decode()
    assert page.count('data-testid="deal-card"') == 5
    assert 'data-testid="load-more"' not in page and 'hx-swap-oob="true"' in page
    assert client.get(url + "?offset=0").content.decode().count('data-testid="deal-card"') == 20
    # An offset no database integer holds is no offset (it was a 500 on PostgreSQL).
    huge = client.get(url + "?offset=99999999999999999999")
    assert huge.status_code == 200 and huge.content.decode().count('data-testid="deal-card"') == 20


@pytest.mark.parametrize("deals_per_stage", [1, 30])
def test_kanban_query_count_does_not_grow_with_deals(
    client, manager, pipeline, django_assert_num_queries, deals_per_stage
):
    for stage in pipeline.stages.all():
        make_deals(manager, pipeline, stage, deals_per_stage)
    client.force_login(manager)
    client.get(reverse("kanban"))  # warm the content-type cache
    # session, user, pipelines, stages, totals, lost reasons, one page of cards per stage (5),
    # the unread notifications and the approvals awaiting the user in the top bar
    with django_assert_num_queries(13):
        response = client.get(reverse("kanban"))
    assert response.status_code == 200


@pytest.mark.parametrize("deals_in_stage", [3, 45])
def test_kanban_column_query_count_does_not_grow_with_deals(
    client, manager, pipeline, django_assert_num_queries, deals_in_stage
):
    stage = stage_of(pipeline)
    make_deals(manager, pipeline, stage, deals_in_stage)
    client.force_login(manager)
    # session, user, stage, one page of cards
    with django_assert_num_queries(4):
        response = client.get(reverse("kanban_column", args=[stage.pk]) + "?offset=20")
    assert response.status_code == 200


def test_move_to_another_column_saves_and_returns_totals(client, manager, pipeline, deal):
    target = stage_of(pipeline, index=1)
    client.force_login(manager)
    response = client.post(
        reverse("deal_move", args=[deal.pk]), {"stage": target.pk, "version": deal.version}
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage_id == target.pk
    data = response.json()
    assert data["deal"]["version"] == deal.version
    columns = {c["stage"]: c for c in data["columns"]}
    assert columns[target.pk]["count"] == 1 and "1,500,000" in columns[target.pk]["total"]
    assert columns[stage_of(pipeline).pk]["count"] == 0
    assert ObjectChange.objects.filter(
        object_id=deal.pk, action="update", changes__has_key="stage_id"
    ).exists()


def test_move_within_a_column_orders_cards(client, manager, pipeline):
    stage = stage_of(pipeline)
    a, b, c = make_deals(manager, pipeline, stage, 3)  # each new deal goes on top: c, b, a
    client.force_login(manager)
    assert (
        client.post(reverse("deal_move", args=[c.pk]), {"stage": stage.pk, "before": a.pk}).status_code == 200
    )
    order = list(Deal.objects.filter(stage=stage).order_by("position", "-id").values_list("title", flat=True))
    assert order == [b.title, c.title, a.title]
    assert (
        client.post(reverse("deal_move", args=[b.pk]), {"stage": stage.pk, "after": a.pk}).status_code == 200
    )
    order = list(Deal.objects.filter(stage=stage).order_by("position", "-id").values_list("title", flat=True))
    assert order == [c.title, a.title, b.title]


def test_drop_at_the_bottom_of_another_column_stays_at_the_bottom(client, manager, pipeline):
    first, second = stage_of(pipeline), stage_of(pipeline, index=1)
    moving = make_deals(manager, pipeline, first, 1)[0]
    top, bottom = reversed(make_deals(manager, pipeline, second, 2))
    client.force_login(manager)
    response = client.post(reverse("deal_move", args=[moving.pk]), {"stage": second.pk, "after": bottom.pk})
    assert response.status_code == 200
    order = list(Deal.objects.filter(stage=second).order_by("position", "-id").values_list("pk", flat=True))
    assert order == [top.pk, bottom.pk, moving.pk]


def test_move_to_lost_needs_a_reason(client, manager, pipeline, deal):
    lost = stage_of(pipeline, Stage.Kind.LOST)
    client.force_login(manager)
    response = client.post(reverse("deal_move", args=[deal.pk]), {"stage": lost.pk})
    assert response.status_code == 400
    assert "lost_reason" in response.json()["errors"]
    assert response.json()["message"] == "Choose why the deal was lost."
    deal.refresh_from_db()
    assert deal.stage.kind == Stage.Kind.OPEN
    reason = LostReasonFactory(name="Дорого")
    response = client.post(
        reverse("deal_move", args=[deal.pk]),
        {"stage": lost.pk, "lost_reason": reason.pk, "lost_comment": "нашли дешевле"},
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage_id, deal.lost_reason_id, deal.lost_comment) == (lost.pk, reason.pk, "нашли дешевле")


def test_kanban_offers_lost_reasons_in_the_dialog(client, manager, pipeline):
    LostReasonFactory(name="Ушли к конкуренту")
    client.force_login(manager)
    html = client.get(reverse("kanban")).content.decode()
    assert 'id="lost-modal"' in html and "Ушли к конкуренту" in html
    assert 'data-stage-kind="lost"' in html


def test_move_with_a_stale_version_is_refused(client, manager, pipeline, deal):
    stale = deal.version
    services.deal_update(actor=manager, deal=Deal.objects.get(pk=deal.pk), title="Изменено")
    client.force_login(manager)
    response = client.post(
        reverse("deal_move", args=[deal.pk]), {"stage": stage_of(pipeline, index=1).pk, "version": stale}
    )
    assert response.status_code == 409
    assert "someone else" in response.json()["message"]
    assert Deal.objects.get(pk=deal.pk).stage.order == 0


def test_move_to_a_stage_of_another_pipeline_is_refused(client, manager, deal):
    other = PipelineFactory(name="Другая", is_default=False)
    client.force_login(manager)
    response = client.post(reverse("deal_move", args=[deal.pk]), {"stage": other.stages.first().pk})
    assert response.status_code == 400 and "stage" in response.json()["errors"]


# --- deal list, card, forms ------------------------------------------------------------------


def test_deal_list_filters_and_paginates(client, manager, pipeline):
    make_deals(manager, pipeline, stage_of(pipeline), 55, prefix="Поставка")
    services.deal_create(actor=manager, title="Ремонт", pipeline=pipeline, amount="1")
    client.force_login(manager)
    html = client.get(reverse("deal_list")).content.decode()
    assert "56 records" in html and 'data-testid="next-page"' in html
    html = client.get(reverse("deal_list") + "?q=Ремонт").content.decode()
    assert "Ремонт" in html and "Поставка 1" not in html and "1 record" in html
    html = client.get(reverse("deal_list") + "?page=2").content.decode()
    assert html.count("<tr>") == 1 + 6


def test_deal_create_makes_a_deal_for_the_manager(client, manager, pipeline, contact):
    client.force_login(manager)
    response = client.post(
        reverse("deal_create"),
        {
            "title": "Новая поставка",
            "pipeline": pipeline.pk,
            "contact": contact.pk,
            "amount": "250000",
            "currency": "RUB",
        },
    )
    deal = Deal.objects.get(title="Новая поставка")
    assert response.status_code == 302 and response["Location"] == reverse("deal_detail", args=[deal.pk])
    assert deal.responsible == manager and deal.amount == Decimal("250000") and deal.stage.order == 0
    assert deal.contact == contact


def test_deal_form_refuses_a_negative_amount(client, manager, pipeline):
    client.force_login(manager)
    response = client.post(
        reverse("deal_create"), {"title": "Минус", "pipeline": pipeline.pk, "amount": "-5", "currency": "RUB"}
    )
    assert response.status_code == 200
    assert "The amount cannot be negative." in response.content.decode()
    assert response.context["form"].errors["amount"]
    assert not Deal.objects.exists()


def test_deal_form_needs_a_lost_reason_for_a_lost_stage(client, manager, pipeline, deal):
    lost = stage_of(pipeline, Stage.Kind.LOST)
    client.force_login(manager)
    data = {
        "title": deal.title,
        "stage": lost.pk,
        "amount": "1500000",
        "currency": "RUB",
        "version": deal.version,
    }
    response = client.post(reverse("deal_edit", args=[deal.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["lost_reason"] == ["Choose why the deal was lost."]
    assert Deal.objects.get(pk=deal.pk).stage.kind == Stage.Kind.OPEN
    reason = LostReasonFactory()
    response = client.post(reverse("deal_edit", args=[deal.pk]), {**data, "lost_reason": reason.pk})
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).lost_reason == reason


def test_deal_edit_with_a_stale_version_saves_nothing(client, manager, deal):
    client.force_login(manager)
    form = client.get(reverse("deal_edit", args=[deal.pk]))
    version = form.context["form"].initial["version"]
    assert f'name="version" value="{version}"' in form.content.decode()
    services.deal_update(actor=manager, deal=Deal.objects.get(pk=deal.pk), amount="2000000")  # someone else
    response = client.post(
        reverse("deal_edit", args=[deal.pk]),
        {
            "title": "Моё название",
            "stage": deal.stage_id,
            "amount": "1",
            "currency": "RUB",
            "version": version,
        },
    )
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.title == "Поставка станков" and fresh.amount == Decimal("2000000")


def test_deal_card_shows_history_with_readable_names(client, manager, pipeline, deal):
    services.deal_update(actor=manager, deal=Deal.objects.get(pk=deal.pk), amount="2500000")
    services.deal_move(actor=manager, deal=Deal.objects.get(pk=deal.pk), stage=stage_of(pipeline, index=1))
    client.force_login(manager)
    response = client.get(reverse("deal_detail", args=[deal.pk]))
    history = response.context["history"]
    assert [row["action_code"] for row in history] == ["update", "update", "create"]
    stage_diff = history[0]["diffs"][0]
    assert (stage_diff["label"], stage_diff["old"], stage_diff["new"]) == ("stage", "Новая", "Переговоры")
    amount_diff = history[1]["diffs"][0]
    assert (amount_diff["label"], amount_diff["old"], amount_diff["new"]) == (
        "amount",
        "1,500,000.00",
        "2,500,000.00",
    )
    html = response.content.decode()
    assert "Stage:" in html and "Amount:" in html


def test_note_is_added_to_a_company_through_htmx(client, manager, company):
    # The company card has no timeline, so it keeps its own notes block.
    client.force_login(manager)
    url = reverse("company_note_add", args=[company.pk])
    response = client.post(url, {"body": "Позвонить в пятницу"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Позвонить в пятницу" in response.content.decode()
    note = Note.objects.get()
    assert note.company == company and note.author == manager
    response = client.post(url, {"body": "  "}, HTTP_HX_REQUEST="true")
    assert "Write the note first." in response.content.decode()
    assert Note.objects.count() == 1
    assert (
        client.get(reverse("company_detail", args=[company.pk])).content.decode().count("Позвонить в пятницу")
        == 1
    )


@pytest.mark.parametrize("subject", ["contact", "deal"])
def test_card_shows_each_note_once_on_its_timeline_and_offers_the_note_form(client, manager, deal, subject):
    # Contact and deal cards: the timeline is the one record of what happened, notes included.
    client.force_login(manager)
    services.note_create(actor=manager, body="Выслал КП по почте", deal=deal, contact=deal.contact)
    card_pk = deal.pk if subject == "deal" else deal.contact_id
    card = client.get(reverse(f"{subject}_detail", args=[card_pk])).content.decode()
    assert "Выслал КП по почте" not in card and 'data-testid="notes"' not in card
    timeline = client.get(reverse(f"comms_{subject}_timeline", args=[card_pk])).content.decode()
    assert timeline.count("Выслал КП по почте") == 1
    assert reverse(f"comms_{subject}_reply", args=[card_pk]) in card
    reply_box = client.get(reverse(f"comms_{subject}_reply", args=[card_pk])).content.decode()
    assert 'data-testid="reply-note-form"' in reply_box


# --- contacts --------------------------------------------------------------------------------


def test_contact_create_normalizes_phones(client, manager, company):
    client.force_login(manager)
    response = client.post(
        reverse("contact_create"),
        {
            "full_name": "Сидоров",
            "phones": "8 (912) 000-11-22\n+7 912 000 11 23",
            "emails": "S@Mail.ru",
            "company": company.pk,
        },
    )
    contact = Contact.objects.get(full_name="Сидоров")
    assert response["Location"] == reverse("contact_detail", args=[contact.pk])
    assert sorted(contact.identities.values_list("value", flat=True)) == [
        "+79120001122",
        "+79120001123",
        "s@mail.ru",
    ]
    assert contact.company == company and contact.responsible == manager


def test_contact_form_points_at_the_bad_phone(client, manager):
    client.force_login(manager)
    response = client.post(reverse("contact_create"), {"full_name": "Х", "phones": "+79120001122\n12345"})
    errors = response.context["form"].errors["phones"]
    assert errors == ["“12345” is not a valid phone number."]
    assert not Contact.objects.exists()


def test_contact_form_names_the_holder_of_a_taken_phone(client, manager, contact):
    client.force_login(manager)
    response = client.post(reverse("contact_create"), {"full_name": "Двойник", "phones": "8 912 345-67-89"})
    errors = response.context["form"].errors["phones"]
    assert "Петров Пётр" in errors[0] and f"#{contact.pk}" in errors[0]
    assert not Contact.objects.filter(full_name="Двойник").exists()


def test_contact_edit_keeps_messenger_identities_and_checks_the_version(client, manager, contact):
    Identity.objects.create(contact=contact, kind="telegram", value="123456")
    client.force_login(manager)
    form = client.get(reverse("contact_edit", args=[contact.pk]))
    assert "+7 912 345-67-89" in form.content.decode()
    initial = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data = {**initial, "phones": "+7 912 345-67-89\n8 912 999 00 00", "responsible": manager.pk}
    response = client.post(reverse("contact_edit", args=[contact.pk]), data)
    assert response.status_code == 302
    values = set(contact.identities.values_list("value", flat=True))
    assert values == {"+79123456789", "+79129990000", "petrov@example.ru", "123456"}
    response = client.post(reverse("contact_edit", args=[contact.pk]), {**data, "full_name": "Старое"})
    assert "changed by someone else" in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).full_name == "Петров Пётр"


def test_contact_list_finds_a_phone_typed_any_way(client, manager, contact):
    ContactFactory(full_name="Другой", responsible=manager)
    client.force_login(manager)
    html = client.get(reverse("contact_list") + "?identity=8+(912)+345-67-89").content.decode()
    assert "Петров Пётр" in html and "Другой" not in html
    html = client.get(reverse("contact_list") + "?q=петров").content.decode()
    assert "Петров Пётр" in html and "Другой" not in html


def test_merge_from_the_card_and_the_tombstone_redirects(client, manager, contact, deal):
    duplicate = services.contact_create(
        actor=manager, full_name="Пётр (дубль)", identities=[("email", "pp@example.ru")], responsible=manager
    )
    client.force_login(manager)
    response = client.post(reverse("contact_merge", args=[duplicate.pk]), {"target": contact.pk})
    assert response["Location"] == reverse("contact_detail", args=[contact.pk])
    duplicate.refresh_from_db()
    assert duplicate.merged_into == contact
    assert contact.identities.filter(value="pp@example.ru").exists()
    response = client.get(reverse("contact_detail", args=[duplicate.pk]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "contact_detail", args=[contact.pk]
    )


def test_merge_into_itself_is_shown_as_an_error(client, manager, contact):
    client.force_login(manager)
    response = client.post(reverse("contact_merge", args=[contact.pk]), {"target": contact.pk}, follow=True)
    assert Contact.objects.get(pk=contact.pk).merged_into is None
    assert any("Select a valid choice" in str(m) for m in response.context["messages"])


# --- companies -------------------------------------------------------------------------------


def test_company_create_edit_and_card(client, manager, contact):
    client.force_login(manager)
    response = client.post(reverse("company_create"), {"name": "АО Вектор", "inn": "123"})
    assert response.context["form"].errors["inn"] == ["An INN is 10 or 12 digits."]
    response = client.post(reverse("company_create"), {"name": "АО Вектор", "inn": "7707083893"})
    company = Company.objects.get(name="АО Вектор")
    assert response["Location"] == reverse("company_detail", args=[company.pk])
    response = client.post(
        reverse("company_edit", args=[company.pk]),
        {"name": "АО Вектор+", "version": company.version, "responsible": manager.pk},
    )
    assert response.status_code == 302
    services.contact_update(actor=manager, contact=contact, company=Company.objects.get(pk=company.pk))
    html = client.get(reverse("company_detail", args=[company.pk])).content.decode()
    assert "АО Вектор+" in html and "Петров Пётр" in html
    html = client.get(reverse("company_list") + "?q=вектор").content.decode()
    assert "АО Вектор+" in html


# --- leads -----------------------------------------------------------------------------------


def test_inbox_qualified_button_creates_a_deal_and_swaps_the_row(client, manager, pipeline, lead):
    client.force_login(manager)
    assert f'id="lead-row-{lead.pk}"' in client.get(reverse("lead_inbox")).content.decode()
    response = client.post(
        reverse("lead_triage", args=[lead.pk]),
        {f"lead{lead.pk}-verdict": "qualified"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.verdict == "qualified" and lead.deal is not None
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="lead-row-{lead.pk}"')
    assert reverse("deal_detail", args=[lead.deal_id]) in html
    assert f'id="lead-row-{lead.pk}"' not in client.get(reverse("lead_inbox")).content.decode()


def test_office_manager_marks_a_lead_non_target_with_a_reason(client, office_manager):
    lead = LeadFactory()
    client.force_login(office_manager)
    url = reverse("lead_triage", args=[lead.pk])
    response = client.post(url, {f"lead{lead.pk}-verdict": "non_target"}, HTTP_HX_REQUEST="true")
    assert "Choose why the lead is non-target." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).verdict == ""
    response = client.post(
        url,
        {f"lead{lead.pk}-verdict": "non_target", f"lead{lead.pk}-reason": "supplier"},
        HTTP_HX_REQUEST="true",
    )
    assert "Non-target:" in response.content.decode() and "Supplier" in response.content.decode()
    lead.refresh_from_db()
    assert lead.verdict == "non_target" and lead.contact.non_target


def test_office_manager_marks_a_duplicate(client, office_manager):
    original = ContactFactory(full_name="Оригинал")
    LeadFactory(contact=original)  # keeps the original visible to triage
    lead = LeadFactory()
    client.force_login(office_manager)
    url = reverse("lead_triage", args=[lead.pk])
    response = client.post(url, {f"lead{lead.pk}-verdict": "duplicate"}, HTTP_HX_REQUEST="true")
    assert "Choose the contact this lead duplicates." in response.content.decode()
    response = client.post(
        url,
        {f"lead{lead.pk}-verdict": "duplicate", f"lead{lead.pk}-duplicate_of": original.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "Оригинал" in response.content.decode()
    lead.refresh_from_db()
    assert lead.verdict == "duplicate" and lead.contact == original


def test_triage_of_an_already_triaged_lead_shows_the_error(client, manager, pipeline, lead):
    lead_triage(actor=manager, lead=Lead.objects.get(pk=lead.pk), verdict="qualified")
    client.force_login(manager)
    response = client.post(
        reverse("lead_triage", args=[lead.pk]),
        {f"lead{lead.pk}-verdict": "non_target", f"lead{lead.pk}-reason": "spam"},
        follow=True,
    )
    assert any("already been triaged" in str(m) for m in response.context["messages"])
    assert Lead.objects.get(pk=lead.pk).verdict == "qualified"


def test_lead_list_filters(client, manager, contact, lead):
    other = services.lead_create(actor=manager, contact=contact, source="call", channel="call")
    client.force_login(manager)
    html = client.get(reverse("lead_list") + "?source=call").content.decode()
    assert f"#{other.pk}<" in html and f"#{lead.pk}<" not in html


def test_new_lead_with_a_new_contact(client, office_manager):
    client.force_login(office_manager)
    response = client.post(
        reverse("lead_create"),
        {
            "full_name": "Новиков",
            "phone": "8 912 111-22-33",
            "source": "call",
            "channel": "call",
            "comment": "Перезвонить",
        },
    )
    lead = Lead.objects.get()
    assert response["Location"] == reverse("lead_detail", args=[lead.pk])
    assert lead.contact.full_name == "Новиков" and lead.comment == "Перезвонить"
    assert lead.contact.identities.get().value == "+79121112233"


def test_new_lead_for_an_existing_contact_and_the_form_errors(client, manager, contact):
    client.force_login(manager)
    response = client.post(reverse("lead_create"), {"source": "manual", "channel": "manual", "phone": "12"})
    form = response.context["form"]
    assert form.errors["phone"] == ["“12” is not a valid phone number."] and "full_name" in form.errors
    response = client.post(
        reverse("lead_create"),
        {"full_name": "Клон", "phone": "+79123456789", "source": "manual", "channel": "manual"},
    )
    assert "Петров Пётр" in response.context["form"].errors["phone"][0]
    response = client.post(
        reverse("lead_create"), {"contact": contact.pk, "source": "manual", "channel": "manual"}
    )
    assert response.status_code == 302
    assert Lead.objects.get().contact == contact


# --- search ----------------------------------------------------------------------------------


def test_search_by_a_phone_in_another_format_opens_the_contact(client, manager, contact):
    client.force_login(manager)
    for typed in ["8 912 345-67-89", "+7 (912) 345 67 89", "9123456789"]:
        response = client.get(reverse("search"), {"q": typed})
        assert response.status_code == 302, typed
        assert response["Location"] == reverse("contact_detail", args=[contact.pk])


def test_search_by_name_company_and_email(client, manager, contact, company, deal):
    client.force_login(manager)
    unmarked = re.compile(r"</?mark>")  # the matched part of each name is marked
    html = unmarked.sub("", client.get(reverse("search"), {"q": "петров"}).content.decode())
    assert "Петров Пётр" in html and "Поставка станков" in html
    html = unmarked.sub("", client.get(reverse("search"), {"q": "ромашка"}).content.decode())
    assert "ООО Ромашка" in html
    response = client.get(reverse("search"), {"q": "Petrov@Example.ru"})
    assert response["Location"] == reverse("contact_detail", args=[contact.pk])
    html = client.get(reverse("search"), {"q": "нет такого"}).content.decode()
    assert 'data-testid="search-empty"' in html
