"""The approval pages in Russian and English, the regulation of the document kind, the inline PDF,
the deal's timeline, and automation: ``document.approved`` moves the deal, ``start_approval`` sends."""

from __future__ import annotations

import pytest
from django.urls import reverse

from otdel.approvals import services
from otdel.automation import rules
from otdel.automation.services import rule_create
from otdel.documents.models import DocumentStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulation(admin_user):
    from otdel.kb.services import article_create

    return article_create(
        actor=admin_user,
        title="Регламент согласования договоров",
        body="Договор согласуют юрист и финансовый директор.",
        status="published",
        document_kinds=["contract"],
    )


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "ru",
            ["Ваше решение на шаге «Юрист»", "Согласовать", "На доработку", "Круги согласования", "Договор"],
        ),
        ("en", ["Your decision at “Юрист”", "Approve", "Send for rework", "Rounds", "Contract"]),
    ],
)
def test_the_approval_page_in_both_languages_with_the_regulation(
    client, manager, contract, route, lawyer, regulation, language, words
):
    approval = services.approval_start(actor=manager, document=contract, route=route)
    lawyer.language = language
    lawyer.save()
    client.force_login(lawyer)
    page = client.get(reverse("approvals_detail", args=[approval.pk])).content.decode()
    for word in words:
        assert word in page, word
    assert "Регламент согласования договоров" in page  # the regulation linked to the document kind
    pdf = client.get(reverse("approvals_pdf", args=[approval.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["X-Frame-Options"] == "SAMEORIGIN" and pdf.content.startswith(b"%PDF")
    inbox = client.get(reverse("approvals_inbox")).content.decode()
    assert ("Ждут моего согласования" if language == "ru" else "Awaiting my approval") in inbox


def test_deciding_from_the_page_and_the_deal_timeline(client, manager, contract, route, lawyer):
    approval = services.approval_start(actor=manager, document=contract, route=route)
    client.force_login(lawyer)
    url = reverse("approvals_decide", args=[approval.pk])
    client.post(url, {"decision": "rework", "comment": ""})
    approval.refresh_from_db()
    assert approval.status == "in_progress"  # refused: the comment is required
    client.post(url, {"decision": "rework", "comment": "Уточните сроки поставки"})
    approval.refresh_from_db()
    assert approval.status == "rework"
    client.force_login(manager)
    page = client.get(reverse("comms_deal_timeline", args=[contract.deal_id])).content.decode()
    assert 'data-type="approval"' in page and "Уточните сроки поставки" in page
    from otdel.comms.selectors import timeline as deal_timeline

    items = deal_timeline(user=manager, deal=contract.deal)
    texts = [i.summary for i in items if i.type == "approval"]
    assert any("Уточните сроки поставки" in t for t in texts) and any("sent for approval" in t for t in texts)


def test_a_rule_moves_the_deal_when_the_contract_is_approved(
    admin_user, manager, contract, route, lawyer, cfo, pipeline, django_capture_on_commit_callbacks
):
    next_stage = pipeline.stages.order_by("order")[1]
    rule_create(
        actor=admin_user,
        name="Договор согласован — дальше",
        trigger={"event": "document.approved", "kind": "contract"},
        actions=[{"action": "move_stage", "stage": next_stage.pk}],
    )
    approval = services.approval_start(actor=manager, document=contract, route=route)
    services.approval_decide(actor=lawyer, approval=approval, decision="approve")
    with django_capture_on_commit_callbacks(execute=True):
        services.approval_decide(actor=cfo, approval=approval, decision="approve")
    rules.runs_drain()  # the worker matched and ran it already; nothing is left
    from otdel.automation.models import RuleRun

    assert list(RuleRun.objects.values_list("event", "outcome")) == [("document.approved", "done")]
    contract.deal.refresh_from_db()
    assert contract.deal.stage_id == next_stage.pk


def test_a_rule_sends_the_contract_for_approval(admin_user, manager, contract, route, lawyer, pipeline):
    from otdel.automation.models import Rule, RuleRun

    rule = rule_create(
        actor=admin_user,
        name="На согласование",
        trigger={"event": "deal.stage_entered"},
        actions=[{"action": "start_approval", "route": route.pk}],
    )
    run = RuleRun.objects.create(
        rule=rule,
        subject_type="deal",
        subject_id=contract.deal_id,
        occurrence="t",
        event="deal.stage_entered",
        payload={},
        due_at=contract.created_at,
    )
    assert rules.runs_drain() == 1
    run.refresh_from_db()
    assert run.outcome == "done", run.reason
    contract.refresh_from_db()
    assert contract.status == DocumentStatus.IN_APPROVAL
    assert Rule.objects.get().paused_reason == ""
