"""A long history is read page by page: on the card ("Show older") and through the API (`next`).

Items of the three kinds share moments on purpose: the pages must neither repeat nor drop an item
at a page boundary, whatever the kinds and ids at that moment.
"""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from otdel.comms.models import Interaction
from otdel.comms.selectors import TIMELINE_PAGE, TimelineCursor, timeline, timeline_page
from otdel.crm import services as crm_services
from otdel.crm.models import Note, Task
from otdel.crm.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=MSK)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def contact(manager):
    return crm_services.contact_create(
        actor=manager, full_name="Давний клиент", identities=[("phone", "+79123456789")], responsible=manager
    )


@pytest.fixture
def long_history(contact, manager):
    """130 items over 40 moments: up to four items (calls, notes, tasks) share each moment."""
    for k in range(130):
        at = T0 + datetime.timedelta(hours=k % 40)
        if k % 3 == 0:
            Interaction.objects.create(
                kind="call",
                channel="call",
                direction="in",
                contact=contact,
                occurred_at=at,
                external_id=f"c{k}",
            )
        elif k % 3 == 1:
            note = Note.objects.create(contact=contact, author=manager, body=f"Заметка {k}")
            Note.objects.filter(pk=note.pk).update(created_at=at)
        else:
            task = Task.objects.create(contact=contact, assignee=manager, title=f"Задача {k}")
            Task.objects.filter(pk=task.pk).update(created_at=at)
    return 130


def _key(item):
    return (item.type, item.id)


def test_pages_add_up_to_the_whole_timeline_in_order(manager, contact, long_history):
    everything = timeline(user=manager, contact=contact, limit=1000)
    assert len(everything) == long_history
    assert [item.at for item in everything] == sorted((item.at for item in everything), reverse=True)

    seen, before, pages = [], None, 0
    while True:
        items, before = timeline_page(user=manager, contact=contact, before=before, limit=25)
        seen += items
        pages += 1
        if before is None:
            break
    assert pages == 6
    assert [_key(item) for item in seen] == [_key(item) for item in everything]


def test_a_cursor_survives_the_round_trip_and_garbage_is_refused():
    cursor = TimelineCursor(T0, "note", 42)
    assert TimelineCursor.decode(cursor.encode()) == cursor
    for garbage in ("", "yesterday", "2026-03-02T09:00:00+03:00_meeting_1", "2026-03-02T09:00:00_note_1"):
        with pytest.raises(ValueError):
            TimelineCursor.decode(garbage)


def test_the_card_shows_older_items_on_request(client, manager, contact, long_history):
    client.force_login(manager)
    url = reverse("comms_contact_timeline", args=[contact.pk])
    html = client.get(url, **HTMX).content.decode()
    ids = re.findall(
        r'data-testid="timeline-item" data-type="(\w+)" data-channel="\w+" data-id="(\d+)"', html
    )
    assert len(ids) == TIMELINE_PAGE
    while 'data-testid="timeline-more"' in html:
        more = re.search(r'hx-get="([^"]+)"[^>]*\s+data-testid="timeline-more"', html).group(1)
        html = client.get(more.replace("&amp;", "&"), **HTMX).content.decode()
        assert 'id="comms-timeline"' not in html  # only the rows, in place of the button
        ids += re.findall(
            r'data-testid="timeline-item" data-type="(\w+)" data-channel="\w+" data-id="(\d+)"', html
        )
    everything = timeline(user=manager, contact=contact, limit=1000)
    assert ids == [(item.type, str(item.id)) for item in everything]


def test_the_api_timeline_pages_with_next_links(api_for, manager, contact, long_history):
    LeadFactory(
        contact=contact, responsible=manager, comment="Позвонить по прайсу"
    )  # a lead with no interaction: a row too
    api = api_for(manager)
    url = f"/api/v1/contacts/{contact.pk}/timeline"
    rows, pages = [], 0
    while url:
        body = api.get(url).json()
        rows += body["results"]
        url, pages = body["next"], pages + 1
    assert pages == 1  # 131 rows fit the API's page of 200
    assert len(rows) == long_history + 1 and rows[0]["type"] == "lead"
    assert len({(row["type"], row["id"]) for row in rows}) == len(rows)

    bad = api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"before": "yesterday"})
    assert bad.status_code == 400 and "before" in bad.json()["errors"]


def test_the_api_follows_next_across_pages(api_for, manager, contact, long_history, monkeypatch):
    from otdel.crm.api import views as crm_api_views

    monkeypatch.setattr(crm_api_views, "TIMELINE_API_PAGE", 40)
    api = api_for(manager)
    url, rows, pages = f"/api/v1/contacts/{contact.pk}/timeline", [], 0
    while url:
        body = api.get(url).json()
        rows += body["results"]
        url, pages = body["next"], pages + 1
        assert url is None or url.startswith("http://testserver/api/v1/contacts/")
    assert pages == 4
    everything = timeline(user=manager, contact=contact, limit=1000)
    assert [(row["type"], row["id"]) for row in rows] == [(item.type, item.id) for item in everything]
