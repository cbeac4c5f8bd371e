"""Comms pages: the card timeline and reply box, files behind the permission scope, the inbox, channel settings."""

from __future__ import annotations

import datetime
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from otdel.comms.models import (
    Attachment,
    IntakeLog,
    Interaction,
    Mailbox,
    TelegramBot,
    TelephonyLine,
    TelephonyProvider,
    WebForm,
)
from otdel.comms.tests.email.support.servers import run_smtp
from otdel.crm import services as crm_services
from otdel.crm.models import Note, Task
from otdel.crm.tests.factories import DealFactory
from otdel.privacy.services import consent_purpose_upsert
from otdel.routing.models import Queue

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MSK = ZoneInfo("Europe/Moscow")
T0 = datetime.datetime(2026, 11, 26, 10, 15, tzinfo=MSK)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def contact(manager):
    return crm_services.contact_create(
        actor=manager,
        full_name="Петров Пётр",
        identities=[("phone", "+79123456789"), ("email", "petrov@client.ru"), ("telegram", "422110")],
        responsible=manager,
    )


def _interaction(contact, *, at, **fields):
    defaults = {
        "kind": "message",
        "channel": "telegram",
        "direction": "in",
        "contact": contact,
        "occurred_at": at,
    }
    return Interaction.objects.create(**{**defaults, **fields})


