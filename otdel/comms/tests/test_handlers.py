"""Comms reacting to other apps' events: a done call-back task takes its missed call out of the Inbox."""

import datetime
import re

import pytest
from django.urls import reverse

from otdel.comms.models import Interaction
from otdel.comms.services import ingest_event
from otdel.comms.telephony.generic import call_event
from otdel.crm.models import Task

T0 = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)


def _missed_call(call_id: str) -> None:
    for event, offset in (("ringing", 0), ("ended", 30)):
        ingest_event(
            call_event(
                provider="generic",
                call_id=call_id,
                event=event,
                direction="in",
                caller="+7 912 345-67-89",
                called="+74951234567",
                at=T0 + datetime.timedelta(seconds=offset),
                status="missed" if event == "ended" else "",
                payload={"event": event},
            )
        )


def _inbox_ids(client, name: str) -> list[str]:
    html = client.get(reverse("comms_inbox")).content.decode()
    return re.findall(rf'data-testid="{name}" data-id="(\d+)"', html)


@pytest.mark.django_db(transaction=True)
def test_completing_the_call_back_task_marks_the_missed_call_handled(client, office_manager):
    _missed_call("m1")
    call = Interaction.objects.get()
    task = Task.objects.get(kind="call_back")
    client.force_login(office_manager)
    assert _inbox_ids(client, "inbox-item") == [str(call.pk)]
    assert _inbox_ids(client, "inbox-task") == [str(task.pk)]

    response = client.post(reverse("task_done", args=[task.pk]))

    assert response.status_code == 302
    call.refresh_from_db()
    assert call.handled_by == office_manager and call.handled_at is not None
    assert _inbox_ids(client, "inbox-item") == []
    assert _inbox_ids(client, "inbox-task") == []


@pytest.mark.django_db(transaction=True)
def test_a_plain_task_touches_no_interaction(client, office_manager):
    _missed_call("m2")
    call = Interaction.objects.get()
    other = Task.objects.create(title="Отправить КП", assignee=office_manager)
    client.force_login(office_manager)
    client.post(reverse("task_done", args=[other.pk]))
    call.refresh_from_db()
    assert call.handled_at is None
