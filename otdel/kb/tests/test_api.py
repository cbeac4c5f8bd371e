"""The knowledge-base API: articles and versions, sanitizing, deal guidance and the stage gate, receipts."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from otdel.automation.models import Notification
from otdel.crm import services as crm_services
from otdel.crm.models import Deal, Stage
from otdel.crm.tests.factories import DealFactory, LostReasonFactory
from otdel.kb import selectors, services
from otdel.kb.models import Article, StageExit

pytestmark = pytest.mark.django_db

XSS = (
    "# Заголовок\n\n<script>alert('x')</script>\n\n[ссылка](javascript:alert(1))\n\n"
    '<img src="x" onerror="alert(1)">\n\n**жирный** и <a href="#" onclick="alert(1)">клик</a>'
)


def test_head_writes_a_published_article_with_links_and_a_checklist(head, pipeline, api_for):
    stage = pipeline.stages.order_by("order").first()
    response = api_for(head).post(
        "/api/v1/kb/articles",
        {
            "kind": "regulation",
            "title": "Первый звонок",
            "body": "Перезвоните **за 15 минут**.",
            "status": "published",
            "stages": [stage.pk],
            "channels": ["call"],
            "checklist": [{"text": "Перезвонить", "required": True}, {"text": "Письмо", "required": False}],
            "ack_roles": ["sales_manager"],
            "tags": ["звонки"],
            "section": "Регламенты продаж",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["version"] == 1
    assert data["stages"] == [stage.pk]
    assert data["channels"] == ["call"]
    assert [(i["text"], i["required"]) for i in data["checklist"]] == [
        ("Перезвонить", True),
        ("Письмо", False),
    ]
    assert "<strong>за 15 минут</strong>" in data["html"]
    assert data["section"] == "Регламенты продаж" and data["tags"] == ["звонки"]


def test_a_salesperson_may_not_write_articles_and_bad_input_is_400(manager, head, api_for):
    assert api_for(manager).post("/api/v1/kb/articles", {"title": "x"}, format="json").status_code == 403
    bad = api_for(head).post("/api/v1/kb/articles", {"title": "x", "channels": ["pigeon"]}, format="json")
    assert bad.status_code == 400
    assert "channels.0" in bad.json()["errors"] or "channels" in bad.json()["errors"]
    assert api_for(head).post("/api/v1/kb/articles", {"kind": "faq"}, format="json").status_code == 400


def test_script_in_markdown_is_inert_in_the_api_the_page_and_the_preview(head, client):
    article = services.article_create(actor=head, title="Опасный текст", body=XSS, status="published")
    client.force_login(head)
    html = client.get(f"/api/v1/kb/articles/{article.pk}").json()["html"]
    page = client.get(f"/kb/articles/{article.pk}/").content.decode()
    preview = client.post("/kb/preview/", {"body": XSS}).content.decode()
    for out in (html, page, preview):
        assert "<script>alert" not in out
        assert not re.search(r"""(href|src)=["']?javascript:""", out)
        assert not re.search(r"<[a-z][^>]*\son\w+=", out)  # no tag carries an event handler
    assert "<strong>жирный</strong>" in html
    assert "&lt;script&gt;" in html  # shown as text, not run


