"""Who sees what: an approver sees the documents they decide on and those deals' cards, nothing else
of sales' data; routes are edited by administrators and the head of sales only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from otdel.approvals import services
from otdel.crm.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_an_approver_sees_only_what_they_decide_on(
    api_for, client, manager, deal, contract, make_document, route, lawyer, pipeline
):
    invoice = make_document(deal, kind="invoice")
    other = ContactFactory(full_name="Чужой Клиент", responsible=manager)
    api = api_for(lawyer)
    # Before the document reaches them: nothing.
    assert api.get(f"/api/v1/deals/{deal.pk}").status_code == 404
    assert api.get(f"/api/v1/documents/{contract.pk}").status_code == 404
    services.approval_start(actor=manager, document=contract, route=route)
    assert api.get(f"/api/v1/documents/{contract.pk}").status_code == 200
    assert api.get(f"/api/v1/documents/{invoice.pk}").status_code == 404  # same deal, not theirs
    assert api.get(f"/api/v1/deals/{deal.pk}").status_code == 200
    assert [d["id"] for d in api.get("/api/v1/deals").json()["results"]] == [deal.pk]
    assert api.get(f"/api/v1/contacts/{other.pk}").status_code == 404
    assert api.patch(f"/api/v1/deals/{deal.pk}", {"title": "x"}, format="json").status_code in (403, 404)
    client.force_login(lawyer)
    card = client.get(reverse("deal_detail", args=[deal.pk]))
    assert card.status_code == 200
    block = client.get(reverse("approvals_deal_block", args=[deal.pk])).content.decode()
    assert contract.number in block and invoice.number not in block
    assert "approval-send" not in block  # they cannot send anything
    page = client.get(reverse("approvals_inbox")).content.decode()
    assert contract.number in page


def test_the_top_bar_counts_what_awaits_me(client, manager, contract, route, lawyer):
    services.approval_start(actor=manager, document=contract, route=route)
    client.force_login(lawyer)
    page = client.get(reverse("approvals_inbox")).content.decode()
    assert 'data-testid="nav-approvals-count">1<' in page


def test_the_route_editor_is_for_admins_and_the_head(client, head, manager, lawyer, cfo):
    client.force_login(manager)
    assert client.get(reverse("approvals_route_create")).status_code == 403
    client.force_login(head)
    assert client.get(reverse("approvals_route_create")).status_code == 200
    response = client.post(
        reverse("approvals_route_create"),
        {
            "name": "Договоры",
            "document_kinds": ["contract"],
            "is_active": "1",
            "step_count": "3",
            "step-0-name": "Юрист",
            "step-0-mode": "all",
            "step-0-users": [str(lawyer.pk)],
            "step-0-deadline_hours": "8",
            "step-1-name": "Финансы",
            "step-1-mode": "any",
            "step-1-users": [str(cfo.pk)],
            "step-1-head_of": "1",
            "step-1-deadline_hours": "4",
            "step-1-min_amount": "1000000",
            "step-2-name": "",
        },
    )
    assert response.status_code == 302
    from otdel.approvals.models import ApprovalRoute

    route = ApprovalRoute.objects.get()
    steps = list(route.steps.order_by("position"))
    assert [(s.name, s.mode, s.approvers) for s in steps] == [
        ("Юрист", "all", [{"user": lawyer.pk}]),
        ("Финансы", "any", [{"user": cfo.pk}, {"head_of": "responsible"}]),
    ]
    assert str(steps[1].min_amount) == "1000000.00"
    page = client.get(reverse("approvals_routes")).content.decode()
    assert "Юрист" in page and "Финансы" in page
