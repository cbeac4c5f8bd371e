"""Every channel obeys "non-target", end to end through the public API and the pages people use.

A supplier fills the website form, writes in Telegram (sharing the phone) and by e-mail. The
salesperson who got the lead marks it "Non-target: supplier". From then on the supplier's call
rings at the office manager (the PBX asks the route endpoint), and e-mail, Telegram and form go to
the office manager too, never to sales; what was already waiting moves with them. "Restore as
target" brings everything back, and the history shows who did what.
"""

# ruff: noqa: F811  (the shared fixtures are imported by name; tests take them as arguments)

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from otdel.accounts.tests.factories import always_at_work
from otdel.comms.email.sync import mailbox_sync
from otdel.comms.models import Interaction
from otdel.comms.tests.email.support.fixtures import (  # noqa: F401  (fixtures)
    imap,
    imap_server,
    mailbox,
    media,
)
from otdel.comms.tests.email.support.messages import message
from otdel.comms.tests.telegram.support.fixtures import (  # noqa: F401  (fixtures)
    bot_api,
    deliver,
    private_update,
    telegram_bot,
    telegram_settings,
)
from otdel.core.models import ObjectChange
from otdel.crm.models import Contact, Deal, Lead, Task
from otdel.privacy.services import consent_purpose_upsert

V1 = "/api/v1"
PHONE_ON_FORM = "+7 (912) 555-44-33"
PHONE_FROM_PBX = "8 912 5554433"
EMAIL = "Anna@Upakovka-Plus.ru"
CHAT = 733001


