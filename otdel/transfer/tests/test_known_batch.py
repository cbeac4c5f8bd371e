"""Contact rows of known people go through crm.contacts_update_batch a run at a time: the outcomes,
the records, the change log and the search index are those of the row-by-row path, and undo puts
everything back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db.models import Max
from django.test import TestCase

from otdel.core.models import ObjectChange
from otdel.crm import services as crm
from otdel.crm.models import Contact, SearchEntry
from otdel.transfer import engine, services
from otdel.transfer.models import ImportRow
from otdel.transfer.tests import files

pytestmark = pytest.mark.django_db

LONG = "Главный " * 25  # 200 characters: the file may hold it, a contact's position may not (150)
ROWS = [
    ["ФИО", "Телефон", "E-mail", "Должность"],
    ["Анна Новая", "8 912 000-00-01", "anna@x.ru", "Директор"],  # known (Anna): fields, a new e-mail
    ["Вера", "+79120000003", "", ""],  # new
    ["Вера В.", "89120000003", "vera@x.ru", "Бухгалтер"],  # Vera of the row above
    ["Анна", "", "anna@x.ru", "Менеджер"],  # Anna again, by the e-mail row 2 added
    ["Гена", "+79120000004", "gena@x.ru", LONG],  # known (Gena): a bad field, nothing of it is written
    ["Гена", "89120000004", "gena@x.ru", ""],  # Gena again: the e-mail is still new
    ["Дима", "+79120000005, 8 912 000-00-02", "", ""],  # a new phone for Boris
    ["Дима 2", "+79120000005", "", ""],  # Boris again, by that phone
    ["Евгений", "+79120000006", "b@x.ru", "Водитель"],  # Boris by the e-mail
    ["Нина", "+79120000007", "", ""],  # new
]


def _people(admin: Any) -> list[Contact]:
    return [
        crm.contact_create(actor=admin, full_name="Анна Старая", identities=[("phone", "+79120000001")]),
        crm.contact_create(
            actor=admin,
            full_name="Борис",
            position="Инженер",
            identities=[("phone", "+79120000002"), ("email", "b@x.ru")],
        ),
        crm.contact_create(actor=admin, full_name="Гена Г.", identities=[("phone", "+79120000004")]),
    ]


def _state(known: list[Contact], since: int, job: Any) -> dict[str, Any]:
    contacts = sorted(
        (
            c.full_name,
            c.position,
            c.comment,
            c.responsible_id,
            tuple(sorted(c.identities.values_list("kind", "value", "is_primary"))),
            (SearchEntry.objects.filter(contact=c).values_list("text", flat=True).first()),
        )
        for c in Contact.objects.all()
    )
    return {
        "contacts": contacts,
        "versions": [Contact.objects.get(pk=c.pk).version - c.version for c in known],
        "log": [
            (ch.object_id, ch.action, ch.changes)
            for ch in ObjectChange.objects.filter(
                id__gt=since, content_type__model="contact", object_id__in=[c.pk for c in known]
            ).order_by("id")
        ],
        "phones": sorted(SearchEntry.objects.filter(kind="phone").values_list("digits", flat=True)),
        "rows": [
            (r.row, r.outcome, r.field, re.sub(r"#\d+", "#", r.message))  # new contacts' ids differ
            for r in ImportRow.objects.filter(job=job).order_by("row")
        ],
    }


def _import(admin: Any, dedupe: str) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = services.import_create(
            actor=admin,
            upload=files.upload(files.csv_bytes(ROWS)),
            kind="contacts",
            start=True,
            dry_run=False,
            dedupe=dedupe,
            skip_invalid=True,
        )
    job.refresh_from_db()
    assert job.status == "done", job.message
    return job


@pytest.mark.parametrize("dedupe", ["fill", "overwrite", "skip"])
def test_known_people_in_batches_as_row_by_row_and_undone(admin_user, monkeypatch, dedupe):
    known = _people(admin_user)
    before = _state(known, 0, None)["contacts"]
    for contact in known:
        contact.refresh_from_db()

    since = ObjectChange.objects.aggregate(m=Max("id"))["m"]
    job = _import(admin_user, dedupe)
    batched = _state(known, since, job)

    services.import_undo(actor=admin_user, job=job)
    assert _state(known, 0, None)["contacts"] == before  # undo put everything back
    for contact in known:
        contact.refresh_from_db()

    monkeypatch.setattr(
        engine,
        "apply_contact_rows",
        lambda ctx, rows: [engine.apply_safely(ctx, n, v, "contacts") for n, v in rows],
    )
    since = ObjectChange.objects.aggregate(m=Max("id"))["m"]
    job = _import(admin_user, dedupe)
    row_by_row = _state(known, since, job)

    assert batched == row_by_row
    outcomes = [outcome for _row, outcome, _f, _m in batched["rows"]]
    assert (
        outcomes
        == {
            "fill": [
                "updated",
                "created",
                "updated",
                "skipped",
                "error",
                "merged",
                "merged",
                "skipped",
                "merged",
                "created",
            ],
            "overwrite": [
                "updated",
                "created",
                "updated",
                "updated",
                "error",
                "updated",
                "updated",
                "updated",
                "updated",
                "created",
            ],
            # Nothing is added to a known person: Anna's e-mail and Boris's new phone stay new.
            "skip": [
                "skipped",
                "created",
                "skipped",
                "created",
                "skipped",
                "skipped",
                "skipped",
                "created",
                "skipped",
                "created",
            ],
        }[dedupe]
    )
    if dedupe != "skip":
        assert batched["rows"][4][2] == "position"  # the row at fault names the field
