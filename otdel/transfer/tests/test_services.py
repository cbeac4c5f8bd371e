"""Imports end to end through the services: recognition, dedupe, dry run, errors, resume, undo."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.core.models import ObjectChange
from otdel.crm import services as crm
from otdel.crm.models import Company, Contact, Deal, Identity, Lead, Stage
from otdel.transfer import services
from otdel.transfer.models import ImportJob, ImportRow
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db


@pytest.fixture
def petrov(department):
    return UserFactory(
        username="petrov", full_name="Петров Пётр", role=Role.SALES_MANAGER, department=department
    )


def run(admin, data, kind="auto", name="export.csv", **options):
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.import_create(
            actor=admin, upload=files.upload(data, name), kind=kind, start=True, **options
        )
    job.refresh_from_db()
    return job


def test_amocrm_deal_export_is_recognized_and_imported_with_contacts_companies_and_stages(
    admin_user, pipeline, petrov
):
    job = run(admin_user, files.amo_deals(), dry_run=False, pipeline=pipeline)

    assert job.layout == "amocrm_deals" and job.kind == "deals"
    assert job.status == "done", job.message
    assert (job.total, job.created, job.errors) == (3, 3, 0)
    deals = {d.title: d for d in Deal.objects.select_related("stage", "contact", "company")}
    assert set(deals) == {"Поставка станков", "Запчасти", "Ремонт"}
    big = deals["Поставка станков"]
    assert str(big.amount) == "1234567.89"
    assert big.stage.name == "Переговоры"
    assert big.responsible == petrov
    assert big.company.name == "ООО Вектор"
    assert big.custom_fields["ID"] == "101" and big.custom_fields["Источник трафика"] == "Яндекс"
    assert deals["Запчасти"].stage.kind == Stage.Kind.WON
    assert deals["Ремонт"].stage.kind == Stage.Kind.LOST and deals["Ремонт"].lost_reason is not None
    # Sidorov appears twice (same phone): one contact, two deals; one company for all.
    sidorov = Contact.objects.get(full_name="Сидоров Алексей")
    assert set(sidorov.identities.values_list("value", flat=True)) == {
        "+79123456789",
        "+79161234567",
        "sidorov@vector.ru",
    }
    assert sidorov.deals.count() == 2
    assert Company.objects.count() == 1
    assert Identity.objects.get(value="+74951234567;ext=12").contact.full_name == "Кузнецова Мария"
    # Through the services: the change log has the creations.
    assert ObjectChange.objects.filter(action="create", content_type__model="deal").count() == 3


def test_bitrix24_contacts_with_several_phones_and_emails_in_a_cell(admin_user, petrov):
    job = run(admin_user, files.bitrix_contacts(), dry_run=False)

    assert job.layout == "bitrix24_contacts" and job.status == "done", job.message
    smirnov = Contact.objects.get(full_name="Смирнов Иван Петрович")
    assert set(smirnov.identities.values_list("value", flat=True)) == {
        "+79120000001",
        "+74950000002",
        "smirnov@sever.ru",
        "ivan@mail.ru",
    }
    assert smirnov.company.name == "АО Север"
    assert smirnov.responsible == petrov
    assert "Источник: Звонок" in smirnov.comment
    assert Contact.objects.get(full_name="Орлова Анна").identities.get(kind="phone").value == "+79120000003"


@pytest.mark.parametrize(
    ("dedupe", "position", "outcome"),
    [("skip", "Инженер", "skipped"), ("fill", "Инженер", "updated"), ("overwrite", "Закупщик", "updated")],
)
def test_a_known_phone_updates_the_existing_person_per_the_chosen_mode(admin_user, dedupe, position, outcome):
    existing = crm.contact_create(
        actor=admin_user, full_name="Смирнов И.", position="Инженер", identities=[("phone", "+79120000001")]
    )
    job = run(admin_user, files.bitrix_contacts(), dry_run=False, dedupe=dedupe)

    existing.refresh_from_db()
    assert Contact.objects.filter(identities__value="+79120000001").count() == 1
    assert existing.position == position
    assert ImportRow.objects.get(job=job, row=2).outcome == outcome
    if dedupe == "skip":
        assert not existing.identities.filter(value="smirnov@sever.ru").exists()
    else:
        assert existing.identities.filter(value="smirnov@sever.ru").exists()
    assert Contact.objects.count() == 2


def test_dry_run_writes_nothing_and_reports_every_row(admin_user):
    crm.contact_create(actor=admin_user, full_name="Орлова А.", identities=[("phone", "89120000003")])
    rows = [
        ["ФИО", "Телефон", "Email"],
        ["Новый Человек", "+7 912 111-11-11", "new@x.ru"],
        ["Орлова Анна", "8 912 000-00-03", ""],
        ["Ещё раз новый", "+79121111111", ""],
        ["Плохой", "12", ""],
    ]
    job = run(admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts")

    assert job.dry_run and job.status == "done"
    assert Contact.objects.count() == 1
    outcomes = dict(ImportRow.objects.filter(job=job).values_list("row", "outcome"))
    assert outcomes == {2: "created", 3: "skipped", 4: "merged", 5: "error"}
    error = ImportRow.objects.get(job=job, row=5)
    assert error.field == "Телефон" and "12" in error.message
    assert (job.created, job.merged, job.skipped, job.errors) == (1, 1, 1, 1)


def test_a_real_run_with_bad_rows_imports_nothing_unless_told_to_skip_them(admin_user):
    rows = [["ФИО", "Телефон", "Сумма"], ["Хороший", "+79121111111", ""], ["Плохой", "+7 912", ""]]
    data = files.csv_bytes(rows, encoding="utf-8", delimiter=",")

    job = run(admin_user, data, kind="contacts", dry_run=False)
    assert job.status == "failed" and "nothing was imported" in job.message
    assert Contact.objects.count() == 0
    assert list(job.rows.values_list("row", "outcome")) == [(3, "error")]

    job = run(admin_user, data, kind="contacts", dry_run=False, skip_invalid=True)
    assert job.status == "done" and (job.created, job.errors) == (1, 1)
    assert Contact.objects.count() == 1


def test_a_dry_run_is_started_for_real_as_a_new_import(admin_user):
    rows = [["Name", "Phone"], ["Jane Roe", "+44 20 7946 0958"]]
    dry = run(admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts")
    with TestCase.captureOnCommitCallbacks(execute=True):
        real = services.import_start(actor=admin_user, job=dry, dry_run=False)
    real.refresh_from_db()
    assert real.pk != dry.pk and real.status == "done" and real.created == 1
    assert Contact.objects.get().identities.get().value == "+442079460958"


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing catches it on the way."""