@pytest.fixture
def history(contact, manager, media):
    """A call, an e-mail, a Telegram message and a form, an hour apart, then a note (now)."""
    call = _interaction(
        contact,
        at=T0,
        kind="call",
        channel="call",
        provider="generic",
        external_id="call-1",
        status="missed",
        call_state=3,
        duration=125,
        user=manager,
        routed_to=manager,
        recording_url="https://pbx.example.ru/rec/call-1.mp3",
    )
    email = _interaction(
        contact,
        at=T0 + datetime.timedelta(hours=1),
        kind="email",
        channel="email",
        provider="email:1",
        external_id="<q1@client.ru>",
        subject="Сроки поставки",
        body="Когда отгрузите?",
        routed_to=manager,
        payload={
            "from": "Петров Пётр <petrov@client.ru>",
            "to": ["sales@otdel.test"],
            "html": '<p>Когда <b>отгрузите</b>?</p><script>alert("x")</script>',
        },
    )
    attachment = Attachment(
        interaction=email, filename="спецификация.pdf", content_type="application/pdf", size=9
    )
    attachment.file.save("spec.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    attachment.save()
    telegram = _interaction(
        contact,
        at=T0 + datetime.timedelta(hours=2),
        provider="telegram:sales",
        external_id="422110:5",
        body="Привет из Телеграма",
        routed_to=manager,
    )
    form = _interaction(
        contact,
        at=T0 + datetime.timedelta(hours=3),
        kind="form",
        channel="form",
        provider="form:contact",
        external_id="f-1",
        subject="Заявка с сайта",
        routed_to=manager,
        payload={
            "form": "contact",
            "fields": {"name": "Пётр", "phone": "+79123456789", "message": "Нужен станок", "city": "Казань"},
            "utm_source": "yandex",
            "utm_campaign": "stanki",
            "page_url": "https://example.ru/stanki",
        },
    )
    WebForm.objects.create(
        slug="contact", name="Заявка", fields=[{"name": "city", "label": "Город", "type": "text"}]
    )
    note = crm_services.note_create(actor=manager, contact=contact, body="Перезвонить после обеда")
    return {
        "call": call,
        "email": email,
        "attachment": attachment,
        "telegram": telegram,
        "form": form,
        "note": note,
    }


def _timeline(client, contact, channel=""):
    url = reverse("comms_contact_timeline", args=[contact.pk])
    return client.get(url + (f"?channel={channel}" if channel else ""), **HTMX)


def _channels(html: str) -> list[str]:
    return re.findall(r'data-testid="timeline-item" data-type="\w+" data-channel="(\w+)"', html)


# --- the timeline --------------------------------------------------------------------------------


def test_card_loads_the_timeline_and_reply_box(client, manager, contact, pipeline):
    client.force_login(manager)
    card = client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert reverse("comms_contact_timeline", args=[contact.pk]) in card
    assert reverse("comms_contact_reply", args=[contact.pk]) in card
    assert 'data-testid="call-button"' in card
    deal = crm_services.deal_create(
        actor=manager, title="Станки", pipeline=pipeline, contact=contact, amount="1"
    )
    deal_card = client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert reverse("comms_deal_timeline", args=[deal.pk]) in deal_card


def test_timeline_shows_every_channel_newest_first(client, manager, contact, history):
    client.force_login(manager)
    response = _timeline(client, contact)
    assert response.status_code == 200
    html = response.content.decode()
    assert _channels(html) == ["note", "form", "telegram", "email", "call"]
    # The call: direction, status, duration mm:ss, the employee, the recording link.
    assert "Incoming call" in html and "Missed" in html and "02:05" in html
    assert manager.get_full_name() in html
    assert 'href="https://pbx.example.ru/rec/call-1.mp3"' in html
    # The e-mail: subject, sanitized HTML (no script), attachment link.
    assert "Сроки поставки" in html and "<b>отгрузите</b>" in html
    assert "<script>" not in html and "alert(" not in html
    assert reverse("comms_attachment", args=[history["attachment"].pk]) in html and "спецификация.pdf" in html
    # Telegram text; the form's fields with their labels and UTM.
    assert "Привет из Телеграма" in html
    assert "Город" in html and "Казань" in html and "Нужен станок" in html
    assert "yandex" in html and "stanki" in html and "https://example.ru/stanki" in html
    assert "Перезвонить после обеда" in html


def test_dates_follow_the_users_language(client, manager, contact, history):
    manager.language = "ru"
    manager.save()
    client.force_login(manager)
    html = _timeline(client, contact, "call").content.decode()
    assert "26 ноября 2026 г., 10:15" in html
    manager.language = "en"
    manager.save()
    html = _timeline(client, contact, "call").content.decode()
    assert "Nov. 26, 2026, 10:15 a.m." in html


def test_plain_text_email_keeps_line_breaks_and_is_escaped(client, manager, contact, media):
    _interaction(
        contact,
        at=T0,
        kind="email",
        channel="email",
        provider="email:1",
        subject="Вопрос",
        body="Строка 1\nСтрока 2 <img src=x onerror=alert(1)>",
    )
    client.force_login(manager)
    html = _timeline(client, contact).content.decode()
    assert "Строка 1<br>Строка 2 &lt;img" in html


def test_timeline_is_404_outside_the_users_scope(client, other_manager, contact, history, pipeline):
    client.force_login(other_manager)
    assert _timeline(client, contact).status_code == 404
    assert client.get(reverse("comms_contact_reply", args=[contact.pk]), **HTMX).status_code == 404
    deal = DealFactory(contact=contact, pipeline=pipeline)
    assert client.get(reverse("comms_deal_timeline", args=[deal.pk]), **HTMX).status_code == 404


def test_channel_filter_shows_one_channel(client, manager, contact, history):
    client.force_login(manager)
    assert _channels(_timeline(client, contact, "call").content.decode()) == ["call"]
    assert _channels(_timeline(client, contact, "email").content.decode()) == ["email"]
    assert _channels(_timeline(client, contact, "telegram").content.decode()) == ["telegram"]
    assert _channels(_timeline(client, contact, "form").content.decode()) == ["form"]
    assert _channels(_timeline(client, contact, "note").content.decode()) == ["note"]
    html = _timeline(client, contact, "call").content.decode()
    # The chip of the chosen channel is pressed; the refresh after a reply keeps the filter.
    assert 'data-channel-filter="call" aria-pressed="true"' in html
    assert f'hx-get="{reverse("comms_contact_timeline", args=[contact.pk])}?channel=call"' in html
    assert len(_channels(_timeline(client, contact, "nonsense").content.decode())) == 5


def test_deal_timeline_shows_the_deals_interactions(client, manager, contact, pipeline, media):
    deal = crm_services.deal_create(
        actor=manager, title="Станки", pipeline=pipeline, contact=contact, amount="1"
    )
    _interaction(contact, at=T0, body="по сделке", deal=deal)
    _interaction(contact, at=T0, body="без сделки")
    client.force_login(manager)
    html = client.get(reverse("comms_deal_timeline", args=[deal.pk]), **HTMX).content.decode()
    assert "по сделке" in html and "без сделки" not in html


def test_timeline_queries_do_not_grow_with_its_length(client, manager, contact, history):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    with CaptureQueriesContext(connection) as few:
        assert _timeline(client, contact).status_code == 200
    lead = crm_services.lead_create(
        actor=manager, contact=contact, source="form", channel="form", utm_source="vk"
    )
    for n in range(5):
        at = T0 - datetime.timedelta(days=n + 1)
        email = _interaction(
            contact, at=at, kind="email", channel="email", provider="email:1", subject=f"E{n}"
        )
        Attachment.objects.create(interaction=email, file="x.pdf", filename=f"{n}.pdf", size=1)
        _interaction(contact, at=at, kind="call", channel="call", status="answered", duration=n, user=manager)
        _interaction(contact, at=at, kind="form", channel="form", payload={"form": "contact"}, lead=lead)
        crm_services.note_create(actor=manager, contact=contact, body=f"N{n}")
        crm_services.task_create(actor=manager, contact=contact, title=f"T{n}")
    with CaptureQueriesContext(connection) as many:
        html = _timeline(client, contact).content.decode()
    assert len(_channels(html)) == 5 + 25
    assert "vk" in html  # UTM of a submission stored without it, read off its lead
    assert len(many.captured_queries) <= len(few.captured_queries) + 1  # + the leads, in one query


# --- files ---------------------------------------------------------------------------------------


def test_recording_is_streamed_only_to_who_sees_the_contact(client, manager, other_manager, contact, history):
    call = history["call"]
    call.recording_file.save("call-1.mp3", ContentFile(b"ID3fake-audio"), save=True)
    client.force_login(manager)
    html = _timeline(client, contact, "call").content.decode()
    url = reverse("comms_recording", args=[call.pk])
    assert f'<audio controls preload="none" src="{url}"' in html
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ID3fake-audio"
    assert response["Content-Type"] == "audio/mpeg"
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_attachment_download_is_permission_checked(client, manager, other_manager, head, contact, history):
    url = reverse("comms_attachment", args=[history["attachment"].pk])
    client.force_login(manager)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n"
    assert response["Content-Disposition"].startswith("attachment;")
    # "inline" is honoured only for harmless types: a PDF or HTML is still a download.
    assert client.get(url + "?inline=1")["Content-Disposition"].startswith("attachment;")
    client.force_login(head)
    assert client.get(url).status_code == 200
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    assert client.get(reverse("comms_attachment", args=[999999])).status_code == 404


def test_image_attachment_can_be_shown_inline(client, manager, contact, history):
    image = Attachment(
        interaction=history["telegram"], filename="photo.jpg", content_type="image/jpeg", size=4
    )
    image.file.save("photo.jpg", ContentFile(b"\xff\xd8\xff\xe0"), save=False)
    image.save()
    client.force_login(manager)
    response = client.get(reverse("comms_attachment", args=[image.pk]) + "?inline=1")
    assert response["Content-Disposition"].startswith("inline;")
    assert (
        f"{reverse('comms_attachment', args=[image.pk])}?inline=1"
        in _timeline(client, contact).content.decode()
    )


# --- the reply box -------------------------------------------------------------------------------


def _reply(client, contact, tab, **data):
    url = reverse("comms_contact_reply", args=[contact.pk])
    return client.post(url, {"tab": tab, **{f"{tab}-{k}": v for k, v in data.items()}}, **HTMX)


def test_note_from_the_reply_box_refreshes_the_timeline(client, manager, contact, media):
    client.force_login(manager)
    response = _reply(client, contact, "note", body="Договорились о встрече")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "comms-timeline-refresh"
    assert "Note added." in response.content.decode()
    assert Note.objects.get(contact=contact).body == "Договорились о встрече"
    assert "Договорились о встрече" in _timeline(client, contact).content.decode()

    response = _reply(client, contact, "note", body="   ")
    assert "HX-Trigger" not in response
    assert 'data-field-error="body"' in response.content.decode()


def test_note_on_a_deal_card_goes_to_the_deal(client, manager, contact, pipeline):
    deal = crm_services.deal_create(
        actor=manager, title="Станки", pipeline=pipeline, contact=contact, amount="1"
    )
    client.force_login(manager)
    url = reverse("comms_deal_reply", args=[deal.pk])
    assert client.post(url, {"tab": "note", "note-body": "По сделке"}, **HTMX).status_code == 200
    note = Note.objects.get()
    assert (note.deal, note.contact) == (deal, contact)


def test_reply_box_of_a_deal_without_contact_offers_notes(client, manager, pipeline):
    deal = crm_services.deal_create(actor=manager, title="Без контакта", pipeline=pipeline, amount="1")
    client.force_login(manager)
    url = reverse("comms_deal_reply", args=[deal.pk])
    box = client.get(url, **HTMX).content.decode()
    assert "The deal has no contact to write to." in box
    assert 'id="reply-note" role="tabpanel"' in box and 'tab-pane show active" id="reply-note"' in box
    # Without htmx the form still works: back to the card with a message.
    response = client.post(url, {"tab": "note", "note-body": "Запись"})
    assert response.status_code == 302 and response["Location"] == reverse("deal_detail", args=[deal.pk])
    assert Note.objects.get().deal == deal


def test_email_without_a_mailbox_shows_the_error_in_the_form(client, manager, contact):
    client.force_login(manager)
    response = _reply(client, contact, "email", subject="Предложение", body="Добрый день")
    html = response.content.decode()
    assert "HX-Trigger" not in response
    assert "No mailbox is set up for sending e-mail." in html


def test_email_reply_is_sent_in_the_thread_and_lands_on_the_timeline(client, manager, contact, history):
    with run_smtp() as smtp:
        Mailbox.objects.create(
            pk=1,
            address="sales@otdel.test",
            imap_host="127.0.0.1",
            username="sales",
            password="secret",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_ssl=False,
        )
        client.force_login(manager)
        box = client.get(reverse("comms_contact_reply", args=[contact.pk]), **HTMX).content.decode()
        # The latest thread is answered by default.
        assert f'<option value="{history["email"].pk}" selected>' in box
        response = _reply(
            client, contact, "email", reply_to=history["email"].pk, subject="", body="В четверг."
        )
        assert response.status_code == 200, response.content
        assert response["HX-Trigger"] == "comms-timeline-refresh"
        assert len(smtp.messages) == 1 and smtp.messages[0]["rcpt_tos"] == ["petrov@client.ru"]
    sent = Interaction.objects.get(kind="email", direction="out")
    assert sent.subject == "Re: Сроки поставки" and sent.contact == contact
    history["email"].refresh_from_db()
    assert history["email"].handled_by == manager
    assert "Re: Сроки поставки" in _timeline(client, contact, "email").content.decode()


def test_reply_button_of_an_older_email_preselects_it(client, manager, contact, media):
    old = _interaction(
        contact, at=T0, kind="email", channel="email", subject="Старый вопрос", thread_key="t0"
    )
    for n in range(12):
        _interaction(
            contact,
            at=T0 + datetime.timedelta(hours=n + 1),
            kind="email",
            channel="email",
            thread_key=f"t{n + 1}",
        )
    client.force_login(manager)
    url = reverse("comms_contact_reply", args=[contact.pk])
    assert "Старый вопрос" not in client.get(url, **HTMX).content.decode()
    box = client.get(url + f"?tab=email&reply_to={old.pk}", **HTMX).content.decode()
    assert f'<option value="{old.pk}" selected>Старый вопрос' in box


def test_telegram_reply_needs_a_chat_and_then_is_sent(client, manager, contact, telegram_bot, bot_api):
    client.force_login(manager)
    stranger = crm_services.contact_create(actor=manager, full_name="Без Телеграма", responsible=manager)
    response = _reply(client, stranger, "telegram", text="Здравствуйте")
    assert "has not written to our Telegram bot yet" in response.content.decode()

    response = _reply(client, contact, "telegram", text="Здравствуйте, Пётр!")
    assert response["HX-Trigger"] == "comms-timeline-refresh"
    assert bot_api.calls("sendMessage")[-1]["text"] == "Здравствуйте, Пётр!"
    sent = Interaction.objects.get(channel="telegram", direction="out")
    assert sent.contact == contact and sent.body == "Здравствуйте, Пётр!"


def test_task_from_the_card_and_done_button(client, manager, other_manager, contact):
    client.force_login(manager)
    response = _reply(client, contact, "task", title="Выслать КП", kind="todo", due_at="2026-11-27T12:00")
    assert response["HX-Trigger"] == "comms-timeline-refresh"
    task = Task.objects.get()
    assert (task.assignee, task.contact, task.title) == (manager, contact, "Выслать КП")
    assert timezone.localtime(task.due_at).hour == 12
    html = _timeline(client, contact, "task").content.decode()
    assert "Выслать КП" in html and reverse("task_done", args=[task.pk]) in html

    assert (
        'data-field-error="title"' in _reply(client, contact, "task", title="", kind="todo").content.decode()
    )

    client.force_login(other_manager)
    assert client.post(reverse("task_done", args=[task.pk]), **HTMX).status_code == 404
    client.force_login(manager)
    response = client.post(reverse("task_done", args=[task.pk]), **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "comms-timeline-refresh"
    task.refresh_from_db()
    assert task.done_at is not None
    assert 'data-testid="task-done"' not in _timeline(client, contact, "task").content.decode()


# --- click-to-call -------------------------------------------------------------------------------


def test_click_to_call_rings_through_the_pbx(client, manager, contact, asterisk_provider, fake_ami):
    client.force_login(manager)
    phone = contact.identities.get(kind="phone")
    response = client.post(reverse("comms_contact_call", args=[contact.pk]), {"identity": phone.pk}, **HTMX)
    assert "Calling…" in response.content.decode()
    assert fake_ami.actions_named("Originate")[0]["Exten"] == "79123456789"


def test_click_to_call_shows_what_went_wrong(client, manager, other_manager, contact):
    client.force_login(manager)
    phone = contact.identities.get(kind="phone")
    url = reverse("comms_contact_call", args=[contact.pk])
    html = client.post(url, {"identity": phone.pk}, **HTMX).content.decode()
    assert "No active telephony provider can place calls" in html
    client.force_login(other_manager)
    assert client.post(url, {"identity": phone.pk}, **HTMX).status_code == 404


# --- inbox ---------------------------------------------------------------------------------------


@pytest.fixture
def inbox_rows(manager, other_manager, contact):
    now = timezone.now()
    mine = {
        "missed": _interaction(
            contact, at=now, kind="call", channel="call", status="missed", routed_to=manager
        ),
        "email": _interaction(
            contact, at=now, kind="email", channel="email", subject="Вопрос", routed_to=manager
        ),
        "form": _interaction(
            contact, at=now, kind="form", channel="form", summary="Заявка", routed_to=manager
        ),
    }
    other = {
        "answered": _interaction(
            contact, at=now, kind="call", channel="call", status="answered", routed_to=manager
        ),
        "handled": _interaction(
            contact, at=now, body="уже ответили", routed_to=manager, handled_at=now, handled_by=manager
        ),
        "outbound": _interaction(contact, at=now, body="наше", direction="out", routed_to=manager),
        "someone_elses": _interaction(contact, at=now, body="чужое", routed_to=other_manager),
    }
    return mine, other


def _inbox_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-testid="inbox-item" data-id="(\d+)"', html)}


def test_inbox_lists_only_my_unanswered_inbound(client, manager, inbox_rows):
    mine, other = inbox_rows
    client.force_login(manager)
    html = client.get(reverse("comms_inbox")).content.decode()
    assert _inbox_ids(html) == {i.pk for i in mine.values()}
    assert reverse("contact_detail", args=[mine["email"].contact_id]) in html


def test_mark_handled_removes_it_from_the_inbox(client, manager, other_manager, inbox_rows):
    mine, other = inbox_rows
    url = reverse("comms_mark_handled", args=[mine["email"].pk])
    client.force_login(other_manager)
    assert client.post(url, **HTMX).status_code == 404
    client.force_login(manager)
    response = client.post(url, **HTMX)
    assert response.status_code == 200 and response.content == b""
    mine["email"].refresh_from_db()
    assert mine["email"].handled_by == manager
    assert mine["email"].pk not in _inbox_ids(client.get(reverse("comms_inbox")).content.decode())
    # Without htmx: back to the inbox.
    response = client.post(reverse("comms_mark_handled", args=[mine["form"].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("comms_inbox")


def test_inbox_of_another_user(client, manager, other_manager, head, admin_user, inbox_rows):
    mine, other = inbox_rows
    url = reverse("comms_inbox") + f"?user={manager.pk}"
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    assert client.get(reverse("comms_inbox") + f"?user={other_manager.pk}").status_code == 200
    for viewer in (head, admin_user):
        client.force_login(viewer)
        response = client.get(url)
        assert response.status_code == 200
        assert _inbox_ids(response.content.decode()) == {i.pk for i in mine.values()}
    client.force_login(head)
    assert client.post(reverse("comms_mark_handled", args=[mine["form"].pk]), **HTMX).status_code == 200


def test_inbox_tasks_call_backs_first_overdue_highlighted(client, manager, contact):
    now = timezone.now()
    later = crm_services.task_create(
        actor=manager, contact=contact, title="Выслать КП", due_at=now + datetime.timedelta(days=1)
    )
    overdue = crm_services.task_create(
        actor=manager,
        contact=contact,
        title="Перезвонить",
        kind="call_back",
        due_at=now - datetime.timedelta(hours=2),
    )
    crm_services.task_complete(
        actor=manager, task=crm_services.task_create(actor=manager, contact=contact, title="Готово")
    )
    client.force_login(manager)
    html = client.get(reverse("comms_inbox")).content.decode()
    rows = re.findall(r'data-testid="inbox-task" data-id="(\d+)" data-overdue="(\d)"', html)
    assert rows == [(str(overdue.pk), "1"), (str(later.pk), "0")]
    assert "Готово" not in html


# --- channel settings ----------------------------------------------------------------------------

SETTINGS_PAGES = [
    "comms_channels",
    "comms_telephony_list",
    "comms_telephony_create",
    "comms_mailbox_list",
    "comms_mailbox_create",
    "comms_telegram_list",
    "comms_telegram_create",
    "comms_webform_list",
    "comms_webform_create",
    "comms_intake_list",
]


def test_channel_settings_are_404_for_non_admins(client, manager, head, office_manager):
    provider = TelephonyProvider.objects.create(kind="generic", name="АТС", key="pbx")
    log = IntakeLog.objects.create(provider="generic", body="{}")
    urls = [reverse(name) for name in SETTINGS_PAGES] + [
        reverse("comms_telephony_edit", args=[provider.pk]),
        reverse("comms_intake_detail", args=[log.pk]),
    ]
    for user in (manager, head, office_manager):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("comms_telephony_create"), {"name": "x"}).status_code == 404
    assert TelephonyProvider.objects.count() == 1


def test_settings_pages_render_for_admin(client, admin_user):
    client.force_login(admin_user)
    for name in SETTINGS_PAGES:
        response = client.get(reverse(name), follow=True)
        assert response.status_code == 200, name


def test_telephony_provider_create_edit_and_webhook_urls(client, admin_user, settings):
    settings.OTDEL_PUBLIC_URL = "https://crm.example.ru"
    client.force_login(admin_user)
    form = {
        "kind": "zadarma",
        "name": "Zadarma",
        "key": "zd",
        "is_active": "on",
        "api_key": "k",
        "ami_port": "5038",
    }
    response = client.post(reverse("comms_telephony_create"), form)
    assert response.status_code == 200
    assert 'data-field-error="api_secret"' in response.content.decode()
    assert not TelephonyProvider.objects.exists()

    response = client.post(reverse("comms_telephony_create"), {**form, "api_secret": "s3cret"})
    provider = TelephonyProvider.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "comms_telephony_edit", args=[provider.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "https://crm.example.ru/api/v1/telephony/zadarma/zd" in page
    assert "https://crm.example.ru/api/v1/telephony/route" in page
    assert "s3cret" not in page  # write-only

    # A blank secret keeps the stored one; a taken key is a field error.
    edit = {**form, "name": "Zadarma main", "api_secret": "", "version": provider.version}
    assert client.post(reverse("comms_telephony_edit", args=[provider.pk]), edit).status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.api_secret) == ("Zadarma main", "s3cret")
    TelephonyProvider.objects.create(kind="generic", name="Other", key="taken")
    response = client.post(
        reverse("comms_telephony_edit", args=[provider.pk]),
        {**edit, "key": "taken", "version": provider.version},
    )
    assert 'data-field-error="key"' in response.content.decode()


def test_mango_and_generic_webhook_urls(client, admin_user, settings):
    settings.OTDEL_PUBLIC_URL = "https://crm.example.ru"
    mango = TelephonyProvider.objects.create(
        kind="mango", name="Mango", key="mg", api_key="a", api_secret="b"
    )
    client.force_login(admin_user)
    page = client.get(reverse("comms_telephony_edit", args=[mango.pk])).content.decode()
    assert 'value="https://crm.example.ru/api/v1/telephony/mango/mg/"' in page
    assert "https://crm.example.ru/api/v1/telephony/mango/mg/events/call" in page
    assert "https://crm.example.ru/api/v1/telephony/mango/mg/events/summary" in page
    generic = TelephonyProvider.objects.create(kind="generic", name="PBX", key="pbx")
    page = client.get(reverse("comms_telephony_edit", args=[generic.pk])).content.decode()
    assert "https://crm.example.ru/api/v1/telephony/events" in page


def test_phone_lines_of_a_provider(client, admin_user):
    provider = TelephonyProvider.objects.create(kind="generic", name="АТС", key="pbx")
    queue = Queue.objects.create(code="sales", name="Продажи")
    client.force_login(admin_user)
    url = reverse("comms_line_create", args=[provider.pk])
    response = client.post(url, {"line-number": "12", "line-queue": queue.pk})
    assert 'data-field-error="number"' in response.content.decode()
    response = client.post(
        url, {"line-number": "8 (495) 123-45-67", "line-name": "Москва", "line-queue": queue.pk}
    )
    assert response.status_code == 302
    line = TelephonyLine.objects.get()
    assert (line.number, line.queue, line.provider) == ("+74951234567", queue, provider)
    response = client.post(url, {"line-number": "+7 495 123 45 67"})
    assert "already a line" in response.content.decode()
    edit = reverse("comms_line_edit", args=[provider.pk, line.pk])
    assert client.post(edit, {"delete": "1"}).status_code == 302
    assert not TelephonyLine.objects.exists()


def test_mailbox_create_edit_and_sync_now(client, admin_user):
    client.force_login(admin_user)
    form = {
        "address": "Sales@Otdel.test",
        "imap_host": "127.0.0.1",
        "imap_port": "1",  # nothing listens there: the sync fails at once
        "username": "sales",
        "smtp_host": "",
        "smtp_port": "465",
        "inbox_folder": "INBOX",
        "sent_folder": "Sent",
        "is_active": "on",
    }
    response = client.post(reverse("comms_mailbox_create"), form)
    assert 'data-field-error="password"' in response.content.decode()
    response = client.post(reverse("comms_mailbox_create"), {**form, "password": "p@ss"})
    mailbox = Mailbox.objects.get()
    assert response.status_code == 302 and mailbox.address == "sales@otdel.test"
    page = client.get(reverse("comms_mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "p@ss" not in page and "never" in page

    edit = {**form, "username": "sales2", "password": "", "version": mailbox.version}
    assert client.post(reverse("comms_mailbox_edit", args=[mailbox.pk]), edit).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.username, mailbox.password) == ("sales2", "p@ss")

    response = client.post(reverse("comms_mailbox_sync", args=[mailbox.pk]), follow=True)
    assert "Sync finished with errors" in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.last_error
    page = client.get(reverse("comms_mailbox_edit", args=[mailbox.pk])).content.decode()
    assert 'data-testid="mailbox-error"' in page


def test_telegram_bot_registration(client, admin_user, bot_api, telegram_settings):
    client.force_login(admin_user)
    url = reverse("comms_telegram_create")
    response = client.post(
        url, {"name": "Продажи", "key": "sales", "token": "nonsense", "api_base_url": bot_api.url}
    )
    assert 'data-field-error="token"' in response.content.decode()
    token = bot_api.add_bot("otdel_sales_bot")
    response = client.post(
        url, {"name": "Продажи", "key": "sales", "token": token, "api_base_url": bot_api.url}
    )
    bot = TelegramBot.objects.get()
    assert response.status_code == 302
    assert bot.username == "otdel_sales_bot" and bot.webhook_set_at is not None
    page = client.get(reverse("comms_telegram_edit", args=[bot.pk])).content.decode()
    assert "https://crm.example.ru/api/v1/telegram/sales/webhook" in page
    assert token not in page
    edit = {
        "name": "Отдел продаж",
        "token": "",
        "api_base_url": bot_api.url,
        "is_active": "on",
        "version": bot.version,
    }
    assert client.post(reverse("comms_telegram_edit", args=[bot.pk]), edit).status_code == 302
    bot.refresh_from_db()
    assert (bot.name, bot.token) == ("Отдел продаж", token)


def test_web_form_create_edit_public_url_and_snippet(client, admin_user, settings):
    settings.OTDEL_PUBLIC_URL = "https://crm.example.ru"
    purpose = consent_purpose_upsert(
        actor=admin_user, code="pd", title="Персональные данные", text="Согласен"
    ).purpose
    client.force_login(admin_user)
    form = {
        "slug": "contact",
        "name": "Обратная связь",
        "consent_purposes": [purpose.pk],
        "allowed_origins": "https://example.ru",
        "rate_limit_per_minute": "5",
        "is_active": "on",
        "extra_fields": "[not json",
    }
    response = client.post(reverse("comms_webform_create"), form)
    assert 'data-field-error="extra_fields"' in response.content.decode()
    response = client.post(
        reverse("comms_webform_create"), {**form, "extra_fields": "", "allowed_origins": "ftp://x"}
    )
    assert 'data-field-error="allowed_origins"' in response.content.decode()
    response = client.post(reverse("comms_webform_create"), {**form, "extra_fields": ""})
    web_form = WebForm.objects.get()
    assert response.status_code == 302
    assert list(web_form.consent_purposes.all()) == [purpose]
    page = client.get(reverse("comms_webform_edit", args=["contact"])).content.decode()
    assert "https://crm.example.ru/f/contact" in page
    assert "data-otdel-form=&quot;contact&quot;" in page and "comms/embed.js" in page

    WebForm.objects.create(slug="taken", name="Другая")
    edit = {**form, "extra_fields": "", "slug": "taken", "version": web_form.version}
    response = client.post(reverse("comms_webform_edit", args=["contact"]), edit)
    assert 'data-field-error="slug"' in response.content.decode()
    edit["slug"] = "feedback"
    response = client.post(reverse("comms_webform_edit", args=["contact"]), edit)
    assert response["Location"] == reverse("comms_webform_edit", args=["feedback"])


def test_intake_log_filters_and_detail(client, admin_user):
    rejected = IntakeLog.objects.create(
        provider="zadarma:zd", status="rejected", error="bad signature", body='{"event":"NOTIFY_START"}'
    )
    IntakeLog.objects.create(provider="generic", status="processed", body="{}")
    client.force_login(admin_user)
    html = client.get(reverse("comms_intake_list") + "?status=rejected").content.decode()
    assert html.count('data-testid="intake-row"') == 1 and "bad signature" in html
    html = client.get(reverse("comms_intake_list") + "?provider=generic").content.decode()
    assert html.count('data-testid="intake-row"') == 1 and 'data-status="processed"' in html
    detail = client.get(reverse("comms_intake_detail", args=[rejected.pk])).content.decode()
    assert "bad signature" in detail and "NOTIFY_START" in detail


def test_a_failed_delivery_is_processed_again_from_the_intake_log(client, admin_user, manager):
    event = {"call_id": "r-1", "event": "ringing", "direction": "in", "caller": "+79123456789"}
    failed = IntakeLog.objects.create(
        provider="generic",
        status="failed",
        error="OperationalError: database is locked",
        body=json.dumps(event),
    )
    refused = IntakeLog.objects.create(
        provider="zadarma:zd", status="rejected", error="bad signature", body="{}"
    )
    form_failure = IntakeLog.objects.create(provider="form:contact", status="failed", error="boom", body="{}")
    client.force_login(admin_user)
    detail = client.get(reverse("comms_intake_detail", args=[failed.pk])).content.decode()
    assert 'data-testid="intake-retry"' in detail
    for log in (refused, form_failure):
        page = client.get(reverse("comms_intake_detail", args=[log.pk])).content.decode()
        assert 'data-testid="intake-retry"' not in page

    response = client.post(reverse("comms_intake_retry", args=[failed.pk]), follow=True)
    failed.refresh_from_db()
    assert failed.status == "processed" and failed.error == ""
    assert failed.interaction == Interaction.objects.get(external_id="r-1")
    assert "processed again" in response.content.decode()
    # Again: nothing to do, nothing duplicated.
    client.post(reverse("comms_intake_retry", args=[failed.pk]))
    assert Interaction.objects.filter(external_id="r-1").count() == 1

    response = client.post(reverse("comms_intake_retry", args=[refused.pk]), follow=True)
    refused.refresh_from_db()
    assert refused.status == "rejected"
    assert "Only a delivery that failed" in response.content.decode()
    assert client.get(reverse("comms_intake_retry", args=[failed.pk])).status_code == 405


def test_the_intake_log_says_when_deliveries_wait_too_long(client, admin_user):
    client.force_login(admin_user)
    assert 'data-testid="intake-waiting"' not in client.get(reverse("comms_intake_list")).content.decode()
    IntakeLog.objects.create(provider="generic", status="received", body="{}")
    html = client.get(reverse("comms_intake_list")).content.decode()
    assert 'data-testid="intake-waiting"' in html and "1 delivery is waiting" in html
    assert "background worker running" not in html
    IntakeLog.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=10))
    html = client.get(reverse("comms_intake_list")).content.decode()
    assert "alert-warning" in html and "background worker running" in html
