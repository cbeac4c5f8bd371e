"""The regulations report (who confirmed reading which version, per article and per person) and
"My day" listing the regulations still to read."""

import pytest

from otdel.kb import services as kb
from otdel.reports.selectors import ReportFilters, drill_down, regulations_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulations(head, manager, other_manager):
    first = kb.article_create(
        actor=head, title="Скрипт первого звонка", body="v1", status="published", ack_roles=["sales_manager"]
    )
    second = kb.article_create(
        actor=head, title="Работа с возражениями", body="v1", status="published", ack_roles=["sales_manager"]
    )
    kb.article_create(actor=head, title="Без подтверждения", body="v1", status="published")
    kb.article_acknowledge(actor=manager, article=first)
    kb.article_acknowledge(actor=other_manager, article=first)
    kb.article_acknowledge(actor=manager, article=second)
    # a new version of the second asks again: the manager has read version 1 only
    kb.article_update(actor=head, article=second, body="v2")
    second.refresh_from_db()
    return first, second


def test_acknowledgements_per_article_and_person(regulations, head, manager, other_manager):
    first, second = regulations
    report = regulations_report(user=head, filters=ReportFilters())
    rows = {r["article_id"]: r for r in report["rows"]}
    assert set(rows) == {first.pk, second.pk}
    assert (rows[first.pk]["version"], rows[first.pk]["audience"], rows[first.pk]["acknowledged"]) == (
        1,
        2,
        2,
    )
    assert (rows[second.pk]["version"], rows[second.pk]["acknowledged"], rows[second.pk]["pending"]) == (
        2,
        0,
        2,
    )
    assert rows[first.pk]["share"] == 1.0 and rows[second.pk]["share"] == 0.0
    people = {r["person_id"]: r for r in report["by_person"]}
    assert (people[manager.pk]["required"], people[manager.pk]["acknowledged"]) == (2, 1)
    assert people[manager.pk]["share"] == 0.5
    assert people[manager.pk]["pending_articles"] == ["Работа с возражениями"]

    # a salesperson sees their own line only
    own = regulations_report(user=manager, filters=ReportFilters())
    assert [r["person_id"] for r in own["by_person"]] == [manager.pk]
    assert {r["audience"] for r in own["rows"]} == {1}


def test_readers_drill_down_shows_the_version_each_read(regulations, head, manager, other_manager):
    first, second = regulations

    def readers(state=""):
        drill = drill_down(
            user=head,
            metric="regulations.readers",
            filters=ReportFilters(extra={"article": second.pk, "state": state}),
        )
        assert drill is not None and drill.kind == "people"
        return {p.pk: p.read_version for p in drill.queryset}

    assert readers() == {manager.pk: 1, other_manager.pk: None}
    assert readers("read") == {}
    assert readers("pending") == {manager.pk: 1, other_manager.pk: None}


def test_regulations_page_and_my_day(regulations, head, manager, client):
    first, second = regulations
    client.force_login(head)
    html = client.get("/reports/regulations/").content.decode()
    assert "Скрипт первого звонка" in html and 'data-testid="checklist-by-manager"' in html
    drill = client.get(f"/reports/records/regulations.readers/?article={second.pk}&state=pending")
    assert drill.status_code == 200 and 'data-testid="drill-person"' in drill.content.decode()
    assert client.get("/reports/regulations/export.xlsx").status_code == 200

    client.force_login(manager)
    day = client.get("/my-day/").content.decode()
    assert 'data-testid="my-day-regulations"' in day
    assert f"/kb/articles/{second.pk}/" in day and f"/kb/articles/{first.pk}/" not in day
    kb.article_acknowledge(actor=manager, article=second)
    assert 'data-testid="my-day-regulations"' not in client.get("/my-day/").content.decode()
