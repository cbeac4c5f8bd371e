"""Telegram webhook end to end: updates posted as Telegram posts them, a fake Bot API on loopback."""

import datetime
import json

import pytest

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.comms.models import Attachment, IntakeLog, Interaction
from otdel.comms.selectors import timeline
from otdel.comms.tests.telegram.support.fixtures import (
    person,
    private_update,
)
from otdel.crm.models import Contact, Identity, Lead
from otdel.crm.tests.factories import ContactFactory, IdentityFactory
from otdel.routing.models import Queue, QueueMember

CHAT = 422110


@pytest.fixture
def seller(db):
    user = UserFactory(username="seller", role=Role.SALES_MANAGER, work_days=list(range(7)))
    user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    user.save()
    return user


@pytest.fixture
def bot(telegram_bot, seller):
    queue = Queue.objects.create(code="telegram", name="Telegram")
    QueueMember.objects.create(queue=queue, user=seller)
    telegram_bot.queue = queue
    telegram_bot.save()
    return telegram_bot


def _inbound():
    return Interaction.objects.filter(direction="in")


@pytest.mark.django_db
def test_first_message_creates_contact_lead_and_asks_for_the_phone(bot, deliver, bot_api, seller):
    response = deliver(bot, private_update(text="Здравствуйте! Сколько стоит доставка в Казань?"))
    assert response.status_code == 200, response.content

    message = _inbound().get()
    assert (message.channel, message.kind, message.provider) == ("telegram", "message", "telegram:sales")
    assert message.body == "Здравствуйте! Сколько стоит доставка в Казань?"
    assert message.external_id == f"{CHAT}:1"
    contact = message.contact
    assert contact.full_name == "Иван Петров"
    assert Identity.objects.get(contact=contact, kind="telegram").value == str(CHAT)
    lead = Lead.objects.get(contact=contact)
    assert (lead.source, lead.channel, lead.responsible) == ("messenger", "telegram", seller)
    assert message.lead == lead and message.routed_to == seller

    # The bot asked, once, with a one-time "share phone" button.
    (ask,) = bot_api.calls("sendMessage")
    assert ask["chat_id"] == CHAT
    assert ask["reply_markup"]["one_time_keyboard"] is True
    (button,) = ask["reply_markup"]["keyboard"][0]
    assert button["request_contact"] is True and button["text"]
    # ... and the client's card shows what the bot wrote.
    outbound = Interaction.objects.get(direction="out")
    assert outbound.contact == contact and outbound.body == ask["text"]

    deliver(bot, private_update(message_id=2, text="Алло?"))
    assert len(bot_api.calls("sendMessage")) == 1
    second = _inbound().get(external_id=f"{CHAT}:2")
    assert (second.contact, second.lead) == (contact, lead)


@pytest.mark.django_db
def test_redelivered_update_creates_nothing_new(bot, deliver, bot_api):
    update = private_update(text="Нужен счёт на 10 коробок")
    for _ in range(5):
        assert deliver(bot, update).status_code == 200
    assert _inbound().count() == 1
    assert Contact.objects.count() == 1 and Lead.objects.count() == 1
    assert len(bot_api.calls("sendMessage")) == 1
    assert IntakeLog.objects.filter(provider="telegram:sales", status="processed").count() == 5


@pytest.mark.django_db
def test_edited_message_keeps_the_first_text(bot, deliver):
    deliver(bot, private_update(message_id=7, text="Нужно 10 штук"))
    deliver(bot, private_update(message_id=7, text="Нужно 12 штук", kind="edited_message"))
    message = _inbound().get()
    assert message.body == "Нужно 10 штук"
    assert message.payload["_events"][0]["edited_message"]["text"] == "Нужно 12 штук"


@pytest.mark.django_db
def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(bot, deliver, bot_api):
    update = private_update(text="hi")
    assert deliver(bot, update, secret="").status_code == 401
    assert deliver(bot, update, secret="not-the-secret").status_code == 403
    assert not Interaction.objects.exists() and not Contact.objects.exists()
    assert not bot_api.calls("sendMessage")
    logs = list(IntakeLog.objects.order_by("id"))
    assert [log.status for log in logs] == ["rejected", "rejected"]
    assert json.loads(logs[0].body)["message"]["text"] == "hi"
    # Neither the right secret nor a guessed one is kept in the log.
    assert all(bot.secret_token not in json.dumps(log.headers) for log in logs)
    assert "not-the-secret" not in json.dumps(logs[1].headers)


