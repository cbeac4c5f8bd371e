"""The change log records who changed what, and domain events fire only after commit."""

from dataclasses import dataclass
from typing import ClassVar

import pytest
from django.db import transaction

from otdel.core.context import acting_as
from otdel.core.events import DomainEvent, emit, subscribe
from otdel.core.models import ObjectChange
from otdel.crm.models import Company


@pytest.mark.django_db
def test_create_update_delete_are_logged_with_actor(manager):
    with acting_as(manager):
        company = Company.objects.create(name="ООО Вектор")
        company.name = "ООО Вектор+"
        company.save()
        pk = company.pk
        company.delete()
    actions = list(ObjectChange.objects.filter(object_id=pk).order_by("id").values_list("action", "user_id"))
    assert actions == [("create", manager.pk), ("update", manager.pk), ("delete", manager.pk)]
    update = ObjectChange.objects.get(object_id=pk, action="update")
    assert update.changes == {"name": ["ООО Вектор", "ООО Вектор+"]}


@pytest.mark.django_db
def test_save_without_changes_writes_no_update_row():
    company = Company.objects.create(name="ООО Вектор")
    company.save()
    assert not ObjectChange.objects.filter(object_id=company.pk, action="update").exists()


@pytest.mark.django_db
def test_version_grows_on_each_save():
    company = Company.objects.create(name="А")
    assert company.version == 1
    company.name = "Б"
    company.save()
    assert Company.objects.get(pk=company.pk).version == 2


@pytest.mark.django_db(transaction=True)
def test_events_fire_after_commit_and_not_on_rollback():
    received: list[int] = []

    @dataclass(frozen=True, kw_only=True)
    class Happened(DomainEvent):
        name: ClassVar[str] = "test.happened"
        value: int

    @subscribe(Happened)
    def handler(event: Happened) -> None:
        received.append(event.value)

    with transaction.atomic():
        emit(Happened(value=1))
        assert received == []
    assert received == [1]

    with pytest.raises(RuntimeError), transaction.atomic():
        emit(Happened(value=2))
        raise RuntimeError("rollback")
    assert received == [1]