def test_an_import_resumes_after_a_killed_worker_without_duplicating_rows(admin_user, settings, monkeypatch):
    settings.OTDEL_IMPORT_BATCH = 3
    rows = [["ФИО", "Телефон"]] + [[f"Клиент {n}", f"+7912000{n:04d}"] for n in range(10)]
    data = files.csv_bytes(rows, encoding="utf-8", delimiter=",")
    from otdel.transfer import engine

    real_apply = engine.apply_contact_rows
    calls = {"n": 0}

    def dying_apply(*args, **kwargs):
        calls["n"] += 1
        written = real_apply(*args, **kwargs)
        if calls["n"] == 2:  # the second batch is written, not yet committed
            raise WorkerKilled
        return written

    monkeypatch.setattr(engine, "apply_contact_rows", dying_apply)
    job = services.import_create(actor=admin_user, upload=files.upload(data), kind="contacts", dry_run=False)
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    with pytest.raises(WorkerKilled):
        services.import_run(job.pk)  # what the worker runs
    job.refresh_from_db()
    assert job.status == "running" and job.last_row == 4 and job.done_rows == 3
    assert Contact.objects.count() == 3  # the first batch is in; the half of the second rolled back

    monkeypatch.setattr(engine, "apply_contact_rows", real_apply)
    import datetime

    from django.utils import timezone

    assert services.import_resume_stale(now=timezone.now()) == []  # still fresh: not taken over
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.import_resume_stale(now=timezone.now() + datetime.timedelta(minutes=5)) == [job.pk]
    job.refresh_from_db()
    assert job.status == "done" and job.done_rows == 10 and job.created == 10
    assert Contact.objects.count() == 10
    assert ImportRow.objects.filter(job=job).count() == 10


def test_cancel_stops_after_the_current_batch(admin_user, settings, monkeypatch):
    settings.OTDEL_IMPORT_BATCH = 2
    rows = [["ФИО", "Телефон"]] + [[f"Клиент {n}", f"+7912000{n:04d}"] for n in range(6)]

    def cancel_after_first(job):
        ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.cancel_requested = True

    monkeypatch.setattr(services, "_after_batch", cancel_after_first)
    job = run(
        admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts", dry_run=False
    )
    assert job.status == "cancelled" and Contact.objects.count() == 2


