"""System-written texts (history entries, notification titles) follow the viewer's language: they
were stored in the writer's language (the demo writes Russian)."""

import pytest
from django.test import Client
from django.utils import translation

from otdel.automation.models import Notification
from otdel.core.retranslate import retranslate
from otdel.crm import services
from otdel.crm.tests.factories import ContactFactory


def test_a_stored_russian_text_reads_in_english_and_back():
    with translation.override("en"):
        assert retranslate("Вам передана сделка: Поставка станков") == "Deal handed to you: Поставка станков"
        assert retranslate("Перезвонить: Смирнова Ольга (пропущенный звонок)") == (
            "Call back Смирнова Ольга (missed call)"
        )
        # Someone's own words stay as written, even with a colon in them.
        assert retranslate("Итог: договорились на вторник") == "Итог: договорились на вторник"
    with translation.override("ru"):
        assert retranslate("Deal handed to you: Поставка станков") == "Вам передана сделка: Поставка станков"


@pytest.mark.django_db
def test_an_english_viewer_reads_history_and_notifications_in_english(manager):
    keep = ContactFactory(full_name="Иванов Иван", responsible=manager)
    other = ContactFactory(full_name="Иванов И.", responsible=manager)
    with translation.override("ru"):  # written by someone with the Russian interface
        services.contact_merge(actor=manager, source=other, target=keep)
        Notification.objects.create(user=manager, kind="deal", title="Вам передана сделка: Поставка станков")
    assert manager.language == "en"
    client = Client()
    client.force_login(manager)
    history = client.get(f"/contacts/{keep.pk}/").content.decode()
    assert f"Merged contact #{other.pk} “Иванов И.” into this one." in history
    assert "объединён" not in history
    notifications = client.get("/notifications/").content.decode()
    assert "Deal handed to you: Поставка станков" in notifications


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/deals/new/", "/contacts/new/", "/leads/new/", "/settings/queues/new/", "/routing/log/"]
)
def test_forms_show_no_django_dashes_for_an_empty_choice(admin_user, pipeline, path):
    client = Client()
    client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200, path
    assert "---------" not in response.content.decode()


@pytest.mark.django_db
def test_a_form_on_the_timeline_names_its_consents_by_title_not_code(manager, admin_user):
    from django.utils import timezone

    from otdel.comms.models import Interaction
    from otdel.privacy.services import consent_purpose_upsert

    consent_purpose_upsert(
        actor=admin_user, code="pd", title="Обработка персональных данных", text="Согласен."
    )
    contact = ContactFactory(full_name="Петров Пётр", responsible=manager)
    Interaction.objects.create(
        kind="form",
        channel="form",
        occurred_at=timezone.now(),
        contact=contact,
        subject="Заявка",
        payload={"form": "site", "fields": {"name": "Петров Пётр"}, "consents": {"pd": 1}},
    )
    client = Client()
    client.force_login(manager)
    page = client.get(f"/contacts/{contact.pk}/timeline/").content.decode()
    assert "«Обработка персональных данных», version 1" in page
    assert "pd (version" not in page
