"""Sending from the card over real SMTP (aiosmtpd), and the client's reply coming back into the thread."""

import email
import email.policy

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from otdel.comms.email.send import email_send
from otdel.comms.email.sync import mailbox_sync
from otdel.comms.models import Attachment, Interaction
from otdel.comms.tests.email.support.fixtures import (
    ADDRESS,
)
from otdel.comms.tests.email.support.messages import encoded_word, message
from otdel.crm.models import Lead
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory


@pytest.fixture
def sending_mailbox(mailbox, smtp_server):
    mailbox.smtp_host, mailbox.smtp_port = smtp_server.host, smtp_server.port
    mailbox.smtp_ssl = mailbox.smtp_starttls = False
    mailbox.save()
    return mailbox


@pytest.fixture
def client_contact(manager):
    contact = ContactFactory(full_name="Ирина Волкова", responsible=manager)
    IdentityFactory(contact=contact, kind="email", value="irina@client.ru")
    return contact


def _sent(smtp_server, index=-1):
    captured = smtp_server.messages[index]
    return captured, email.message_from_bytes(captured["data"], policy=email.policy.default)


@pytest.mark.django_db
def test_reply_from_the_card_threads_and_the_client_answer_comes_back(
    imap, sending_mailbox, smtp_server, client_contact, manager, api_for
):
    imap.append(
        "INBOX",
        message(
            sender=f"{encoded_word('Ирина Волкова', 'koi8-r')} <irina@client.ru>",
            subject=encoded_word("Сроки поставки", "koi8-r"),
            body="Когда сможете отгрузить?",
            charset="koi8-r",
            message_id="<q1@client.ru>",
        ),
    )
    assert mailbox_sync(mailbox=sending_mailbox).created == 1
    question = Interaction.objects.get()
    assert question.routed_to == manager and question.handled_at is None

    response = api_for(manager).post(
        f"/api/v1/contacts/{client_contact.pk}/email",
        {"body": "Отгрузим в четверг.\nС уважением, отдел продаж", "reply_to": question.pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    captured, sent = _sent(smtp_server)
    assert captured["mail_from"] == ADDRESS and captured["rcpt_tos"] == ["irina@client.ru"]
    assert sent["Subject"] == "Re: Сроки поставки"
    assert sent["In-Reply-To"] == "<q1@client.ru>" and sent["References"] == "<q1@client.ru>"
    assert sent["Message-ID"].endswith("@otdel.test>")
    text = sent.get_body(("plain",)).get_content().replace("\r\n", "\n").strip()
    assert text == "Отгрузим в четверг.\nС уважением, отдел продаж"
    # On the timeline at once, in the same thread, and the question counts as answered.
    answer = Interaction.objects.get(pk=response.json()["id"])
    assert (answer.direction, answer.contact, answer.user, answer.thread_key) == (
        "out",
        client_contact,
        manager,
        "<q1@client.ru>",
    )
    assert answer.message_id == sent["Message-ID"] and response.json()["summary"] == "Re: Сроки поставки"
    question.refresh_from_db()
    assert question.handled_by == manager

    # The mail server keeps our copy in Sent; the client answers our message.
    imap.append("Sent", captured["data"])
    imap.append(
        "INBOX",
        message(
            sender="irina@client.ru",
            subject=encoded_word("Re: Сроки поставки", "utf-8"),
            body="Спасибо, ждём.",
            message_id="<q2@client.ru>",
            in_reply_to=sent["Message-ID"],
            references=f"<q1@client.ru> {sent['Message-ID']}",
        ),
    )
    result = mailbox_sync(mailbox=sending_mailbox)
    assert (result.created, result.duplicates) == (1, 1)  # our copy in Sent is recognised
    thread = Interaction.objects.filter(thread_key="<q1@client.ru>").order_by("occurred_at", "id")
    assert [(i.direction, i.contact_id) for i in thread] == [
        ("in", client_contact.pk),
        ("out", client_contact.pk),
        ("in", client_contact.pk),
    ]
    assert Lead.objects.filter(contact=client_contact).count() == 1
    assert len({i.lead_id for i in thread if i.direction == "in"}) == 1  # the reply joins the same lead


@pytest.mark.django_db
def test_first_mail_to_a_client_with_a_deal_and_their_reply_land_on_the_deal(
    imap, sending_mailbox, smtp_server, client_contact, manager, pipeline
):
    deal = DealFactory(
        contact=client_contact, responsible=manager, pipeline=pipeline, stage=pipeline.stages.first()
    )
    sent = email_send(
        actor=manager,
        contact=client_contact,
        subject="Коммерческое предложение",
        body="Добрый день! Высылаем КП.",
        attachments=[("КП №12.pdf", b"%PDF-1.4 offer", "application/pdf")],
    )
    assert (sent.deal, sent.direction, sent.thread_key) == (deal, "out", sent.message_id)
    assert [(a.filename, a.size) for a in sent.attachments.all()] == [("КП №12.pdf", 14)]
    _captured, raw = _sent(smtp_server)
    assert [part.get_filename() for part in raw.iter_attachments()] == ["КП №12.pdf"]

    imap.append(
        "INBOX",
        message(
            sender="irina@client.ru",
            subject=encoded_word("Re: Коммерческое предложение", "windows-1251"),
            body="Согласны, выставляйте счёт.",
            charset="windows-1251",
            message_id="<yes@client.ru>",
            in_reply_to=sent.message_id,
        ),
    )
    assert mailbox_sync(mailbox=sending_mailbox).created == 1
    reply = Interaction.objects.get(message_id="<yes@client.ru>")
    assert (reply.contact, reply.deal, reply.thread_key) == (client_contact, deal, sent.message_id)
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_attachments_sent_through_the_api(sending_mailbox, smtp_server, client_contact, manager, api_for):
    files = [
        SimpleUploadedFile("Счёт 15.pdf", b"%PDF invoice" * 100, content_type="application/pdf"),
        SimpleUploadedFile("реквизиты.txt", "ИНН 7700000000".encode(), content_type="text/plain"),
    ]
    response = api_for(manager).post(
        f"/api/v1/contacts/{client_contact.pk}/email",
        {"subject": "Счёт", "body": "Счёт во вложении.", "attachments": files},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert [(a["filename"], a["size"]) for a in response.json()["attachments"]] == [
        ("Счёт 15.pdf", 1200),
        ("реквизиты.txt", len("ИНН 7700000000".encode())),
    ]
    _captured, sent = _sent(smtp_server)
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in sent.iter_attachments()] == [
        ("Счёт 15.pdf", "application/pdf", b"%PDF invoice" * 100),
        ("реквизиты.txt", "text/plain", "ИНН 7700000000"),
    ]
    stored = Attachment.objects.get(filename="Счёт 15.pdf")
    with stored.file.open("rb") as fh:
        assert fh.read() == b"%PDF invoice" * 100


@pytest.mark.django_db
def test_smtp_refusal_or_outage_is_a_clear_error_and_nothing_is_recorded(
    sending_mailbox, smtp_server, client_contact, manager, api_for
):
    url = f"/api/v1/contacts/{client_contact.pk}/email"
    smtp_server.refuse = True
    response = api_for(manager).post(url, {"subject": "Тест", "body": "Текст"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "smtp_failed" and "554" in body["errors"]["__all__"][0]

    sending_mailbox.smtp_port = 1  # nothing listens there
    sending_mailbox.save()
    with pytest.raises(ValidationError) as error:
        email_send(actor=manager, contact=client_contact, subject="Тест", body="Текст")
    assert "was not sent" in error.value.message_dict["__all__"][0]
    assert not Interaction.objects.exists() and not Attachment.objects.exists()


@pytest.mark.django_db
def test_sending_checks_the_contact_and_the_reply(
    sending_mailbox, client_contact, manager, other_manager, api_for
):
    url = f"/api/v1/contacts/{client_contact.pk}/email"
    assert api_for(other_manager).post(url, {"subject": "x", "body": "y"}, format="json").status_code == 404
    assert api_for(None).post(url, {"subject": "x", "body": "y"}, format="json").status_code == 401

    nobody = ContactFactory(full_name="Без почты", responsible=manager)
    response = api_for(manager).post(f"/api/v1/contacts/{nobody.pk}/email", {"subject": "x", "body": "y"})
    assert response.status_code == 400 and response.json()["code"] == "no_email"

    stranger = ContactFactory(responsible=other_manager)
    foreign = Interaction.objects.create(
        kind="email", channel="email", occurred_at="2026-01-01T10:00:00Z", contact=stranger, subject="чужое"
    )
    response = api_for(manager).post(url, {"body": "y", "reply_to": foreign.pk}, format="json")
    assert response.status_code == 400 and "reply_to" in response.json()["errors"]
    response = api_for(manager).post(url, {"subject": "", "body": "  "}, format="json")
    assert response.status_code == 400
    assert Interaction.objects.count() == 1
