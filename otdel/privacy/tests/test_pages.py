"""The privacy pages an administrator uses, and the block on the contact card."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from otdel.crm.services import contact_create
from otdel.privacy.models import Consent, DestructionAct, DestructionProposal, SubjectRequest
from otdel.privacy.services import consent_purpose_upsert, consent_record


@pytest.mark.django_db
def test_admin_sees_every_privacy_page_others_get_404(admin_user, manager, client):
    client.force_login(admin_user)
    for url in [
        "/privacy/",
        "/privacy/register/",
        "/privacy/requests/",
        "/privacy/proposals/",
        "/privacy/acts/",
        "/privacy/access-log/",
        "/privacy/breaches/",
    ]:
        assert client.get(url).status_code == 200, url
    client.force_login(manager)
    assert client.get("/privacy/requests/").status_code == 404


@pytest.mark.django_db
def test_processing_register_page_lists_purposes_and_fields(admin_user, client):
    client.force_login(admin_user)
    html = client.get("/privacy/register/").content.decode()
    assert 'data-purpose="sales"' in html and "crm.contact.full_name" in html


@pytest.mark.django_db
def test_overdue_requests_are_red_on_the_register(admin_user, client):
    today = timezone.localdate()
    late = SubjectRequest.objects.create(
        kind="access",
        requester="Опоздавший",
        received_at=timezone.now(),
        due_at=today - datetime.timedelta(days=1),
    )
    SubjectRequest.objects.create(
        kind="access",
        requester="Вовремя",
        received_at=timezone.now(),
        due_at=today + datetime.timedelta(days=5),
    )
    client.force_login(admin_user)
    html = client.get("/privacy/requests/").content.decode()
    rows = [row for row in html.split("<tr") if 'data-testid="request-row"' in row]
    red = [row for row in rows if "table-danger" in row]
    assert len(rows) == 2 and len(red) == 1 and "Опоздавший" in red[0] and f">{late.pk}<" in red[0]


@pytest.mark.django_db
def test_register_a_request_from_the_page(admin_user, client):
    contact = contact_create(actor=admin_user, full_name="Гусев", identities=[("phone", "+79034443322")])
    client.force_login(admin_user)
    response = client.post(
        "/privacy/requests/",
        {"kind": "correction", "identity": "89034443322", "received_at": "2026-11-02T10:00"},
    )
    assert response.status_code == 302
    assert SubjectRequest.objects.get().contact == contact


@pytest.mark.django_db
def test_card_block_withdraws_and_enters_paper_consent(admin_user, manager, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contact = contact_create(actor=manager, full_name="Карточкин")
    purpose = consent_purpose_upsert(actor=admin_user, code="ads", title="Рассылки", text="Да").purpose
    consent_record(contact=contact, purpose=purpose, text=purpose.current_text, given_at=timezone.now())
    client.force_login(manager)
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'data-testid="privacy-block"' in html and 'data-testid="pd-withdraw"' in html
    assert 'data-testid="pd-destroy-form"' not in html  # destruction is for administrators
    client.post(f"/privacy/contacts/{contact.pk}/consents/ads/withdraw/")
    assert Consent.objects.get().withdrawn_at is not None
    response = client.post(
        f"/privacy/contacts/{contact.pk}/consents/add/",
        {
            "purpose": purpose.pk,
            "given_at": "2026-11-30T12:00",
            "scan": SimpleUploadedFile("скан.pdf", b"%PDF-1.4"),
        },
    )
    assert response.status_code == 302
    paper = Consent.objects.get(method="manual")
    assert paper.scan.sha256 and paper.recorded_by == manager
    assert client.get(f"/privacy/consents/{paper.pk}/scan/").status_code == 200
    proof = client.get(f"/privacy/consents/{paper.pk}/proof/").json()
    assert proof["method"] == "manual" and proof["scan"]["sha256"] == paper.scan.sha256
    assert len(proof["text_sha256"]) == 64 and proof["text"] == "Да"


@pytest.mark.django_db
def test_admin_confirms_a_proposal_and_gets_an_act(admin_user, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contact = contact_create(actor=admin_user, full_name="Давний Лид")
    proposal = DestructionProposal.objects.create(contact=contact, reason="Лид без сделки: 12 месяцев")
    client.force_login(admin_user)
    client.post("/privacy/proposals/", {"proposal": proposal.pk, "action": "confirm"})
    proposal.refresh_from_db()
    act = DestructionAct.objects.get()
    assert proposal.status == "confirmed" and act.subject_name == "Давний Лид"
    card = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'data-testid="pd-destroyed"' in card and act.number in card and "Давний Лид" not in card
    assert client.get(f"/privacy/acts/{act.pk}/pdf/").status_code == 200