@pytest.mark.django_db
def test_unknown_bot_key_is_404(bot, deliver):
    bot.key = "nobody"  # posting to a URL no bot has
    assert deliver(bot, private_update(text="hi")).status_code == 404
    assert not Interaction.objects.exists()


@pytest.mark.django_db
def test_malformed_update_is_400_and_kept_for_the_admin(bot, deliver):
    response = deliver(bot, {"update_id": "x", "message": {"text": "no ids"}})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    response = deliver(bot, {"update_id": 5, "message": {"message_id": 1, "text": "no chat", "date": 1}})
    assert response.status_code == 400 and "message.chat" in response.json()["errors"]
    assert deliver(bot, None, raw=b"{oops").json()["code"] == "invalid_json"
    assert not Interaction.objects.exists() and not Contact.objects.exists()
    assert list(IntakeLog.objects.values_list("status", flat=True)) == ["rejected"] * 3


@pytest.mark.django_db
def test_group_chat_messages_are_accepted_and_ignored(bot, deliver):
    update = private_update(text="всем привет")
    update["message"]["chat"] = {"id": -100123456, "title": "Оптовики", "type": "supergroup"}
    assert deliver(bot, update).status_code == 200
    assert not Interaction.objects.exists() and not Contact.objects.exists()
    log = IntakeLog.objects.get()
    assert (log.status, log.interaction) == ("processed", None)


@pytest.mark.django_db
def test_document_is_downloaded_into_an_attachment(bot, deliver, bot_api):
    pdf = b"%PDF-1.4\n% a price request\n" + bytes(range(256)) * 8
    bot_api.add_file("BQACAgIAAxkBAAIBZ2", pdf, "documents/file_12.pdf")
    update = private_update(
        message_id=12,
        caption="Реквизиты во вложении",
        document={
            "file_name": "Реквизиты ООО Ромашка.pdf",
            "mime_type": "application/pdf",
            "file_id": "BQACAgIAAxkBAAIBZ2",
            "file_unique_id": "AgADZ2",
            "file_size": len(pdf),
        },
    )
    deliver(bot, update)
    message = _inbound().get()
    assert message.body == "Реквизиты во вложении"
    attachment = Attachment.objects.get(interaction=message)
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "Реквизиты ООО Ромашка.pdf",
        "application/pdf",
        len(pdf),
    )
    with attachment.file.open("rb") as fh:
        assert fh.read() == pdf
    assert bot_api.calls("getFile") == [{"file_id": "BQACAgIAAxkBAAIBZ2"}]
    # A redelivery downloads nothing again.
    deliver(bot, update)
    assert Attachment.objects.count() == 1 and len(bot_api.downloads) == 1


@pytest.mark.django_db
def test_photo_takes_the_largest_size_and_a_failed_download_is_retried(bot, deliver, bot_api):
    bot_api.add_file("small", b"s" * 10, "photos/file_1.jpg")
    bot_api.add_file("large", b"L" * 5000, "photos/file_2.jpg")
    bot_api.fail("getFile", 500, "Internal Server Error")
    bot_api.fail("download", 502, "Bad Gateway")
    photo = [
        {"file_id": "small", "file_unique_id": "s1", "file_size": 10, "width": 90, "height": 67},
        {"file_id": "large", "file_unique_id": "l1", "file_size": 5000, "width": 1280, "height": 960},
    ]
    deliver(bot, private_update(message_id=3, photo=photo))
    message = _inbound().get()
    assert message.summary  # "[Photo]" in the UI language
    attachment = Attachment.objects.get(interaction=message)
    assert (attachment.filename, attachment.size) == ("photo-3.jpg", 5000)
    assert [c["file_id"] for c in bot_api.calls("getFile")] == ["large"] * 3


@pytest.mark.django_db
def test_a_file_that_never_downloads_gives_up_after_bounded_attempts(bot, deliver, bot_api):
    bot_api.fail("getFile", 400, "Bad Request: invalid file_id", times=50)
    deliver(
        bot, private_update(message_id=4, voice={"file_id": "gone", "file_unique_id": "g", "duration": 3})
    )
    assert _inbound().count() == 1
    assert not Attachment.objects.exists()
    assert len(bot_api.calls("getFile")) == 6


