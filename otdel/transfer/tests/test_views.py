"""The import pages and the Export buttons, through the Django test client."""

from __future__ import annotations

import pytest
from django.test import TestCase

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.crm import services as crm
from otdel.crm.models import Contact, Deal
from otdel.transfer.models import ExportLog, ImportJob
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db


def test_upload_map_values_preview_dry_run_then_import_and_undo(client, head, pipeline, department):
    petrov = UserFactory(
        username="petrov", full_name="Петров Пётр", role=Role.SALES_MANAGER, department=department
    )
    client.force_login(head)
    response = client.post(
        "/imports/",
        {"file": files.upload(files.amo_deals()), "kind": "auto", "pipeline": pipeline.pk, "dedupe": "fill"},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/mapping/"

    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert "recognized as amoCRM: deals" in page
    assert 'name="col-1"' in page and '<option value="title" selected>' in page
    # Value mapping: stages and users found in the file, with guesses preselected.
    assert 'data-value="Переговоры"' in page and 'data-value="Неизвестный Менеджер"' in page
    # Preview: normalized values as they will be saved.
    assert "+7 912 345-67-89, +7 916 123-45-67" in page
    assert "1\u00a0234\u00a0567,89" in page
    assert "Основная воронка: Переговоры" in page

    lost = pipeline.stages.get(kind="lost")
    post = {"dedupe": "fill", "route_owners": "on", "action": "dry_run"}
    for index in range(len(job.headers)):
        post[f"col-{index}"] = job.mapping.get(str(index), "")
    post["value-stage-raw"] = ["Переговоры", "Успешно реализовано", "Закрыто и не реализовано"]
    post["value-stage-to"] = [
        str(pipeline.stages.get(name="Переговоры").pk),
        str(pipeline.stages.get(kind="won").pk),
        str(lost.pk),
    ]
    post["value-responsible-raw"] = ["Петров Пётр", "Неизвестный Менеджер"]
    post["value-responsible-to"] = [str(petrov.pk), str(head.pk)]
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/mapping/", post)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and job.dry_run and job.created == 3
    assert Deal.objects.count() == 0

    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="run-for-real"' in page and "3 of 3 rows" in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/imports/{job.pk}/run/")
    real = ImportJob.objects.exclude(pk=job.pk).get()
    assert real.status == "done" and real.created == 3
    assert Deal.objects.get(title="Ремонт").responsible == head  # mapped by hand

    page = client.get(f"/imports/{real.pk}/").content.decode()
    assert 'data-testid="undo"' in page
    response = client.post(f"/imports/{real.pk}/undo/", follow=True)
    assert "Undone:" in response.content.decode()
    assert Deal.objects.count() == 0 and Contact.objects.count() == 0

    report = client.get(f"/imports/{real.pk}/report.xlsx")
    assert report.status_code == 200 and report["Content-Disposition"].startswith("attachment")


def test_the_mapping_screen_refuses_a_mapping_without_a_name_or_identity(client, admin_user):
    client.force_login(admin_user)
    client.post(
        "/imports/", {"file": files.upload(files.bitrix_contacts()), "kind": "contacts", "dedupe": "fill"}
    )
    job = ImportJob.objects.get()
    response = client.post(f"/imports/{job.pk}/mapping/", {"dedupe": "fill", "action": "dry_run"})
    assert response.status_code == 200
    assert "Map at least one of these columns" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "draft"


def test_bad_upload_shows_the_message_on_the_form(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/imports/",
        {"file": files.upload(b"\x00\x01\x02garbage", "x.csv"), "kind": "contacts", "dedupe": "fill"},
    )
    assert response.status_code == 200
    assert "encoding could not be recognized" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_salespeople_do_not_import(client, manager):
    client.force_login(manager)
    assert client.get("/imports/").status_code == 403


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/contacts/", "contacts"),
        ("/companies/", "companies"),
        ("/deals/list/", "deals"),
        ("/leads/all/", "leads"),
    ],
)
def test_every_list_has_an_export_button_that_keeps_the_filters(client, admin_user, path, kind):
    client.force_login(admin_user)
    page = client.get(path + "?responsible=" + str(admin_user.pk)).content.decode()
    assert f'href="/exports/list/{kind}/?responsible={admin_user.pk}&amp;format=xlsx"' in page
    response = client.get(f"/exports/list/{kind}/?responsible={admin_user.pk}&format=csv")
    assert response.status_code == 200
    assert ExportLog.objects.get().filters == {"responsible": str(admin_user.pk)}


def test_a_large_export_from_a_list_goes_to_my_exports(client, manager, monkeypatch):
    from otdel.transfer import export

    monkeypatch.setattr(export, "SYNC_LIMIT", 0)
    crm.contact_create(actor=manager, full_name="Клиент", identities=[("phone", "+79120000001")])
    client.force_login(manager)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.get("/exports/list/contacts/?format=xlsx")
    assert response["Location"] == "/exports/"
    page = client.get("/exports/").content.decode()
    assert "the file is being prepared" in page
    log = ExportLog.objects.get()
    assert f'href="/exports/{log.pk}/download/"' in page
    assert client.get(f"/exports/{log.pk}/download/").status_code == 200


def test_the_import_pages_speak_russian(client, admin_user):
    from django.utils import translation

    admin_user.language = "ru"
    admin_user.save()
    client.force_login(admin_user)
    with translation.override("ru"):
        client.post(
            "/imports/", {"file": files.upload(files.bitrix_contacts()), "kind": "auto", "dedupe": "fill"}
        )
        job = ImportJob.objects.get()
        page = client.get(f"/imports/{job.pk}/mapping/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Сопоставление столбцов" in page and "распознано как «Битрикс24: контакты»" in page
    assert "— не загружать —" in page


def test_demo_import_is_deterministic_and_idempotent(admin_user, settings):
    from otdel.transfer.demo import seed_demo

    admin_user.username = "admin"
    admin_user.save()
    seed_demo()
    seed_demo()
    job = ImportJob.objects.get()
    assert job.status == "done" and (job.created, job.errors) == (5, 0)
    assert Contact.objects.get(full_name="Баранов Олег Игоревич").identities.count() == 2
