"""Rule actions that reach other apps: e-mail (with the consent check), documents, approvals, handing
over through a queue; rules paused when what they point at is gone."""

import email
import email.policy

import pytest
from django.utils import timezone

from otdel.accounts.tests.factories import UserFactory
from otdel.automation.models import Rule, RuleRun
from otdel.comms.models import Interaction, Mailbox
from otdel.comms.tests.email.support.servers import run_smtp
from otdel.core.models import ObjectChange
from otdel.crm import services as crm
from otdel.crm.tests.factories import ContactFactory, IdentityFactory
from otdel.privacy.selectors import consent_allows
from otdel.privacy.services import consent_purpose_upsert, consent_record, consent_withdraw
from otdel.routing.models import Queue, QueueMember

pytestmark = pytest.mark.django_db


def _rule(api, **body):
    payload = {"name": "r", "trigger": {"event": "deal.created"}}
    payload.update(body)
    return api.post("/api/v1/automation/rules", payload, format="json")


@pytest.fixture
def smtp():
    with run_smtp() as server:
        yield server


@pytest.fixture
def sending_mailbox(smtp, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return Mailbox.objects.create(
        address="sales@otdel.test",
        imap_host="127.0.0.1",
        username="u",
        password="p",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_ssl=False,
        sent_folder="",
    )


@pytest.fixture
def client_contact(manager):
    contact = ContactFactory(full_name="Ирина Волкова", responsible=manager)
    IdentityFactory(contact=contact, kind="email", value="irina@client.ru")
    return contact


@pytest.fixture
def marketing(admin_user):
    return consent_purpose_upsert(
        actor=admin_user, code="marketing", title="Рассылки", text="Согласен на рассылки"
    ).purpose


EMAIL_ACTION = {
    "action": "send_email",
    "subject": "{{ deal.title }}: новинки",
    "body": "Здравствуйте, {{ contact.full_name }}!\nВаш менеджер {{ responsible.full_name }}",
    "purpose": "marketing",
}


def test_consent_allows_only_a_consent_in_force(client_contact, marketing, admin_user):
    assert not consent_allows(client_contact, "marketing")
    consent_record(
        contact=client_contact, purpose=marketing, text=marketing.current_text, given_at=timezone.now()
    )
    assert consent_allows(client_contact, "marketing")
    assert not consent_allows(client_contact, "other")
    consent_withdraw(actor=admin_user, contact=client_contact, purpose=marketing)
    assert not consent_allows(client_contact, "marketing")


def test_send_email_goes_from_the_responsible_with_variables_filled(
    api_for, head, manager, pipeline, sending_mailbox, smtp, client_contact, marketing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    manager.full_name = "Олег Петров"
    manager.save()
    consent_record(
        contact=client_contact, purpose=marketing, text=marketing.current_text, given_at=timezone.now()
    )
    assert _rule(api_for(head), actions=[EMAIL_ACTION]).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(
            actor=head, title="Станки", pipeline=pipeline, responsible=manager, contact=client_contact
        )
    run = RuleRun.objects.get()
    assert run.outcome == "done", run.reason
    (captured,) = smtp.messages
    sent = email.message_from_bytes(captured["data"], policy=email.policy.default)
    assert captured["rcpt_tos"] == ["irina@client.ru"]
    assert sent["Subject"] == "Станки: новинки"
    assert "Олег Петров" in sent["From"]
    assert "Здравствуйте, Ирина Волкова!" in sent.get_content()
    assert "Ваш менеджер Олег Петров" in sent.get_content()
    assert Interaction.objects.filter(contact=client_contact, direction="out", kind="email").count() == 1


@pytest.mark.parametrize("withdrawn", [False, True])
def test_send_email_without_consent_is_refused_in_the_run_log(
    api_for, head, manager, admin_user, pipeline, sending_mailbox, smtp, client_contact, marketing,
    withdrawn, django_capture_on_commit_callbacks,
):  # fmt: skip
    if withdrawn:
        consent_record(
            contact=client_contact, purpose=marketing, text=marketing.current_text, given_at=timezone.now()
        )
        consent_withdraw(actor=admin_user, contact=client_contact, purpose=marketing)
    assert _rule(api_for(head), actions=[EMAIL_ACTION]).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(
            actor=head, title="Станки", pipeline=pipeline, responsible=manager, contact=client_contact
        )
    run = RuleRun.objects.get()
    assert run.outcome == "skipped"
    assert "marketing" in run.reason
    assert smtp.messages == []
    assert not Rule.objects.get().paused_reason


def test_a_refused_email_does_not_stop_the_other_actions(
    api_for, head, manager, pipeline, sending_mailbox, smtp, client_contact, marketing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    actions = [EMAIL_ACTION, {"action": "task", "title": "Позвонить"}]
    assert _rule(api_for(head), actions=actions).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        deal = crm.deal_create(
            actor=head, title="Станки", pipeline=pipeline, responsible=manager, contact=client_contact
        )
    run = RuleRun.objects.get()
    assert run.outcome == "done" and "marketing" in run.reason
    assert deal.tasks.filter(title="Позвонить").exists()


def test_generate_document_makes_a_numbered_document_of_the_deal(
    api_for, head, manager, admin_user, pipeline, settings, tmp_path, django_capture_on_commit_callbacks
):
    from pathlib import Path

    from otdel.documents import services as documents
    from otdel.documents.models import Document
    from otdel.documents.storage import documents_storage

    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    documents_storage.cache_clear()
    numbering = documents.numbering_create(actor=admin_user, code="offer", pattern="КП-{N:03}")
    demo = Path(documents.__file__).resolve().parent / "demo_templates" / "schet_na_oplatu.docx"
    template = documents.template_create(
        actor=admin_user,
        data=demo.read_bytes(),
        filename="offer.docx",
        name="КП",
        kind="offer",
        numbering=numbering,
    )
    action = {"action": "generate_document", "template": template.pk, "format": "docx"}
    assert _rule(api_for(head), actions=[action]).status_code == 201
    with django_capture_on_commit_callbacks(execute=False):
        deal = crm.deal_create(actor=head, title="Станки", pipeline=pipeline, responsible=manager)
    from otdel.automation import rules

    rules.rules_match(
        event="deal.created",
        payload={"deal_id": deal.pk},
        subject_type="deal",
        subject_id=deal.pk,
        occurrence="o1",
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert rules.runs_drain() == 1
    run = RuleRun.objects.get()
    document = Document.objects.get(deal=deal)
    assert run.outcome == "done" and document.number == "КП-001" and "КП-001" in run.reason
    documents_storage.cache_clear()


def test_start_approval_names_an_existing_route(api_for, head):
    response = _rule(api_for(head), actions=[{"action": "start_approval", "route": 999999}])
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_route" and "actions[0].route" in response.json()["errors"]
    response = _rule(api_for(head), actions=[{"action": "start_approval"}])
    assert response.status_code == 400 and "actions[0].route" in response.json()["errors"]


def test_assign_hands_a_lead_to_the_next_person_through_routing_and_the_change_log(
    api_for, head, manager, other_manager, django_capture_on_commit_callbacks
):
    queue = Queue.objects.create(code="sales", name="Продажи")
    for person in (manager, other_manager):
        person.work_days, person.work_start, person.work_end = [0, 1, 2, 3, 4, 5, 6], "00:00", "23:59"
        person.save()
        QueueMember.objects.create(queue=queue, user=person)
    assert (
        _rule(
            api_for(head), trigger={"event": "lead.created"}, actions=[{"action": "assign", "queue": "sales"}]
        ).status_code
        == 201
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = crm.lead_create(
            actor=None, contact=ContactFactory(), source="form", channel="form", responsible=manager
        )
    lead.refresh_from_db()
    assert lead.responsible == other_manager  # not back to the person it was taken from
    change = ObjectChange.objects.filter(action="update", object_id=lead.pk).latest("id")
    assert change.changes == {"responsible_id": [manager.pk, other_manager.pk]}


# --- a rule whose target is gone is paused -------------------------------------------------------


def test_deleting_the_stage_of_a_rule_pauses_it_and_tells_admins(api_for, head, admin_user, pipeline):
    stage = pipeline.stages.order_by("order").last()
    response = _rule(
        api_for(head),
        trigger={"event": "deal.stage_entered", "stage": stage.pk},
        actions=[{"action": "notify", "to": "responsible", "text": "x"}],
    )
    assert response.status_code == 201
    stage.delete()
    rule = Rule.objects.get()
    assert stage.name in rule.paused_reason
    assert admin_user.notifications.filter(kind="automation", title__contains=rule.name).count() == 1
    body = api_for(head).get(f"/api/v1/automation/rules/{rule.pk}").json()
    assert stage.name in body["paused_reason"]


def test_deactivating_the_user_a_rule_names_pauses_it(api_for, head, pipeline):
    someone = UserFactory(username="leaver", full_name="Уволен Уволенов")
    action = {"action": "task", "title": "t", "assignee": {"user": someone.pk}}
    assert _rule(api_for(head), actions=[action]).status_code == 201
    other = _rule(api_for(head), name="other", actions=[{"action": "task", "title": "t"}])
    someone.is_active = False
    someone.save()
    assert "Уволен Уволенов" in Rule.objects.get(name="r").paused_reason
    assert Rule.objects.get(pk=other.json()["id"]).paused_reason == ""


def test_deleting_a_queue_pauses_its_rules(api_for, head):
    queue = Queue.objects.create(code="night", name="Ночная")
    assert _rule(api_for(head), actions=[{"action": "assign", "queue": "night"}]).status_code == 201
    queue.delete()
    assert "Ночная" in Rule.objects.get().paused_reason


def test_a_target_gone_without_a_signal_pauses_the_rule_when_it_runs(
    api_for, head, manager, pipeline, django_capture_on_commit_callbacks
):
    someone = UserFactory(username="leaver")
    action = {"action": "task", "title": "t", "assignee": {"user": someone.pk}}
    assert _rule(api_for(head), actions=[action]).status_code == 201
    type(someone).objects.filter(pk=someone.pk).update(is_active=False)  # no signal
    with django_capture_on_commit_callbacks(execute=True):
        crm.deal_create(actor=head, title="d", pipeline=pipeline, responsible=manager)
    run = RuleRun.objects.get()
    assert run.outcome == "skipped" and str(someone.pk) in run.reason
    assert Rule.objects.get().paused_reason == run.reason


def test_a_paused_rule_is_resumed_on_its_page_once_its_target_is_back(client, api_for, head):
    from django.urls import reverse

    someone = UserFactory(username="leaver")
    action = {"action": "task", "title": "t", "assignee": {"user": someone.pk}}
    assert _rule(api_for(head), actions=[action]).status_code == 201
    someone.is_active = False
    someone.save()
    rule = Rule.objects.get()
    client.force_login(head)
    url = reverse("automation_rule", args=[rule.pk])
    assert "Resume" in client.get(url).content.decode()
    page = client.post(url, follow=True).content.decode()  # still gone: refused, said why
    rule.refresh_from_db()
    assert rule.paused_reason and "There is no active user" in page
    someone.is_active = True
    someone.save()
    client.post(url)
    rule.refresh_from_db()
    assert rule.paused_reason == "" and rule.is_active
