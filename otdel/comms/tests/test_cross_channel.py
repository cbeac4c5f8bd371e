"""One person, four channels, one contact: a call, an e-mail, Telegram and the website form.

Each channel arrives through its real entrance (the PBX webhook, a real IMAP server, the Telegram
webhook, the public form API), each delivered twice as providers do, and only the product's own
identity resolution ties them together.
"""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from otdel.comms.email.sync import mailbox_sync
from otdel.comms.models import Attachment, Interaction
from otdel.comms.tests.email.support.messages import attachment, message
from otdel.comms.tests.telegram.support.fixtures import (
    private_update,
)
from otdel.comms.tests.telephony.support.http_server import Reply
from otdel.comms.tests.telephony.test_recordings import WAV
from otdel.crm.models import Contact, Identity, Lead
from otdel.privacy.services import consent_purpose_upsert
from otdel.routing.models import Queue, QueueMember, RoutingSettings

V1 = "/api/v1"
CHAT = 511002
EMAIL = "ivan.petrov@vector-stroy.ru"


@pytest.fixture
def sales(db, manager, mailbox, telegram_bot, admin_user, api_for):
    manager.work_days = list(range(7))
    manager.work_start, manager.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    manager.save()
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=manager)
    cfg = RoutingSettings.load()
    cfg.default_queue = queue
    cfg.save()
    mailbox.queue = telegram_bot.queue = queue
    mailbox.save()
    telegram_bot.save()
    consent_purpose_upsert(actor=admin_user, code="pd", title="Персональные данные", text="Согласен.")
    form = api_for(admin_user).post(
        f"{V1}/forms",
        {"slug": "order", "name": "Заказ", "queue": "sales", "consent_purposes": ["pd"]},
        format="json",
    )
    assert form.status_code == 201, form.content
    return queue


