"""IMAP polling against a real IMAP server (pymap on loopback): charsets, threads, cursors, faults."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from otdel.comms.email import sync
from otdel.comms.email.sync import mailbox_sync
from otdel.comms.models import Attachment, IntakeLog, Interaction, MailFolderCursor
from otdel.comms.selectors import timeline
from otdel.comms.tests.email.support.fixtures import (
    ADDRESS,
)
from otdel.comms.tests.email.support.messages import attachment, encoded_word, message
from otdel.crm.models import Contact, Identity, Lead
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory

RU_1251 = "Добрый день! Нужен расчёт стоимости доставки в Казань."
RU_KOI8 = "Здравствуйте. Прошу выставить счёт на 20 штук."


def _cursor(mailbox, folder="INBOX"):
    return MailFolderCursor.objects.filter(mailbox=mailbox, folder=folder).first()


@pytest.mark.django_db
def test_mail_in_several_charsets_lands_on_one_contact_per_sender(imap, mailbox, admin_user):
    imap.append(
        "INBOX",
        message(
            sender=f"{encoded_word('Анна Смирнова', 'utf-8')} <anna@example.ru>",
            subject=encoded_word("Вопрос по доставке", "utf-8"),
            body="Когда привезёте?",
            message_id="<a1@example.ru>",
        ),
    )
    imap.append(
        "INBOX",
        message(
            sender=f"{encoded_word('Борис Ковалёв', 'windows-1251', 'Q')} <Boris@Zavod.ru>",
            subject=encoded_word("Расчёт стоимости", "windows-1251", "Q"),
            body=RU_1251,
            charset="windows-1251",
            transfer_encoding="quoted-printable",
            message_id="<b1@zavod.ru>",
        ),
    )
    imap.append(
        "INBOX",
        message(
            sender=f"{encoded_word('Виктор Ёлкин', 'koi8-r')} <viktor@old-mail.ru>",
            subject=encoded_word("Счёт на оплату 7", "koi8-r"),
            body=RU_KOI8,
            charset="koi8-r",
            message_id="<v1@old-mail.ru>",
        ),
    )
    imap.append(
        "INBOX",
        message(
            sender="anna@example.ru",
            subject=encoded_word("Ещё вопрос", "utf-8"),
            body="И ещё одно.",
            message_id="<a2@example.ru>",
        ),
    )

    result = mailbox_sync(mailbox=mailbox)

    assert result.ok and result.created == 4, result.line()
    assert Contact.objects.count() == 3
    names = dict(Identity.objects.filter(kind="email").values_list("value", "contact__full_name"))
    assert names == {
        "anna@example.ru": "Анна Смирнова",
        "boris@zavod.ru": "Борис Ковалёв",
        "viktor@old-mail.ru": "Виктор Ёлкин",
    }
    subjects = {i.subject: i.body for i in Interaction.objects.filter(channel="email", direction="in")}
    assert subjects == {
        "Вопрос по доставке": "Когда привезёте?",
        "Расчёт стоимости": RU_1251,
        "Счёт на оплату 7": RU_KOI8,
        "Ещё вопрос": "И ещё одно.",
    }
    anna = Identity.objects.get(value="anna@example.ru").contact
    assert Lead.objects.filter(contact=anna).count() == 1  # the second mail attaches to the open lead
    assert Lead.objects.count() == 3 and set(Lead.objects.values_list("source", flat=True)) == {"email"}
    # The timeline shows the decoded subject as the summary (CONTRACTS.md), newest first.
    assert [item.summary for item in timeline(user=admin_user, contact=anna)] == [
        "Ещё вопрос",
        "Вопрос по доставке",
    ]


@pytest.mark.django_db
def test_sync_twice_makes_no_duplicates_and_moves_the_cursor(imap, mailbox):
    uids = [
        imap.append(
            "INBOX", message(sender="c@example.ru", subject=f"Письмо {n}", body="x", message_id=f"<d{n}@e>")
        )
        for n in range(3)
    ]
    first = mailbox_sync(mailbox=mailbox)
    second = mailbox_sync(mailbox=mailbox)
    assert (first.created, second.created, second.duplicates) == (3, 0, 0)
    cursor = _cursor(mailbox)
    assert cursor.last_uid == uids[-1] and cursor.uidvalidity == imap.uidvalidity("INBOX")
    # The same message delivered again (a new UID, same Message-ID) is recognised.
    imap.append("INBOX", message(sender="c@example.ru", subject="Письмо 1", body="x", message_id="<d1@e>"))
    third = mailbox_sync(mailbox=mailbox)
    assert (third.created, third.duplicates) == (0, 1)
    assert Interaction.objects.count() == 3


@pytest.mark.django_db
def test_attachments_are_stored_with_their_names_and_sizes(imap, mailbox, media):
    contract = b"%PDF-1.7\n" + bytes(range(256)) * 40
    price = b"PK\x03\x04" + b"\x07" * 5000
    imap.append(
        "INBOX",
        message(
            sender="buyer@example.ru",
            subject=encoded_word("Договор и прайс", "koi8-r"),
            body=RU_KOI8,
            charset="koi8-r",
            message_id="<att1@example.ru>",
            attachments=[
                attachment(
                    "application/pdf",
                    b"attachment; filename*=utf-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%96%201.pdf",
                    contract,
                ),
                attachment(
                    "application/vnd.ms-excel",
                    b'attachment; filename="' + encoded_word("Прайс.xls", "windows-1251").encode() + b'"',
                    price,
                ),
            ],
        ),
    )
    assert mailbox_sync(mailbox=mailbox).created == 1
    interaction = Interaction.objects.get()
    files = [(a.filename, a.size, a.content_type) for a in Attachment.objects.filter(interaction=interaction)]
    assert files == [
        ("Договор № 1.pdf", len(contract), "application/pdf"),
        ("Прайс.xls", len(price), "application/vnd.ms-excel"),
    ]
    stored = Attachment.objects.get(filename="Договор № 1.pdf")
    with stored.file.open("rb") as fh:
        assert fh.read() == contract
    assert str(media) in stored.file.path


@pytest.mark.django_db
def test_client_reply_threads_back_to_the_same_contact_and_deal(imap, mailbox, manager, pipeline):
    contact = ContactFactory(full_name="ООО Вектор", responsible=manager)
    IdentityFactory(contact=contact, kind="email", value="zakupki@vector.ru")
    deal = DealFactory(contact=contact, responsible=manager, pipeline=pipeline, stage=pipeline.stages.first())
    imap.append(
        "INBOX",
        message(
            sender="zakupki@vector.ru", subject="Заявка", body="Нужно 5 штук", message_id="<root@vector.ru>"
        ),
    )
    imap.append(
        "Sent",
        message(
            sender=ADDRESS,
            to="zakupki@vector.ru",
            subject="Re: Заявка",
            body="Счёт во вложении",
            message_id="<ans@otdel.test>",
            in_reply_to="<root@vector.ru>",
            references="<root@vector.ru>",
        ),
    )
    # The client's program only sets In-Reply-To (no References): the thread is found through our answer.
    imap.append(
        "INBOX",
        message(
            sender="Zakupki@Vector.ru",
            subject="Re: Re: Заявка",
            body="Оплатили",
            message_id="<reply@vector.ru>",
            in_reply_to="<ans@otdel.test>",
        ),
    )
    result = mailbox_sync(mailbox=mailbox)
    assert result.ok and result.created == 3, result.line()
    rows = {
        row[0]: row[1:]
        for row in Interaction.objects.values_list("message_id", "direction", "contact", "deal", "thread_key")
    }
    assert rows == {
        "<root@vector.ru>": ("in", contact.pk, deal.pk, "<root@vector.ru>"),
        "<ans@otdel.test>": ("out", contact.pk, deal.pk, "<root@vector.ru>"),
        "<reply@vector.ru>": ("in", contact.pk, deal.pk, "<root@vector.ru>"),
    }
    assert not Lead.objects.exists()  # a known client with an open deal: no new lead


@pytest.mark.django_db
def test_sent_folder_is_outbound_on_the_first_recipient(imap, mailbox, manager):
    manager.email = "manager@otdel.test"
    manager.save()
    imap.append(
        "Sent",
        message(
            sender=f"{encoded_word('Менеджер', 'utf-8')} <Manager@Otdel.test>",
            to=f"{encoded_word('Ольга Новикова', 'utf-8')} <olga@client.ru>, boss@client.ru",
            subject=encoded_word("Коммерческое предложение", "utf-8"),
            body="Высылаю КП.",
            message_id="<kp1@otdel.test>",
        ),
    )
    assert mailbox_sync(mailbox=mailbox).created == 1
    sent = Interaction.objects.get()
    assert (sent.direction, sent.user, sent.subject) == ("out", manager, "Коммерческое предложение")
    assert sent.contact.full_name == "Ольга Новикова"
    assert sent.contact.identities.get().value == "olga@client.ru"
    assert sent.handled_at is not None  # our own mail needs no answer
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_loops_are_skipped_and_auto_replies_make_no_lead(imap, mailbox):
    imap.append(
        "INBOX", message(sender=ADDRESS, subject="Копия себе", body="x", message_id="<self@otdel.test>")
    )
    imap.append(
        "INBOX",
        message(
            sender="away@client.ru",
            subject=encoded_word("Автоответ: в отпуске до 10.01", "utf-8"),
            body="Я в отпуске",
            message_id="<auto@client.ru>",
            extra_headers=[("Auto-Submitted", "auto-replied")],
        ),
    )
    result = mailbox_sync(mailbox=mailbox)
    assert (result.created, result.skipped) == (1, 1)
    auto = Interaction.objects.get()
    assert auto.subject == "Автоответ: в отпуске до 10.01" and auto.payload["auto_submitted"] is True
    assert auto.contact is not None and not Lead.objects.exists()


@pytest.mark.django_db
def test_broken_message_is_logged_and_skipped(imap, mailbox):
    imap.append("INBOX", message(sender="a@example.ru", subject="До", body="x", message_id="<before@e>"))
    broken = imap.append("INBOX", b"\x00\xff\xfe\x80 this is not a message\r\nat all\r\n")
    anonymous = imap.append("INBOX", b"Subject: no sender\r\nTo: sales@otdel.test\r\n\r\nwho am I?\r\n")
    last = imap.append(
        "INBOX", message(sender="b@example.ru", subject="После", body="y", message_id="<after@e>")
    )

    result = mailbox_sync(mailbox=mailbox)

    assert (result.created, result.rejected, result.ok) == (2, 2, True), result.line()
    assert set(Interaction.objects.values_list("subject", flat=True)) == {"До", "После"}
    logs = {log.headers["uid"]: log for log in IntakeLog.objects.filter(provider=f"email:{mailbox.pk}")}
    assert set(logs) == {broken, anonymous}
    assert {log.status for log in logs.values()} == {"rejected"}
    assert "this is not a message" in logs[broken].body and "\\xff" in logs[broken].body
    assert "who am I?" in logs[anonymous].body and "no sender" in logs[anonymous].error
    assert _cursor(mailbox).last_uid == last  # permanently unreadable: the cursor moves past them
    assert mailbox_sync(mailbox=mailbox).rejected == 0  # and they are not logged again


@pytest.mark.django_db
def test_message_that_failed_to_store_is_retried_next_poll(imap, mailbox, monkeypatch):
    mailbox_sync(mailbox=mailbox)  # connected earlier: the cursor is at the top of an empty INBOX
    uids = [
        imap.append(
            "INBOX",
            message(sender=f"c{n}@example.ru", subject=f"Письмо {n}", body="x", message_id=f"<r{n}@e>"),
        )
        for n in range(3)
    ]
    real_ingest = sync.ingest_event

    def database_busy_for_the_second(event):
        if event.subject == "Письмо 1":
            raise OperationalError("database is locked")
        return real_ingest(event)

    monkeypatch.setattr(sync, "ingest_event", database_busy_for_the_second)
    result = mailbox_sync(mailbox=mailbox)
    assert (result.created, result.failed) == (2, 1)
    assert _cursor(mailbox).last_uid == uids[0]  # held before the message to retry
    failed = IntakeLog.objects.get(status="failed")
    assert failed.headers["uid"] == uids[1] and "database is locked" in failed.error

    monkeypatch.setattr(sync, "ingest_event", real_ingest)
    retry = mailbox_sync(mailbox=mailbox)
    assert (retry.created, retry.duplicates, retry.failed) == (1, 1, 0)
    assert _cursor(mailbox).last_uid == uids[2]
    assert sorted(Interaction.objects.values_list("subject", flat=True)) == [
        "Письмо 0",
        "Письмо 1",
        "Письмо 2",
    ]


@pytest.mark.django_db
def test_a_message_that_keeps_failing_is_given_up_after_a_few_attempts(imap, mailbox, monkeypatch, settings):
    settings.OTDEL_MAIL_MAX_ATTEMPTS = 3
    mailbox_sync(mailbox=mailbox)
    poison = imap.append("INBOX", message(sender="p@example.ru", subject="Яд", body="x", message_id="<p@e>"))
    real_ingest = sync.ingest_event

    def always_fails_for_it(event):
        if event.subject == "Яд":
            raise ValueError("a bug that this message triggers")
        return real_ingest(event)

    monkeypatch.setattr(sync, "ingest_event", always_fails_for_it)
    outcomes = [(r.failed, r.rejected) for r in (mailbox_sync(mailbox=mailbox) for _ in range(4))]
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]  # retried, then skipped for good
    assert _cursor(mailbox).last_uid == poison
    attempts = list(
        IntakeLog.objects.filter(status="failed").order_by("id").values_list("headers__attempt", flat=True)
    )
    assert attempts == [1, 2, 3]
    assert "Gave up after 3 attempts" in IntakeLog.objects.filter(status="failed").order_by("id").last().error


@pytest.mark.django_db
def test_server_down_sets_the_error_keeps_the_cursor_and_recovery_picks_everything_up(imap, mailbox, proxy):
    mailbox.imap_port = proxy.port
    mailbox.save()
    imap.append("INBOX", message(sender="c@example.ru", subject="Первое", body="x", message_id="<s0@e>"))
    assert mailbox_sync(mailbox=mailbox).created == 1
    before = _cursor(mailbox)
    synced_at = mailbox.last_sync_at

    proxy.down = True
    for n in (1, 2):
        imap.append(
            "INBOX",
            message(sender="c@example.ru", subject=f"Пока лежал {n}", body="x", message_id=f"<s{n}@e>"),
        )
    failed = mailbox_sync(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert not failed.ok and "Cannot talk to the IMAP server" in mailbox.last_error
    assert mailbox.last_error_at is not None and mailbox.last_sync_at == synced_at
    after = _cursor(mailbox)
    assert (after.uidvalidity, after.last_uid) == (before.uidvalidity, before.last_uid)
    assert Interaction.objects.count() == 1

    proxy.down = False
    recovered = mailbox_sync(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert recovered.ok and recovered.created == 2
    assert mailbox.last_sync_at > mailbox.last_error_at
    assert Interaction.objects.count() == 3


@pytest.mark.django_db
def test_connection_lost_in_the_middle_keeps_what_was_done(imap, mailbox, proxy, settings, monkeypatch):
    settings.OTDEL_MAIL_FETCH_BATCH = 2
    mailbox.imap_port = proxy.port
    mailbox.save()
    uids = [
        imap.append(
            "INBOX", message(sender="c@example.ru", subject=f"№{n}", body="x", message_id=f"<m{n}@e>")
        )
        for n in range(5)
    ]
    real_process = sync._process
    seen = []

    def cut_after_the_second(*args, **kwargs):
        outcome = real_process(*args, **kwargs)
        seen.append(outcome)
        if len(seen) == 2:
            proxy.cut()  # the network goes away between two FETCHes
        return outcome

    monkeypatch.setattr(sync, "_process", cut_after_the_second)
    broken = mailbox_sync(mailbox=mailbox)
    assert not broken.ok and broken.created == 2
    assert _cursor(mailbox).last_uid == uids[1]

    monkeypatch.setattr(sync, "_process", real_process)
    resumed = mailbox_sync(mailbox=mailbox)
    assert resumed.ok and (resumed.created, resumed.duplicates) == (3, 0)
    assert _cursor(mailbox).last_uid == uids[4]
    assert Interaction.objects.count() == 5


@pytest.mark.django_db
def test_uidvalidity_change_rescans_without_duplicates(imap, mailbox):
    mailbox.inbox_folder = "Заявки"  # a non-ASCII folder name travels as modified UTF-7
    mailbox.save()
    mails = [
        message(sender="c@example.ru", subject=f"Старое {n}", body="x", message_id=f"<u{n}@e>")
        for n in range(2)
    ]
    for raw in mails:
        imap.append("Заявки", raw)
    assert mailbox_sync(mailbox=mailbox).created == 2
    old_validity = _cursor(mailbox, "Заявки").uidvalidity

    imap.recreate("Заявки")  # the server renumbers the folder
    for raw in mails:
        imap.append("Заявки", raw)
    new_uid = imap.append(
        "Заявки", message(sender="c@example.ru", subject="Новое", body="x", message_id="<u9@e>")
    )
    result = mailbox_sync(mailbox=mailbox)

    assert (result.created, result.duplicates) == (1, 2)
    cursor = _cursor(mailbox, "Заявки")
    assert cursor.uidvalidity != old_validity and cursor.last_uid == new_uid
    assert Interaction.objects.count() == 3


@pytest.mark.django_db
def test_first_sync_imports_only_recent_mail(imap, mailbox, settings):
    settings.OTDEL_MAIL_INITIAL_DAYS = 7
    long_ago = timezone.now() - datetime.timedelta(days=40)
    imap.append(
        "INBOX",
        message(sender="old@e.ru", subject="Давнее", body="x", message_id="<old@e>"),
        msg_time=long_ago,
    )
    imap.append("INBOX", message(sender="new@e.ru", subject="Свежее", body="x", message_id="<new@e>"))
    assert mailbox_sync(mailbox=mailbox).created == 1
    assert list(Interaction.objects.values_list("subject", flat=True)) == ["Свежее"]
    imap.append("INBOX", message(sender="new@e.ru", subject="Ещё свежее", body="x", message_id="<new2@e>"))
    assert mailbox_sync(mailbox=mailbox).created == 1


@pytest.mark.django_db
def test_too_large_message_is_kept_by_its_headers(imap, mailbox, settings):
    settings.OTDEL_MAIL_MAX_BYTES = 4000
    imap.append(
        "INBOX",
        message(
            sender="big@example.ru",
            subject=encoded_word("Чертежи", "utf-8"),
            body="см. вложение",
            message_id="<big@e>",
            attachments=[
                attachment("application/octet-stream", b'attachment; filename="big.dwg"', b"\x01" * 20000)
            ],
        ),
    )
    assert mailbox_sync(mailbox=mailbox).created == 1
    big = Interaction.objects.get()
    assert big.subject == "Чертежи" and big.payload["truncated"] is True and "too large" in big.body
    assert not big.attachments.exists()


@pytest.mark.django_db
def test_wrong_password_and_missing_folder_are_reported(imap, mailbox):
    mailbox.password = "wrong"
    mailbox.save()
    result = mailbox_sync(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert not result.ok and "refused the login" in mailbox.last_error and mailbox.last_sync_at is None
    assert not MailFolderCursor.objects.exists()

    mailbox.password, mailbox.sent_folder = imap.password, "Отправленные"
    mailbox.save()
    imap.reset()  # no Sent folder at all, so nothing special-use to fall back to
    imap.append("INBOX", message(sender="c@example.ru", subject="x", body="y", message_id="<f@e>"))
    result = mailbox_sync(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert result.created == 1 and "Отправленные" in mailbox.last_error