@pytest.fixture
def office(api_for, admin_user, manager, other_manager, office_manager, mailbox, telegram_bot):
    """Sales queue of two salespeople; non-target traffic to the office manager; every channel wired."""
    always_at_work(manager, other_manager, office_manager)
    admin = api_for(admin_user)
    created = admin.post(
        f"{V1}/queues",
        {
            "code": "sales",
            "name": "Продажи",
            "strategy": "round_robin",
            "members": [manager.pk, other_manager.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    settings = admin.put(
        f"{V1}/routing/settings",
        {"non_target_destination": {"user": office_manager.pk}, "default_queue": "sales"},
        format="json",
    )
    assert settings.status_code == 200, settings.content
    consent_purpose_upsert(actor=admin_user, code="pd", title="Персональные данные", text="Согласен.")
    form = admin.post(
        f"{V1}/forms",
        {"slug": "callback", "name": "Обратный звонок", "queue": "sales", "consent_purposes": ["pd"]},
        format="json",
    )
    assert form.status_code == 201, form.content
    mailbox.queue_id = telegram_bot.queue_id = created.json()["id"]
    mailbox.save()
    telegram_bot.save()
    return {"mailbox": mailbox, "bot": telegram_bot}


def _submit_form(text):
    response = APIClient().post(
        f"{V1}/forms/callback/submissions",
        {
            "name": "Анна, Упаковка Плюс",
            "phone": PHONE_ON_FORM,
            "email": EMAIL,
            "message": text,
            "consents": {"pd": True},
            "utm_source": "yandex",
        },
        format="json",
    )
    assert response.status_code in (200, 201, 202), response.content
    return response


def _mail(imap, mailbox, number, text):
    imap.append(
        "INBOX",
        message(
            sender=f"Анна <{EMAIL.lower()}>", subject=text, body=text, message_id=f"<upak-{number}@mail.ru>"
        ),
    )
    mailbox_sync(mailbox=mailbox)


def _pbx_route(api_for, integration_user, caller):
    pbx = api_for(integration_user)
    answer = pbx.get(f"{V1}/telephony/route", {"caller": caller, "called": "+74951234567"})
    text = pbx.get(f"{V1}/telephony/route", {"caller": caller, "format": "text"})
    assert answer.status_code == text.status_code == 200
    return answer.json(), text.content.decode()


def _call(api_for, integration_user, call_id, *, answered_at=None):
    """The PBX reports a call (each event twice, as PBXs repeat themselves): missed, or answered at an extension."""
    pbx = api_for(integration_user)
    base = {"call_id": call_id, "direction": "in", "caller": PHONE_FROM_PBX, "called": "+74951234567"}
    events = [{**base, "event": "ringing", "at": "2026-11-26T11:00:00+03:00"}]
    if answered_at:
        events.append(
            {**base, "event": "answered", "extension": answered_at, "at": "2026-11-26T11:00:05+03:00"}
        )
    events.append(
        {
            **base,
            "event": "ended",
            "status": "answered" if answered_at else "missed",
            "at": "2026-11-26T11:00:30+03:00",
        }
    )
    for payload in events * 2:
        assert pbx.post(f"{V1}/telephony/events", payload, format="json").status_code == 202
    return Interaction.objects.get(external_id=call_id)


def _non_target_history(card_html):
    """(who, old → new) of the card's history entries that changed "Non-target", newest first."""
    rows = []
    for item in card_html.split('data-testid="history-item"')[1:]:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item))
        change = re.search(r"Non-target: (\w+) → (\w+)", text)
        if change:
            who = re.search(r"· ([^·]+?) · ", text).group(1)
            rows.append((who, f"{change.group(1)} → {change.group(2)}"))
    return rows


def _inbox_ids(client, user):
    client.force_login(user)
    html = client.get(reverse("comms_inbox")).content.decode()
    return {int(pk) for pk in re.findall(r'data-testid="inbox-item" data-id="(\d+)"', html)}


def _sales_sees_nothing(api_for, client, salesperson, contact, interactions):
    """Through the API and the pages a salesperson uses: not a trace of the non-target person."""
    api = api_for(salesperson)
    assert api.get(f"{V1}/contacts/{contact.pk}").status_code == 404
    assert api.get(f"{V1}/contacts", {"identity": PHONE_FROM_PBX}).json()["results"] == []
    assert api.get(f"{V1}/contacts", {"identity": EMAIL}).json()["results"] == []
    assert api.get(f"{V1}/contacts", {"q": "Упаковка"}).json()["results"] == []
    assert contact.pk not in {row["id"] for row in api.get(f"{V1}/contacts").json()["results"]}
    assert api.get(f"{V1}/contacts/{contact.pk}/timeline").status_code == 404
    assert [lead["id"] for lead in api.get(f"{V1}/leads").json()["results"]] == []
    assert api.get(f"{V1}/deals").json()["results"] == []
    assert not interactions & _inbox_ids(client, salesperson)
    client.force_login(salesperson)
    for page, params in (
        ("lead_inbox", {}),
        ("lead_list", {}),
        ("contact_list", {}),
        ("kanban", {}),
        ("deal_list", {}),
        ("search", {"q": PHONE_FROM_PBX}),
        ("search", {"q": EMAIL}),
        ("comms_inbox", {}),
    ):
        response = client.get(reverse(page), params)
        assert response.status_code == 200, page
        assert "Упаковка Плюс" not in response.content.decode(), page
    assert client.get(reverse("contact_detail", args=[contact.pk])).status_code == 404
    assert not Task.objects.filter(assignee=salesperson, done_at__isnull=True).exists()


@pytest.mark.django_db
def test_non_target_supplier_reaches_only_the_office_manager_on_every_channel_until_restored(
    office,
    api_for,
    client,
    imap,
    deliver,
    bot_api,
    integration_user,
    manager,
    other_manager,
    office_manager,
    head,
):
    bot = office["bot"]

    # 1. The form on the website: a new person, a new lead for a salesperson.
    _submit_form("Предлагаем гофрокоробки для вашей продукции")
    contact = Contact.objects.get(merged_into__isnull=True)
    form_lead = Lead.objects.get(contact=contact)
    seller = form_lead.responsible
    assert seller in (manager, other_manager)

    # 2. Telegram: the bot asks for the phone, the shared phone joins the chat to the same person.
    deliver(bot, private_update(chat_id=CHAT, message_id=1, text="Добрый день! Вы получили наше КП?"))
    deliver(
        bot,
        private_update(
            chat_id=CHAT,
            message_id=2,
            contact={"phone_number": "79125554433", "first_name": "Анна", "user_id": CHAT},
        ),
    )
    assert Contact.objects.filter(merged_into__isnull=True).get() == contact

    # 3. E-mail from the address the form gave.
    _mail(imap, office["mailbox"], 1, "Коммерческое предложение на упаковку")
    waiting = set(
        Interaction.objects.filter(contact=contact, direction="in", handled_at__isnull=True)
        .exclude(channel="form")
        .values_list("pk", flat=True)
    )
    # The Telegram message and the e-mail; the shared phone is the app speaking: nothing to answer.
    assert len(waiting) == 2
    assert Interaction.objects.filter(pk__in=waiting, routed_to=office_manager).count() == 0

    # 4. The salesperson: "Non-target: supplier", one click in the API.
    triage = api_for(seller).post(
        f"{V1}/leads/{form_lead.pk}/triage", {"verdict": "non_target", "reason": "supplier"}, format="json"
    )
    assert triage.status_code == 200, triage.content
    contact.refresh_from_db()
    assert (contact.non_target, contact.non_target_reason) == (True, "supplier")
    # What was waiting for sales moved to the office manager; the Telegram lead closed with it.
    assert (
        set(Interaction.objects.filter(pk__in=waiting, routed_to=office_manager).values_list("pk", flat=True))
        == waiting
    )
    # No lead of the person is left waiting for sales (the chat's own lead, if the shared phone did
    # not already close it as a duplicate, closes as non-target with the form's).
    leads = Lead.objects.filter(contact=contact)
    assert not leads.exclude(status=Lead.Status.CLOSED).exists()
    assert set(leads.values_list("verdict", flat=True)) <= {"non_target", "duplicate"}
    non_target_leads = set(leads.filter(verdict="non_target").values_list("pk", flat=True))
    assert form_lead.pk in non_target_leads

    # 5. The PBX asks while the phone rings, the number written another way: the office manager.
    answer, text = _pbx_route(api_for, integration_user, PHONE_FROM_PBX)
    assert answer["destination"] == {
        "kind": "user",
        "user": office_manager.pk,
        "extension": office_manager.extension,
    }
    assert (answer["reason"], answer["contact"]) == ("non_target", contact.pk)
    assert text == office_manager.extension
    # She answers at her extension: the call is hers on the timeline, handled by her.
    call = _call(api_for, integration_user, "pbx-777", answered_at=office_manager.extension)
    assert (call.contact, call.routed_to, call.handled_by, call.routing_decision.reason) == (
        contact,
        office_manager,
        office_manager,
        "non_target",
    )
    assert (call.status, call.lead, call.deal) == ("answered", None, None)
    # The supplier calls again while she is out: the call-back task is hers, too.
    missed = _call(api_for, integration_user, "pbx-778")
    assert (missed.routed_to, missed.status, missed.routing_decision.reason) == (
        office_manager,
        "missed",
        "non_target",
    )
    assert Task.objects.get(interaction=missed).assignee == office_manager

    # 6. New e-mail, new Telegram message, the form again: all to the office manager, no new lead.
    leads_before = set(Lead.objects.values_list("pk", "status", "verdict"))
    _mail(imap, office["mailbox"], 2, "Напоминаем о нашем предложении")
    deliver(bot, private_update(chat_id=CHAT, message_id=3, text="Когда сможете ответить?"))
    _submit_form("Повторно: упаковка со скидкой")
    later = (
        Interaction.objects.filter(contact=contact, direction="in")
        .exclude(pk__in=waiting | {call.pk, missed.pk})
        .exclude(external_id=f"{CHAT}:2")  # the shared phone of step 2: waited for nobody
    )
    assert {i.channel for i in later} == {"email", "telegram", "form"}
    for interaction in later:
        assert interaction.routed_to == office_manager, interaction.channel
        assert interaction.routing_decision.reason == "non_target"
    assert set(Lead.objects.values_list("pk", "status", "verdict")) == leads_before
    assert not Deal.objects.exists()
    everything = set(Interaction.objects.filter(contact=contact, direction="in").values_list("pk", flat=True))
    assert (waiting | {missed.pk} | {i.pk for i in later}) <= _inbox_ids(client, office_manager)
    office_pages = client.get(reverse("non_target_inbox")).content.decode()
    assert "Упаковка Плюс" in office_pages
    # The searches that find nothing for sales below do find the person for the office manager.
    office_api = api_for(office_manager)
    for query in ({"identity": PHONE_FROM_PBX}, {"identity": EMAIL}, {"q": "Упаковка"}):
        assert [row["id"] for row in office_api.get(f"{V1}/contacts", query).json()["results"]] == [
            contact.pk
        ]
    found = client.get(reverse("search"), {"q": PHONE_FROM_PBX})  # one exact match: straight to the card
    assert (found.status_code, found.url) == (302, reverse("contact_detail", args=[contact.pk]))

    # Nowhere in sales: neither salesperson nor the head of sales sees a trace.
    for salesperson in (manager, other_manager, head):
        _sales_sees_nothing(api_for, client, salesperson, contact, everything)
    assert api_for(seller).post(f"{V1}/contacts/{contact.pk}/restore-target").status_code == 404

    # 7. It was a mistake: the office manager restores; the person's traffic reaches sales again.
    restored = api_for(office_manager).post(f"{V1}/contacts/{contact.pk}/restore-target")
    assert restored.status_code == 200, restored.content
    answer, text = _pbx_route(api_for, integration_user, PHONE_FROM_PBX)
    assert answer["reason"] in ("contact_owner", "queue")
    assert answer["destination"].get("user") != office_manager.pk
    assert text in (manager.extension, other_manager.extension, "queue:sales")
    assert api_for(seller).get(f"{V1}/contacts/{contact.pk}").status_code == 200
    # The leads closed as non-target are back in triage, each with the salesperson who had it.
    leads = [
        lead
        for salesperson in (manager, other_manager)
        for lead in api_for(salesperson).get(f"{V1}/leads", {"contact": contact.pk}).json()["results"]
    ]
    assert {lead["id"] for lead in leads} == set(
        Lead.objects.filter(contact=contact).values_list("pk", flat=True)
    )
    assert {lead["id"] for lead in leads if lead["verdict"] == ""} == non_target_leads
    assert {lead["verdict"] for lead in leads if lead["id"] not in non_target_leads} <= {"duplicate"}
    assert {lead["id"]: lead["responsible"] for lead in leads}[form_lead.pk] == seller.pk
    next_call = _call(api_for, integration_user, "pbx-779")
    assert next_call.routed_to in (manager, other_manager)
    assert (next_call.lead, next_call.routing_decision.reason) == (form_lead, answer["reason"])

    # 8. The history says who did what: in the log, and on the card the salesperson opens.
    changes = ObjectChange.objects.filter(
        object_id=contact.pk, action="update", changes__has_key="non_target"
    ).order_by("id")
    assert [(c.user, c.changes["non_target"]) for c in changes] == [
        (seller, [False, True]),
        (office_manager, [True, False]),
    ]
    client.force_login(seller)
    card = client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert _non_target_history(card) == [
        (office_manager.full_name, "yes → no"),
        (seller.full_name, "no → yes"),
    ]
