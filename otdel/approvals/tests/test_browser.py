"""In a real Chromium: the approver's flow (open from the top bar, read, approve with a comment), and
the issue's "Done when" end to end — a manager generates a contract on a deal and sends it; the
lawyer sends it back for rework; the manager regenerates and resubmits; the lawyer and then the
finance director approve; a rule moves the deal; the approved PDF carries the sheet; the deal's
timeline shows every step."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from otdel.accounts.tests.factories import PASSWORD
from otdel.approvals import services
from otdel.approvals.models import Approval, ApprovalEvent
from otdel.approvals.tests.conftest import pdf_text
from otdel.documents import services as documents
from otdel.documents.models import Document
from otdel.documents.storage import file_read
from otdel.documents.tests import conftest as _documents

priced_deal = _documents.priced_deal  # the documents tests' fixture: a deal with line items

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 60_000


def _signed_in(browser, live_server, user):
    """A page of its own browser context (its own cookies), signed in through the login form."""
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def test_the_approver_opens_reads_and_approves_with_a_comment(
    browser, live_server, manager, contract, route, lawyer
):
    approval = services.approval_start(actor=manager, document=contract, route=route)
    lawyer.language = "en"
    lawyer.save()
    page = _signed_in(browser, live_server, lawyer)
    expect(page.get_by_test_id("nav-approvals-count")).to_have_text("1")
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("awaiting-open").click()
    expect(page.get_by_test_id("approval-title")).to_contain_text(contract.number)
    expect(page.get_by_test_id("approval-pdf")).to_be_visible()
    # Reading: the PDF the page shows is the document under approval.
    pdf = page.request.get(f"{live_server.url}{reverse('approvals_pdf', args=[approval.pk])}")
    assert pdf.ok and "Договор поставки" in pdf_text(pdf.body())
    page.get_by_test_id("decision-comment").fill("Юридических замечаний нет")
    page.get_by_test_id("decide-approve").click()
    expect(page.get_by_test_id("task-decision").first).to_have_text("Approve")
    expect(page.get_by_test_id("decision-box")).to_have_count(0)
    task = approval.stages.get(position=0).tasks.get()
    assert task.decision == "approve" and task.comment == "Юридических замечаний нет"
    page.context.close()


@pytest.fixture
def contract_template(admin_user, my_company):
    sequence = documents.numbering_create(actor=admin_user, code="contract", pattern="Д-{YYYY}-{N:04}")
    return documents.template_create(
        actor=admin_user,
        data=(_documents.DEMO / "dogovor_postavki.docx").read_bytes(),
        filename="dogovor_postavki.docx",
        name="Договор поставки",
        kind="contract",
        numbering=sequence,
    )


def test_done_when_end_to_end(
    browser,
    live_server,
    admin_user,
    head,
    manager,
    lawyer,
    cfo,
    pipeline,
    priced_deal,
    contract_template,
):
    # The head of sales sets up the route and the rule in the UI.
    client = Client()
    client.force_login(head)
    response = client.post(
        reverse("approvals_route_create"),
        {
            "name": "Договоры",
            "document_kinds": ["contract"],
            "is_active": "1",
            "step_count": "2",
            "step-0-name": "Юрист",
            "step-0-mode": "all",
            "step-0-users": [str(lawyer.pk)],
            "step-0-deadline_hours": "8",
            "step-1-name": "Финансовый директор",
            "step-1-mode": "all",
            "step-1-users": [str(cfo.pk)],
            "step-1-deadline_hours": "8",
        },
    )
    assert response.status_code == 302
    next_stage = pipeline.stages.order_by("order")[1]
    assert priced_deal.stage_id != next_stage.pk
    response = client.post(
        reverse("automation_pipeline_rules", args=[pipeline.pk]),
        {
            "name": "Договор согласован — дальше",
            "event": "document.approved",
            "delay_minutes": 0,
            "actions": json.dumps([{"action": "move_stage", "stage": next_stage.pk}]),
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]

    # The manager generates the contract and sends it.
    sales = _signed_in(browser, live_server, manager)
    sales.goto(f"{live_server.url}/deals/{priced_deal.pk}/")
    docs = sales.get_by_test_id("deal-documents")
    docs.get_by_test_id("generate-template").select_option(label="Договор поставки")
    docs.get_by_test_id("generate").click()
    expect(docs.get_by_test_id("document-status")).to_have_text("Ready", timeout=SLOW)
    document = Document.objects.get()
    sales.reload()
    block = sales.get_by_test_id("deal-approvals")
    block.get_by_test_id("approval-send").click()
    expect(block.get_by_test_id("approval-document-status")).to_have_text("In approval", timeout=SLOW)

    # The lawyer sends it back for rework with a comment.
    legal = _signed_in(browser, live_server, lawyer)
    legal.get_by_test_id("nav-approvals").click()
    legal.get_by_test_id("awaiting-open").click()
    legal.get_by_test_id("decision-comment").fill("Пункт 5.2: неустойка не больше 0,1 % в день")
    legal.get_by_test_id("decide-rework").click()
    expect(legal.get_by_test_id("approval-status")).to_have_text("Sent for rework")

    # The manager regenerates it and resubmits.
    sales.reload()
    docs = sales.get_by_test_id("deal-documents")
    expect(docs.get_by_test_id("document-status")).to_have_text("Rework", timeout=SLOW)
    docs.get_by_test_id("regenerate").click()
    expect(docs.get_by_test_id("document-status")).to_have_text("Ready", timeout=SLOW)
    sales.reload()
    block = sales.get_by_test_id("deal-approvals")
    expect(block.get_by_test_id("approval-send")).to_have_text("Send for approval")
    block.get_by_test_id("approval-send").click()
    expect(block.get_by_test_id("approval-document-status")).to_have_text("In approval", timeout=SLOW)

    # The lawyer, then the finance director approve.
    legal.goto(f"{live_server.url}{reverse('approvals_inbox')}")
    legal.get_by_test_id("awaiting-open").click()
    legal.get_by_test_id("decision-comment").fill("Исправлено, согласую")
    legal.get_by_test_id("decide-approve").click()
    expect(legal.get_by_test_id("decision-box")).to_have_count(0)
    finance = _signed_in(browser, live_server, cfo)
    finance.get_by_test_id("nav-approvals").click()
    finance.get_by_test_id("awaiting-open").click()
    finance.get_by_test_id("decide-approve").click()
    expect(finance.get_by_test_id("approval-status")).to_have_text("Approved")
    expect(finance.get_by_test_id("approved-version")).to_be_visible(timeout=SLOW)

    # The deal moved by the rule; the approved PDF carries the sheet; the timeline shows the route.
    sales.reload()
    next_stage.refresh_from_db()
    expect(sales.get_by_test_id("deal-stage")).to_have_text(next_stage.name, timeout=SLOW)
    expect(sales.get_by_test_id("approved-pdf")).to_be_visible(timeout=SLOW)
    document.refresh_from_db()
    assert document.status == "approved"
    approved = document.versions.get(approved=True)
    text = pdf_text(file_read(approved.file))
    sheet = text.split("\f")[-2] if text.endswith("\f") else text.split("\f")[-1]
    for expected in (
        "Лист согласования",
        "Новиков Павел Андреевич",
        "Исправлено, согласую",
        "Белова Марина Сергеевна",
    ):
        assert expected in sheet, expected
    assert [a.status for a in Approval.objects.order_by("round")] == ["rework", "approved"]
    timeline = sales.locator('[data-testid="timeline-item"][data-type="approval"]')
    expect(timeline.first).to_be_visible(timeout=SLOW)
    assert timeline.count() == ApprovalEvent.objects.filter(deal=priced_deal).count() >= 8
    for context in {sales.context, legal.context, finance.context}:
        context.close()
