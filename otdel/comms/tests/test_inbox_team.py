"""The Inbox as the head of sales sees it: the whole team at once, by person, what is late; system
messages never wait; no internal codes on screen."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from otdel.comms.models import Interaction
from otdel.comms.services import InboundEvent, ingest_event
from otdel.comms.tests.telegram.support.fixtures import private_update
from otdel.crm import services as crm_services
from otdel.routing.models import Queue

pytestmark = pytest.mark.django_db


def _message(contact_phone: str, *, ago: datetime.timedelta, text: str) -> Interaction:
    return ingest_event(
        InboundEvent(
            provider="telegram:sales",
            external_id=f"{contact_phone}:{text}",
            kind="message",
            channel="telegram",
            occurred_at=timezone.now() - ago,
            identity_kind="phone",
            identity_value=contact_phone,
            body=text,
            summary=text,
        )
    ).interaction


@pytest.fixture
def team_items(manager, other_manager):
    crm_services.contact_create(
        actor=manager, full_name="Клиент Первый", identities=[("phone", "+79160000001")], responsible=manager
    )
    crm_services.contact_create(
        actor=other_manager,
        full_name="Клиент Второй",
        identities=[("phone", "+79160000002")],
        responsible=other_manager,
    )
    fresh = _message("+79160000001", ago=datetime.timedelta(minutes=5), text="Свежий вопрос")
    late = _message("+79160000002", ago=datetime.timedelta(hours=3), text="Давний вопрос")
    assert (fresh.routed_to, late.routed_to) == (manager, other_manager)
    return fresh, late


def _ids(response) -> set[int]:
    import re

    return {
        int(pk) for pk in re.findall(r'data-testid="inbox-item" data-id="(\d+)"', response.content.decode())
    }


def test_the_head_sees_the_whole_team_and_filters_by_person_and_lateness(client, head, manager, team_items):
    fresh, late = team_items
    client.force_login(head)
    page = client.get("/inbox/")
    assert _ids(page) == {fresh.pk, late.pk}
    html = page.content.decode()
    assert 'data-testid="inbox-who"' in html and str(manager) in html
    assert _ids(client.get(f"/inbox/?user={manager.pk}")) == {fresh.pk}
    only_late = client.get("/inbox/?user=team&show=late")
    assert _ids(only_late) == {late.pk}
    assert 'data-late="1"' in only_late.content.decode()


def test_a_salesperson_sees_only_their_own_and_no_team(client, manager, other_manager, team_items):
    fresh, _late = team_items
    client.force_login(manager)
    assert _ids(client.get("/inbox/")) == {fresh.pk}
    assert _ids(client.get("/inbox/?user=team")) == {fresh.pk}
    assert client.get(f"/inbox/?user={other_manager.pk}").status_code == 404


def test_a_queue_shows_by_its_name_not_its_code(client, manager, team_items):
    fresh, _late = team_items
    Queue.objects.create(code="sales_msk", name="Продажи Москва")
    Interaction.objects.filter(pk=fresh.pk).update(routed_queue="sales_msk")
    client.force_login(manager)
    html = client.get("/inbox/").content.decode()
    assert "Продажи Москва" in html and "sales_msk" not in html


def test_a_shared_phone_is_on_the_timeline_but_never_waits_for_an_answer(telegram_bot, deliver):
    deliver(telegram_bot, private_update(message_id=1, text="Добрый день"))
    share = private_update(
        message_id=2, contact={"phone_number": "+7 912 000-11-22", "first_name": "Иван", "user_id": 422110}
    )
    deliver(telegram_bot, share)
    deliver(telegram_bot, private_update(message_id=3, text="/start"))
    rows = {row.external_id: row for row in Interaction.objects.filter(direction="in")}
    assert rows["422110:1"].handled_at is None
    assert rows["422110:2"].handled_at is not None and "+7 912 000-11-22" in rows["422110:2"].body
    assert rows["422110:3"].handled_at is not None
