"""Answering from the Inbox in a real Chromium, without opening the card: an e-mail over the real
test SMTP server (in its thread), a Telegram message through the fake Bot API."""

from __future__ import annotations

import email
import email.policy

import pytest
from playwright.sync_api import expect

from otdel.comms.email.sync import mailbox_sync
from otdel.comms.models import Interaction
from otdel.comms.tests.email.support.messages import message
from otdel.comms.tests.telegram.support.fixtures import private_update
from otdel.crm.tests.factories import ContactFactory, IdentityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000


@pytest.fixture
def sending_mailbox(mailbox, smtp_server):
    mailbox.smtp_host, mailbox.smtp_port = smtp_server.host, smtp_server.port
    mailbox.smtp_ssl = mailbox.smtp_starttls = False
    mailbox.save()
    return mailbox


def test_an_email_is_answered_inline_in_its_thread(
    live_server, login_page, manager, imap, sending_mailbox, smtp_server
):
    contact = ContactFactory(full_name="Ирина Волкова", responsible=manager)
    IdentityFactory(contact=contact, kind="email", value="irina@client.ru")
    imap.append(
        "INBOX",
        message(
            sender="irina@client.ru",
            subject="Сроки поставки",
            body="Когда отгрузите?",
            message_id="<q1@client.ru>",
        ),
    )
    assert mailbox_sync(mailbox=sending_mailbox).created == 1
    question = Interaction.objects.get()

    page = login_page(manager)
    page.goto(f"{live_server.url}/inbox/")
    row = page.locator(f'[data-testid="inbox-item"][data-id="{question.pk}"]')
    expect(row).to_contain_text("Сроки поставки", timeout=SLOW)
    row.get_by_test_id("inbox-reply").click()
    form = row.get_by_test_id("inbox-reply-form")
    expect(form).to_be_visible(timeout=SLOW)
    form.locator("textarea").fill("Отгрузим в четверг.")
    form.get_by_test_id("inbox-reply-send").click()
    expect(row.get_by_test_id("inbox-replied")).to_be_visible(timeout=SLOW)
    assert page.url.endswith("/inbox/")  # never left the Inbox

    sent = email.message_from_bytes(smtp_server.messages[-1]["data"], policy=email.policy.default)
    assert sent["Subject"] == "Re: Сроки поставки" and sent["In-Reply-To"] == "<q1@client.ru>"
    assert "Отгрузим в четверг." in sent.get_body(("plain",)).get_content()
    question.refresh_from_db()
    assert question.handled_by == manager
    page.reload()
    expect(page.locator(f'[data-testid="inbox-item"][data-id="{question.pk}"]')).to_have_count(
        0, timeout=SLOW
    )


def test_a_telegram_message_is_answered_inline(
    live_server, login_page, manager, telegram_bot, bot_api, deliver
):
    contact = ContactFactory(full_name="Иван Петров", responsible=manager)
    IdentityFactory(contact=contact, kind="telegram", value="422110")
    deliver(telegram_bot, private_update(message_id=1, text="Есть ли станок в наличии?"))
    question = Interaction.objects.get(direction="in")
    assert question.routed_to == manager

    page = login_page(manager)
    page.goto(f"{live_server.url}/inbox/")
    row = page.locator(f'[data-testid="inbox-item"][data-id="{question.pk}"]')
    row.get_by_test_id("inbox-reply").click()
    form = row.get_by_test_id("inbox-reply-form")
    before = len(bot_api.calls("sendMessage"))  # the bot's own "share your phone" request
    form.get_by_test_id("inbox-reply-send").click()  # empty: refused, nothing sent
    expect(form).to_contain_text("Write the message.", timeout=SLOW)
    assert len(bot_api.calls("sendMessage")) == before
    form.locator("textarea").fill("Да, есть. Привезём за два дня.")
    form.get_by_test_id("inbox-reply-send").click()
    expect(row.get_by_test_id("inbox-replied")).to_be_visible(timeout=SLOW)
    sent = [
        call for call in bot_api.calls("sendMessage") if call.get("text") == "Да, есть. Привезём за два дня."
    ]
    assert len(sent) == 1 and str(sent[0]["chat_id"]) == "422110"
    question.refresh_from_db()
    assert question.handled_by == manager
