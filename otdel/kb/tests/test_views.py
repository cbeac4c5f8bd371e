"""The knowledge-base pages and the blocks it adds to the deal card, the lead inbox and the reply box."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from otdel.comms.models import Interaction
from otdel.crm import services as crm_services
from otdel.crm.models import Stage
from otdel.crm.tests.factories import DealFactory
from otdel.kb import services
from otdel.kb.models import Acknowledgement, Article, DealChecklistMark

pytestmark = pytest.mark.django_db


def test_deal_card_loads_what_to_do_at_this_stage(client, manager, pipeline, regulation):
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    client.force_login(manager)
    card = client.get(f"/deals/{deal.pk}/").content.decode()
    assert f"/kb/deals/{deal.pk}/guidance/" in card
    block = client.get(f"/kb/deals/{deal.pk}/guidance/", HTTP_HX_REQUEST="true").content.decode()
    assert "Первый звонок" in block and "Позвоните клиенту в течение 15 минут." in block
    assert "Перезвонить за 15 минут" in block and "Отправить письмо" in block


def test_ticking_an_item_on_the_card_redraws_the_block(client, manager, pipeline, regulation):
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    item = regulation.checklist.get(required=True)
    client.force_login(manager)
    block = client.post(
        f"/kb/deals/{deal.pk}/checklist/{item.pk}/", {"done": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert DealChecklistMark.objects.get(deal=deal, item=item).done
    assert "bi-check-square-fill" in block
    client.post(f"/kb/deals/{deal.pk}/checklist/{item.pk}/", {"done": "0"}, HTTP_HX_REQUEST="true")
    assert not DealChecklistMark.objects.get(deal=deal, item=item).done


def test_guidance_block_query_count_does_not_grow_with_items(
    client, manager, pipeline, regulation, django_assert_max_num_queries
):
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    services.article_update(
        actor=regulation.owner,
        article=regulation,
        checklist=[{"text": f"Пункт {n}", "required": n % 2 == 0} for n in range(20)],
    )
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        client.get(f"/kb/deals/{deal.pk}/guidance/", HTTP_HX_REQUEST="true")


def test_lead_inbox_shows_the_triage_regulation(client, office_manager, head):
    services.article_create(
        actor=head,
        title="Нецелевые обращения",
        body="Поставщики — в закупки.",
        status="published",
        for_triage=True,
    )
    client.force_login(office_manager)
    assert "/kb/triage/" in client.get(reverse("lead_inbox")).content.decode()
    block = client.get("/kb/triage/").content.decode()
    assert "Нецелевые обращения" in block and "Поставщики — в закупки." in block


def test_reply_box_suggests_faq_answers_to_the_last_message(client, manager, head):
    services.article_create(
        actor=head,
        kind="faq",
        title="Сколько стоит доставка по Москве?",
        body="Бесплатно от 100 000 ₽.",
        status="published",
    )
    services.article_create(actor=head, kind="faq", title="Есть ли гарантия?", body="Да.", status="published")
    contact = crm_services.contact_create(actor=manager, full_name="Петров Пётр", responsible=manager)
    Interaction.objects.create(
        kind="message",
        channel="telegram",
        direction="in",
        contact=contact,
        occurred_at=timezone.now(),
        body="Добрый день! А доставка до Москвы у вас сколько будет стоить?",
    )
    client.force_login(manager)
    reply_box = client.get(reverse("comms_contact_reply", args=[contact.pk])).content.decode()
    assert f"/kb/faq-suggest/?contact={contact.pk}" in reply_box
    block = client.get(f"/kb/faq-suggest/?contact={contact.pk}").content.decode()
    assert "Сколько стоит доставка по Москве?" in block and "Бесплатно от 100 000 ₽." in block
    assert "Есть ли гарантия?" not in block
    # Someone else's contact gives nothing away.
    assert "доставка" not in client.get("/kb/faq-suggest/?contact=999999").content.decode().lower()


def test_editor_writes_an_article_in_the_form_and_readers_confirm_it(client, head, manager, pipeline):
    stage = pipeline.stages.order_by("order").first()
    client.force_login(head)
    assert client.get("/kb/articles/new/").status_code == 200
    response = client.post(
        "/kb/articles/new/",
        {
            "kind": "regulation",
            "title": "Первый звонок",
            "body": "# Порядок\n\n1. Поздороваться",
            "status": "published",
            "language": "ru",
            "new_section": "Регламенты",
            "tags": "звонки, скрипт",
            "stages": [stage.pk],
            "checklist": "!Перезвонить за 15 минут\nОтправить письмо",
            "ack_roles": ["sales_manager"],
        },
    )
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/kb/articles/{article.pk}/"
    assert [(i.text, i.required) for i in article.checklist.all()] == [
        ("Перезвонить за 15 минут", True),
        ("Отправить письмо", False),
    ]
    assert article.published_number == 1 and article.section.name == "Регламенты"
    assert sorted(t.name for t in article.tags.all()) == ["звонки", "скрипт"]

    client.force_login(manager)
    home = client.get("/kb/").content.decode()
    assert "Первый звонок" in home and 'data-testid="kb-to-read"' in home
    page = client.get(f"/kb/articles/{article.pk}/").content.decode()
    assert "<h1>Порядок</h1>" in page and 'data-testid="kb-ack"' in page
    client.post(f"/kb/articles/{article.pk}/acknowledge/")
    assert Acknowledgement.objects.filter(user=manager, article=article, number=1).exists()
    assert 'data-testid="kb-to-read"' not in client.get("/kb/").content.decode()
    # A salesperson may not edit.
    assert client.get(f"/kb/articles/{article.pk}/edit/").status_code == 404
    assert client.get("/kb/articles/new/").status_code == 403


def test_search_box_results_and_misses_page(client, head, manager):
    services.article_create(
        actor=head, title="Согласование договора", body="Договор — юристу.", status="published"
    )
    client.force_login(manager)
    hits = client.get("/kb/search/", {"q": "договоров"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Согласование договора" in hits and "<mark>" in hits
    nothing = client.get("/kb/search/", {"q": "телепортация"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="kb-nothing"' in nothing
    client.force_login(head)
    assert "телепортация" in client.get("/kb/misses/").content.decode()
    client.force_login(manager)
    assert client.get("/kb/misses/").status_code == 403


def test_drafts_are_hidden_from_salespeople(client, head, manager):
    draft = services.article_create(actor=head, title="Черновик регламента", body="…")
    client.force_login(manager)
    assert client.get(f"/kb/articles/{draft.pk}/").status_code == 404
    assert "Черновик регламента" not in client.get("/kb/").content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", ["Регламенты и FAQ", "Что делать на этом этапе", "обязательно"]),
        ("en", ["Regulations and FAQ", "What to do at this stage", "required"]),
    ],
)
def test_pages_speak_the_users_language(client, manager, pipeline, regulation, language, expected):
    manager.language = language
    manager.save()
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    client.force_login(manager)
    html = client.get("/kb/").content.decode() + client.get(f"/kb/deals/{deal.pk}/guidance/").content.decode()
    for text in expected:
        assert text in html


def test_gate_message_is_translated(manager, pipeline, regulation):
    from django.utils import translation

    from otdel.core.exceptions import ConflictError

    deal = DealFactory(pipeline=pipeline, responsible=manager)
    second = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order")[1]
    for language, phrase in (("ru", "обязательные пункты"), ("en", "required items")):
        with translation.override(language), pytest.raises(ConflictError) as refused:
            crm_services.deal_move(actor=manager, deal=deal, stage=second)
        assert phrase in refused.value.message


def test_images_are_uploaded_and_served_only_to_readers(client, head, manager, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    article = services.article_create(actor=head, title="Схема склада", body="…")
    client.force_login(head)
    client.post(
        f"/kb/articles/{article.pk}/attachments/",
        {"file": SimpleUploadedFile("схема.png", b"\x89PNG fake", content_type="image/png")},
    )
    attachment = article.attachments.get()
    assert b"".join(client.get(f"/kb/files/{attachment.pk}/").streaming_content) == b"\x89PNG fake"
    client.force_login(manager)  # a draft: the salesperson may not read it, nor its files
    assert client.get(f"/kb/files/{attachment.pk}/").status_code == 404
    services.article_update(
        actor=head, article=article, status="published", body=f"![схема](/kb/files/{attachment.pk}/)"
    )
    assert client.get(f"/kb/files/{attachment.pk}/").status_code == 200
    page = client.get(f"/kb/articles/{article.pk}/").content.decode()
    assert f'<img src="/kb/files/{attachment.pk}/" alt="схема"' in page