def test_patch_publishes_a_new_version_with_a_readable_diff(head, api_for):
    api = api_for(head)
    created = api.post(
        "/api/v1/kb/articles",
        {"title": "Оплата", "body": "Строка 1\nСтрока 2", "status": "published"},
        format="json",
    ).json()
    patched = api.patch(
        f"/api/v1/kb/articles/{created['id']}", {"body": "Строка 1\nСтрока 3"}, format="json"
    ).json()
    assert patched["version"] == 2
    versions = api.get(f"/api/v1/kb/articles/{created['id']}/versions").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    v2 = api.get(f"/api/v1/kb/articles/{created['id']}/versions/2").json()
    assert {"kind": "removed", "text": "Строка 2"} in v2["diff"]
    assert {"kind": "added", "text": "Строка 3"} in v2["diff"]
    assert {"kind": "same", "text": "Строка 1"} in v2["diff"]
    v1 = api.get(f"/api/v1/kb/articles/{created['id']}/versions/1").json()
    assert v1["body"] == "Строка 1\nСтрока 2"  # the old version stays readable
    # A change of links only keeps the version; a stale edit is refused.
    same = api.patch(f"/api/v1/kb/articles/{created['id']}", {"channels": ["email"]}, format="json").json()
    assert same["version"] == 2
    stale = api.patch(
        f"/api/v1/kb/articles/{created['id']}", {"body": "x", "expected_version": 1}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"


def test_version_pages_show_old_text_and_the_diff(head, client):
    article = services.article_create(actor=head, title="Оплата", body="Было так", status="published")
    services.article_update(actor=head, article=article, body="Стало иначе")
    client.force_login(head)
    page = client.get(f"/kb/articles/{article.pk}/versions/2/").content.decode()
    assert "Было так" in page and "Стало иначе" in page and "kb-removed" in page and "kb-added" in page
    assert "Было так" in client.get(f"/kb/articles/{article.pk}/versions/1/").content.decode()


# --- deal guidance and the stage gate -----------------------------------------------------------


def _deal(manager, pipeline):
    return DealFactory(pipeline=pipeline, responsible=manager)


def test_guidance_lists_the_stage_articles_and_checklist(manager, pipeline, regulation, api_for):
    deal = _deal(manager, pipeline)
    faq = services.article_create(
        actor=regulation.owner,
        kind="faq",
        title="Сколько ждать?",
        body="15 минут",
        status="published",
        stages=[deal.stage],
    )
    data = api_for(manager).get(f"/api/v1/deals/{deal.pk}/guidance").json()
    assert [a["title"] for a in data["articles"]] == ["Первый звонок", faq.title]
    assert [(c["text"], c["required"], c["done"]) for c in data["checklist"]] == [
        ("Перезвонить за 15 минут", True, False),
        ("Отправить письмо", False, False),
    ]


def test_leaving_a_stage_with_a_required_item_undone_is_409_in_the_api(
    manager, pipeline, regulation, api_for
):
    deal = _deal(manager, pipeline)
    first, second = pipeline.stages.order_by("order")[:2]
    api = api_for(manager)
    refused = api.post(f"/api/v1/deals/{deal.pk}/move", {"stage": second.pk}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "checklist_incomplete"
    assert "Перезвонить за 15 минут" in body["errors"]["checklist"][0]
    assert "Отправить письмо" not in body["errors"]["checklist"][0]  # advisory items do not block
    assert Deal.objects.get(pk=deal.pk).stage_id == first.pk
    # The deal's PATCH with a stage is gated the same way.
    assert api.patch(f"/api/v1/deals/{deal.pk}", {"stage": second.pk}, format="json").status_code == 409

    item = regulation.checklist.get(required=True)
    ticked = api.post(f"/api/v1/deals/{deal.pk}/checklist/{item.pk}", {"done": True}, format="json")
    assert ticked.status_code == 200 and ticked.json()["done"] is True
    assert api.post(f"/api/v1/deals/{deal.pk}/move", {"stage": second.pk}, format="json").status_code == 200
    assert Deal.objects.get(pk=deal.pk).stage_id == second.pk


def test_moving_back_or_losing_the_deal_is_not_gated(manager, pipeline, regulation):
    deal = _deal(manager, pipeline)
    lost = pipeline.stages.get(kind=Stage.Kind.LOST)
    crm_services.deal_move(actor=manager, deal=deal, stage=lost, lost_reason=LostReasonFactory())
    assert Deal.objects.get(pk=deal.pk).stage_id == lost.pk


def test_kanban_drag_is_refused_with_a_message_naming_the_items(manager, pipeline, regulation, client):
    deal = _deal(manager, pipeline)
    second = pipeline.stages.order_by("order")[1]
    client.force_login(manager)
    response = client.post(f"/deals/{deal.pk}/move/", {"stage": second.pk})
    assert response.status_code == 409
    assert "Перезвонить за 15 минут" in response.json()["message"]
    assert Deal.objects.get(pk=deal.pk).stage_id != second.pk


def test_ticking_an_item_of_another_stage_is_400_and_of_a_foreign_deal_404(
    manager, other_manager, pipeline, regulation, api_for
):
    deal = _deal(manager, pipeline)
    item = regulation.checklist.first()
    foreign = _deal(other_manager, pipeline)
    assert (
        api_for(manager).post(f"/api/v1/deals/{foreign.pk}/checklist/{item.pk}", {"done": True}).status_code
        == 404
    )
    assert api_for(manager).get(f"/api/v1/deals/{foreign.pk}/guidance").status_code == 404
    crm_services.deal_move(
        actor=manager, deal=deal, stage=pipeline.stages.get(kind="lost"), lost_reason=LostReasonFactory()
    )
    assert (
        api_for(manager).post(f"/api/v1/deals/{deal.pk}/checklist/{item.pk}", {"done": True}).status_code
        == 400
    )
    assert (
        api_for(manager).post(f"/api/v1/deals/{deal.pk}/checklist/999999", {"done": True}).status_code == 404
    )


def test_adherence_counts_stage_exits_with_everything_done(
    manager, head, pipeline, regulation, api_for, django_capture_on_commit_callbacks
):
    done_deal, partial_deal = _deal(manager, pipeline), _deal(manager, pipeline)
    second = pipeline.stages.order_by("order")[1]
    for item in regulation.checklist.all():
        services.deal_checklist_mark(actor=manager, deal=done_deal, item=item, done=True)
    services.deal_checklist_mark(
        actor=manager, deal=partial_deal, item=regulation.checklist.get(required=True), done=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.deal_move(actor=manager, deal=done_deal, stage=second)
        crm_services.deal_move(actor=manager, deal=partial_deal, stage=second)
    assert sorted(StageExit.objects.values_list("complete", flat=True)) == [False, True]
    rows = api_for(head).get("/api/v1/kb/adherence", {"by": "manager"}).json()["results"]
    assert [(r["id"], r["exits"], r["complete"], r["share"]) for r in rows] == [(manager.pk, 2, 1, 0.5)]
    stages = api_for(head).get("/api/v1/kb/adherence", {"by": "stage"}).json()["results"]
    assert [(r["exits"], r["complete"]) for r in stages] == [(2, 1)]
    assert api_for(head).get("/api/v1/kb/adherence", {"date_from": "вчера"}).status_code == 400


# --- acknowledgements ---------------------------------------------------------------------------


def test_acknowledgements_start_over_with_each_new_version(
    head, manager, other_manager, office_manager, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        article = services.article_create(
            actor=head,
            title="Стандарты переписки",
            body="v1",
            status="published",
            ack_roles=["sales_manager"],
        )
    api = api_for(head)
    status = api.get(f"/api/v1/kb/articles/{article.pk}/acknowledgements").json()
    assert status == {"version": 1, "acknowledged": [], "pending": sorted([manager.pk, other_manager.pk])}
    assert [a.pk for a in selectors.pending_for_user(user=manager)] == [article.pk]
    assert selectors.pending_for_user(user=office_manager) == []

    assert api_for(manager).post(f"/api/v1/kb/articles/{article.pk}/acknowledge").status_code == 200
    again = api_for(manager).post(f"/api/v1/kb/articles/{article.pk}/acknowledge")  # a second click
    assert again.status_code == 200
    status = api.get(f"/api/v1/kb/articles/{article.pk}/acknowledgements").json()
    assert status == {"version": 1, "acknowledged": [manager.pk], "pending": [other_manager.pk]}
    assert selectors.pending_for_user(user=manager) == []

    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v1/kb/articles/{article.pk}", {"body": "v2"}, format="json")
    status = api.get(f"/api/v1/kb/articles/{article.pk}/acknowledgements").json()
    assert status == {"version": 2, "acknowledged": [], "pending": sorted([manager.pk, other_manager.pk])}
    assert [a.pk for a in selectors.pending_for_user(user=manager)] == [article.pk]
    # Each version asked the audience once through a notification.
    assert Notification.objects.filter(user=manager, kind="kb").count() == 2
    # The readers' list is the owner's: a salesperson gets 404.
    assert api_for(manager).get(f"/api/v1/kb/articles/{article.pk}/acknowledgements").status_code == 404


def test_acknowledgement_by_department_and_reminder(head, manager, department, office_manager, api_for):
    article = services.article_create(
        actor=head,
        title="Порядок работы отдела",
        body="Текст",
        status="published",
        ack_departments=[department],
    )
    _read, pending = selectors.ack_status(article)
    assert set(pending) == {head.pk, manager.pk}
    Notification.objects.all().delete()
    reminded = api_for(head).post(f"/api/v1/kb/articles/{article.pk}/remind").json()["reminded"]
    assert reminded == 2
    assert Notification.objects.filter(user=manager, kind="kb").count() == 1
    assert not Notification.objects.filter(user=office_manager).exists()


def test_owner_is_reminded_once_when_the_review_date_passes(head):
    article = services.article_create(
        actor=head,
        title="Прайс",
        body="…",
        status="published",
        review_at=timezone.localdate() + datetime.timedelta(days=3),
    )
    assert services.articles_review_remind() == 0
    Article.objects.filter(pk=article.pk).update(review_at=timezone.localdate() - datetime.timedelta(days=1))
    assert services.articles_review_remind() == 1
    assert services.articles_review_remind() == 0
    assert Notification.objects.filter(user=head, key__startswith="kb-review:").count() == 1


KB_CONTRACT = [
    ("post", "/api/v1/kb/articles"),
    ("patch", "/api/v1/kb/articles/{}"),
    ("get", "/api/v1/kb/search"),
    ("get", "/api/v1/deals/{}/guidance"),
    ("post", "/api/v1/deals/{}/checklist/{}"),
    ("post", "/api/v1/kb/articles/{}/acknowledge"),
    ("get", "/api/v1/kb/articles/{}/acknowledgements"),
]


def test_the_schema_describes_the_kb_contract(api_for, admin_user):
    response = api_for(None).get(
        "/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    shapes: dict[str, set[str]] = {}
    for path, operations in response.json()["paths"].items():
        shapes.setdefault(re.sub(r"\{[^}]+\}", "{}", path).rstrip("/"), set()).update(operations)
    assert [(m, p) for m, p in KB_CONTRACT if m not in shapes.get(p, set())] == []
    api = api_for(admin_user)
    assert api.get("/api/v1/kb/search/", {"q": "x"}).status_code == 200  # with and without the slash
    assert api.get("/api/v1/kb/search", {"q": "x"}).status_code == 200