@pytest.mark.django_db
def test_call_email_telegram_and_form_from_one_person_make_one_contact_and_one_timeline(
    sales,
    api_for,
    integration_user,
    manager,
    imap,
    deliver,
    bot_api,
    telegram_bot,
    mailbox,
    fake_http,
    django_capture_on_commit_callbacks,
):
    start = timezone.now() - datetime.timedelta(hours=1)
    fake_http.route("GET", "/rec/pbx-1001.wav", Reply(200, WAV, {"Content-Type": "audio/x-wav"}))
    pbx = api_for(integration_user)

    # 1. A call from an unknown number, answered at the salesperson's extension, with a recording.
    base = {"call_id": "pbx-1001", "direction": "in", "caller": "8 (912) 345-67-89", "called": "+74951234567"}
    events = [
        {**base, "event": "ringing", "at": start.isoformat()},
        {
            **base,
            "event": "answered",
            "extension": manager.extension,
            "at": (start + datetime.timedelta(seconds=6)).isoformat(),
        },
        {
            **base,
            "event": "ended",
            "status": "answered",
            "duration": 154,
            "at": (start + datetime.timedelta(seconds=160)).isoformat(),
        },
        {**base, "event": "recording", "recording_url": f"{fake_http.url}/rec/pbx-1001.wav"},
    ]
    for event in events * 2:
        with django_capture_on_commit_callbacks(execute=True):  # the recording is fetched after commit
            assert pbx.post(f"{V1}/telephony/events", event, format="json").status_code == 202
    call = Interaction.objects.get(channel="call")
    contact = call.contact
    (lead,) = Lead.objects.filter(contact=contact)
    assert lead.responsible == manager

    # During the call the client dictated his e-mail; the salesperson adds it on the card.
    card = api_for(manager).get(f"{V1}/contacts/{contact.pk}").json()
    patched = api_for(manager).patch(
        f"{V1}/contacts/{contact.pk}",
        {
            "identities": [*card["identities"], {"kind": "email", "value": EMAIL.upper()}],
            "version": card["version"],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content

    # 2. His e-mail with the requisites attached, fetched from the real IMAP server (polled twice).
    imap.append(
        "INBOX",
        message(
            sender=f"Иван Петров <{EMAIL}>",
            subject="Реквизиты для счёта",
            body="Добрый день! Высылаю реквизиты.",
            message_id="<req-1@vector-stroy.ru>",
            date=(start + datetime.timedelta(minutes=20)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            attachments=[
                attachment("application/pdf", b'attachment; filename="rekvizity.pdf"', b"%PDF-1.4 requisites")
            ],
        ),
    )
    mailbox_sync(mailbox=mailbox)
    mailbox_sync(mailbox=mailbox)

    # 3. Telegram: an unknown chat until he shares his phone with the bot's button.
    first = private_update(chat_id=CHAT, message_id=1, text="Здравствуйте, это Иван из «Вектор-Строй»")
    share = private_update(
        chat_id=CHAT,
        message_id=2,
        contact={"phone_number": "+79123456789", "first_name": "Иван", "user_id": CHAT},
    )
    for update in (first, first, share, share):
        assert deliver(telegram_bot, update).status_code == 200

    # 4. The website form, the phone written another way, with UTM tags.
    form = {
        "name": "Петров Иван",
        "phone": "+7 912 345 67 89",
        "email": EMAIL,
        "message": "Прошу счёт на 40 поддонов",
        "consents": {"pd": True},
        "utm_source": "yandex",
        "utm_campaign": "pallets",
        "page_url": "https://vector.example.ru/pallets?utm_source=yandex",
    }
    for _ in range(2):  # the embedded form retries with the same Idempotency-Key, as embed.js does
        response = APIClient().post(
            f"{V1}/forms/order/submissions",
            form,
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_IDEMPOTENCY_KEY="9b1f6a52-2c3e-4d0a-8f7e-5d1c2b3a4f60",
        )
        assert response.status_code in (200, 201, 202), response.content

    # ONE contact holds the phone, the e-mail and the chat ...
    survivors = Contact.objects.filter(merged_into__isnull=True)
    assert list(survivors) == [contact]
    assert sorted(Identity.objects.filter(contact=contact).values_list("kind", "value")) == [
        ("email", EMAIL),
        ("phone", "+79123456789"),
        ("telegram", str(CHAT)),
    ]
    # ... with one open piece of work: the repeat inquiries attached to the call's lead.
    open_leads = Lead.objects.filter(contact=contact).exclude(status="closed")
    assert list(open_leads) == [lead]
    assert set(
        Lead.objects.filter(contact=contact).exclude(pk=lead.pk).values_list("verdict", flat=True)
    ) <= {"duplicate"}

    # The card's timeline, oldest first: the call, the e-mail, the chat, the form.
    rows = api_for(manager).get(f"{V1}/contacts/{contact.pk}/timeline").json()["results"]
    inbound = [row for row in reversed(rows) if row["type"] == "interaction" and row["direction"] == "in"]
    assert [row["channel"] for row in inbound] == ["call", "email", "telegram", "telegram", "form"]
    interactions = Interaction.objects.filter(contact=contact, direction="in")
    assert interactions.count() == 5  # nothing doubled by the repeated deliveries
    assert all(i.lead_id in (lead.pk, None) for i in interactions)

    call.refresh_from_db()
    assert (call.status, call.duration, call.user) == ("answered", 154, manager)
    with call.recording_file.open("rb") as stored:
        assert stored.read() == WAV
    mail = interactions.get(channel="email")
    assert mail.subject == "Реквизиты для счёта"
    assert list(Attachment.objects.filter(interaction=mail).values_list("filename", flat=True)) == [
        "rekvizity.pdf"
    ]
    submitted = interactions.get(channel="form")
    assert submitted.payload["utm_source"] == "yandex"
    assert submitted.payload["page_url"].startswith("https://vector.example.ru/pallets")

    # What the salesperson sees on the card: the recording to play, the attachment, the UTM tags.
    client = Client()
    client.force_login(manager)
    html = client.get(reverse("comms_contact_timeline", args=[contact.pk])).content.decode()
    assert 'data-testid="recording-player"' in html
    assert "rekvizity.pdf" in html
    assert "pallets" in html and "yandex" in html
    assert "Прошу счёт на 40 поддонов" in html and "Здравствуйте, это Иван" in html