def test_undo_removes_what_was_created_and_restores_what_was_changed(admin_user, pipeline, petrov):
    kept = crm.contact_create(
        actor=admin_user, full_name="Сидоров А.", identities=[("phone", "+79123456789")]
    )
    job = run(admin_user, files.amo_deals(), dry_run=False, pipeline=pipeline, dedupe="overwrite")
    kept.refresh_from_db()
    assert kept.full_name == "Сидоров Алексей" and kept.identities.count() == 3
    assert Deal.objects.count() == 3

    result = services.import_undo(actor=admin_user, job=job)

    kept.refresh_from_db()
    assert Deal.objects.count() == 0 and Company.objects.count() == 0
    assert list(Contact.objects.all()) == [kept]
    assert kept.full_name == "Сидоров А."
    assert list(kept.identities.values_list("value", flat=True)) == ["+79123456789"]
    assert result["removed"] >= 5
    job.refresh_from_db()
    assert job.status == "undone"
    with pytest.raises(Exception, match="no longer be undone"):
        services.import_undo(actor=admin_user, job=job)


def test_undo_is_refused_after_seven_days(admin_user):
    import datetime

    from django.utils import timezone

    rows = [["ФИО", "Телефон"], ["Клиент", "+79120000001"]]
    job = run(
        admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts", dry_run=False
    )
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
    job.refresh_from_db()
    with pytest.raises(Exception, match="no longer be undone"):
        services.import_undo(actor=admin_user, job=job)
    assert Contact.objects.count() == 1


def test_owners_come_from_routing_when_the_file_has_none(admin_user, manager, other_manager):
    from otdel.routing.models import RoutingSettings
    from otdel.routing.services import queue_create

    queue = queue_create(
        actor=admin_user,
        code="sales",
        name="Продажи",
        strategy="round_robin",
        members=[manager.pk, other_manager.pk],
    )
    settings_row = RoutingSettings.objects.first() or RoutingSettings.objects.create()
    settings_row.default_queue = queue
    settings_row.save()
    rows = [["ФИО", "Телефон"], ["А", "+79120000001"], ["Б", "+79120000002"]]
    run(admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts", dry_run=False)
    owners = set(Contact.objects.values_list("responsible__username", flat=True))
    assert owners == {"manager", "manager2"}


def test_leads_and_companies_kinds(admin_user, petrov):
    rows = [
        ["Имя", "Телефон", "Источник", "utm_source", "Комментарий"],
        ["Покупатель", "+79120000009", "Звонок", "yandex", "Хочет скидку"],
    ]
    job = run(admin_user, files.csv_bytes(rows), kind="leads", dry_run=False)
    assert job.status == "done", job.message
    lead = Lead.objects.get()
    assert (lead.source, lead.channel, lead.utm_source, lead.comment) == (
        "call",
        "call",
        "yandex",
        "Хочет скидку",
    )

    company_rows = [
        files.BITRIX_COMPANIES_HEADER,
        [
            "1",
            "ООО Альфа",
            "Клиент",
            "Производство",
            "+74950000001",
            "info@alfa.ru",
            "alfa.ru",
            "Москва",
            "7707083893",
            "",
            "Петров Пётр",
        ],
        ["2", "ООО Альфа", "Клиент", "Производство", "", "", "", "", "7707083893", "", ""],
    ]
    job = run(admin_user, files.csv_bytes(company_rows), dry_run=False)
    assert job.layout == "bitrix24_companies" and job.status == "done", job.message
    company = Company.objects.get()
    assert (company.inn, company.industry, company.website, company.responsible) == (
        "7707083893",
        "Производство",
        "alfa.ru",
        petrov,
    )
    assert "Рабочий телефон: +74950000001" in company.comment
    assert ImportRow.objects.get(job=job, row=3).outcome == "skipped"


def test_only_admins_and_heads_may_import(manager):
    with pytest.raises(Exception, match="administrator or the head of sales"):
        services.import_create(actor=manager, upload=files.upload(files.bitrix_contacts()), kind="auto")
    assert not ImportJob.objects.exists()


def test_an_unrecognized_layout_in_auto_asks_for_the_kind(admin_user):
    rows = [["Что-то", "Ещё"], ["1", "2"]]
    with pytest.raises(ValidationError) as exc:
        services.import_create(actor=admin_user, upload=files.upload(files.csv_bytes(rows)), kind="auto")
    assert "amoCRM or Bitrix24" in str(exc.value)


def test_files_with_personal_data_are_removed_after_seven_days(admin_user):
    import datetime

    from django.utils import timezone

    rows = [["ФИО", "Телефон"], ["Клиент", "+79120000001"]]
    job = run(
        admin_user, files.csv_bytes(rows, encoding="utf-8", delimiter=","), kind="contacts", dry_run=False
    )
    path = job.file.path
    assert services.transfer_files_prune(now=timezone.now()) == 0
    assert services.transfer_files_prune(now=timezone.now() + datetime.timedelta(days=8)) == 1
    job.refresh_from_db()
    assert not job.file
    import os

    assert not os.path.exists(path)
    assert job.rows.count() == 1
