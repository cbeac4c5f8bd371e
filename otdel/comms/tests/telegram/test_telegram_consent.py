"""With a Telegram consent purpose set (Privacy settings), the bot shows its text before it keeps a
shared phone, and the share is recorded as the consent to exactly the version shown."""

import datetime

import pytest

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.comms.models import Interaction
from otdel.comms.tests.telegram.support.fixtures import private_update
from otdel.crm.models import Identity
from otdel.privacy.models import Consent, PrivacySettings
from otdel.privacy.services import consent_purpose_upsert
from otdel.routing.models import Queue, QueueMember

CHAT = 422110
TEXT = "Я согласен на обработку моих персональных данных ООО «Ромашка» для ответа на обращение."
SHARE = {"phone_number": "79120001122", "first_name": "Иван", "user_id": CHAT}


@pytest.fixture
def bot(telegram_bot, db):
    seller = UserFactory(username="seller", role=Role.SALES_MANAGER, work_days=list(range(7)))
    seller.work_start, seller.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    seller.save()
    queue = Queue.objects.create(code="telegram", name="Telegram")
    QueueMember.objects.create(queue=queue, user=seller)
    telegram_bot.queue = queue
    telegram_bot.save()
    return telegram_bot


@pytest.fixture
def purpose(db):
    saved = consent_purpose_upsert(actor=None, code="telegram-pd", title="Обработка данных", text=TEXT)
    conf = PrivacySettings.load()
    conf.telegram_consent_purpose = saved.purpose
    conf.save()
    return saved


@pytest.mark.django_db
def test_the_prompt_carries_the_consent_and_the_share_records_it(bot, deliver, bot_api, purpose):
    deliver(bot, private_update(message_id=1, text="Здравствуйте"))
    (ask,) = bot_api.calls("sendMessage")
    assert TEXT in ask["text"] and "Обработка данных" in ask["text"]
    deliver(bot, private_update(message_id=2, contact=SHARE))
    phone = Identity.objects.get(kind="phone")
    assert phone.value == "+79120001122"
    consent = Consent.objects.get()
    assert (consent.contact, consent.purpose, consent.text) == (phone.contact, purpose.purpose, purpose.text)
    assert consent.method == "telegram" and consent.source == "telegram:sales"
    assert consent.interaction == Interaction.objects.get(external_id=f"{CHAT}:2")


@pytest.mark.django_db
def test_a_phone_shared_before_the_consent_was_shown_is_not_kept(bot, deliver, bot_api, purpose):
    deliver(bot, private_update(message_id=1, contact=SHARE))  # the very first message: no prompt yet
    assert not Identity.objects.filter(kind="phone").exists()
    assert not Consent.objects.exists()
    (ask,) = bot_api.calls("sendMessage")
    assert TEXT in ask["text"]
    deliver(bot, private_update(message_id=2, contact=SHARE))
    assert Identity.objects.get(kind="phone").value == "+79120001122"
    assert Consent.objects.get().text == purpose.text


@pytest.mark.django_db
def test_the_consent_points_to_the_version_that_was_shown(bot, deliver, bot_api, purpose):
    deliver(bot, private_update(message_id=1, text="Здравствуйте"))
    newer = consent_purpose_upsert(
        actor=None, code="telegram-pd", title="Обработка данных", text=TEXT + " Ред. 2"
    )
    assert newer.text.version == 2
    deliver(bot, private_update(message_id=2, contact=SHARE))
    assert Consent.objects.get().text.version == 1


@pytest.mark.django_db
def test_without_a_purpose_the_bot_works_as_before(bot, deliver, bot_api):
    deliver(bot, private_update(message_id=1, text="Здравствуйте"))
    assert TEXT not in bot_api.calls("sendMessage")[0]["text"]
    deliver(bot, private_update(message_id=2, contact=SHARE))
    assert Identity.objects.filter(kind="phone").exists() and not Consent.objects.exists()