@pytest.mark.django_db
def test_shared_phone_merges_the_chat_into_the_contact_with_that_phone(bot, deliver, bot_api, seller):
    known = ContactFactory(full_name="Петров Иван Сергеевич", responsible=seller)
    IdentityFactory(contact=known, kind="phone", value="+79123456789")

    deliver(bot, private_update(message_id=1, text="Добрый день, это Иван"))
    temporary = _inbound().get().contact
    assert temporary != known

    share = private_update(
        message_id=2,
        contact={"phone_number": "79123456789", "first_name": "Иван", "last_name": "Петров", "user_id": CHAT},
    )
    assert deliver(bot, share).status_code == 200

    temporary.refresh_from_db()
    assert temporary.merged_into == known
    assert Identity.objects.get(kind="telegram", value=str(CHAT)).contact == known
    assert Identity.objects.get(kind="phone").contact == known
    assert Lead.objects.get().contact == known  # the Telegram lead moved too
    # Both messages are on the surviving contact's timeline.
    items = timeline(user=seller, contact=known, channels=["telegram"])
    inbound = [item for item in items if item.direction == "in"]
    assert [item.obj.external_id for item in inbound] == [f"{CHAT}:2", f"{CHAT}:1"]
    # The bot thanked and removed the keyboard.
    thanks = bot_api.calls("sendMessage")[-1]
    assert thanks["reply_markup"] == {"remove_keyboard": True}

    # From now on the chat resolves straight to the known contact.
    deliver(bot, private_update(message_id=3, text="Когда доставка?"))
    assert _inbound().get(external_id=f"{CHAT}:3").contact == known


@pytest.mark.django_db
def test_shared_phone_nobody_has_is_added_to_the_telegram_contact(bot, deliver):
    deliver(bot, private_update(message_id=1, text="Привет"))
    contact = _inbound().get().contact
    deliver(
        bot,
        private_update(
            message_id=2, contact={"phone_number": "+7 912 000-11-22", "first_name": "Иван", "user_id": CHAT}
        ),
    )
    assert Identity.objects.get(kind="phone").contact == contact
    assert Identity.objects.get(kind="phone").value == "+79120001122"
    assert Contact.objects.filter(merged_into__isnull=True).count() == 1


@pytest.mark.django_db
def test_sharing_someone_elses_contact_card_merges_nothing(bot, deliver):
    other = ContactFactory(full_name="Сидоров")
    IdentityFactory(contact=other, kind="phone", value="+79123456789")
    deliver(bot, private_update(message_id=1, text="Вот контакт нашего снабженца"))
    deliver(
        bot,
        private_update(
            message_id=2,
            contact={"phone_number": "79123456789", "first_name": "Сидоров", "user_id": 99999},
        ),
    )
    deliver(
        bot, private_update(message_id=3, contact={"phone_number": "79123456789", "first_name": "Без id"})
    )
    tg_contact = Identity.objects.get(kind="telegram").contact
    assert tg_contact != other and tg_contact.merged_into is None
    assert not Identity.objects.filter(contact=tg_contact, kind="phone").exists()
    assert "Сидоров" in _inbound().get(external_id=f"{CHAT}:2").body


@pytest.mark.django_db
def test_first_message_being_the_shared_phone_goes_straight_to_the_known_contact(bot, deliver, bot_api):
    known = ContactFactory(full_name="Петров")
    IdentityFactory(contact=known, kind="phone", value="+79123456789")
    deliver(
        bot,
        private_update(
            message_id=1, contact={"phone_number": "+79123456789", "first_name": "Иван", "user_id": CHAT}
        ),
    )
    assert _inbound().get().contact == known
    assert Identity.objects.get(kind="telegram").contact == known
    assert Contact.objects.count() == 1
    # No request for a phone the client just gave.
    assert [c["reply_markup"] for c in bot_api.calls("sendMessage")] == [{"remove_keyboard": True}]


@pytest.mark.django_db
def test_username_finds_a_contact_a_manager_typed_in(bot, deliver):
    known = ContactFactory(full_name="Мария")
    IdentityFactory(contact=known, kind="telegram", value="@maria_opt")
    deliver(
        bot,
        private_update(
            chat_id=5150, text="Это Мария", sender=person(5150, "Мария", "", username="Maria_Opt")
        ),
    )
    assert _inbound().get().contact == known
    assert set(known.identities.values_list("value", flat=True)) == {"@maria_opt", "5150"}
