"""bulk_insert writes exactly the rows bulk_create would (COPY on PostgreSQL, bulk_create elsewhere)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from otdel.core.bulk import bulk_insert
from otdel.core.changelog import change_row
from otdel.core.models import ObjectChange
from otdel.crm.models import Company, Contact, Deal, Identity

NOT_COMPARED = {"id", "created_at", "updated_at", "at", "object_id"}


def _values(model, pks):
    rows = model.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in NOT_COMPARED} for row in rows]


@pytest.mark.django_db
def test_rows_are_those_bulk_create_writes(manager, pipeline):
    company = Company.objects.create(name="ООО «Вектор»")
    stage = pipeline.stages.order_by("order").first()

    def contacts():
        return [
            Contact(full_name="Киселёва Анна", position="Бухгалтер", company=company, responsible=manager),
            Contact(full_name="O'Brien \\ Tab\tNew\nline", comment=""),
        ]

    def deals(client):
        return [
            Deal(
                title="Поставка", contact=client, pipeline=pipeline, stage=stage, amount=Decimal("1234567.89")
            )
        ]

    created = Contact.objects.bulk_create(contacts())
    inserted = bulk_insert(Contact, contacts())
    assert all(c.pk and not c._state.adding for c in inserted)
    assert _values(Contact, [c.pk for c in inserted]) == _values(Contact, [c.pk for c in created])
    assert Contact.objects.get(pk=inserted[0].pk).created_at <= timezone.now()

    ours = bulk_insert(Deal, deals(inserted[0]))
    theirs = Deal.objects.bulk_create(deals(created[0]))
    ours_rows, theirs_rows = _values(Deal, [ours[0].pk]), _values(Deal, [theirs[0].pk])
    assert ours_rows[0].pop("contact_id") == inserted[0].pk
    assert theirs_rows[0].pop("contact_id") == created[0].pk
    assert ours_rows == theirs_rows
    assert Deal.objects.get(pk=ours[0].pk).amount == Decimal("1234567.89")


@pytest.mark.django_db
def test_json_and_auto_now_add_without_ids(manager):
    company = Company.objects.create(name="А")
    changes = {"name": ["Старое «имя»", "Новое"], "nested": {"list": [1, None, True], "quote": 'a"b\\c'}}
    before = ObjectChange.objects.count()
    rows = bulk_insert(
        ObjectChange, [change_row(company, "update", changes=changes, user=manager)], ids=False
    )
    assert ObjectChange.objects.count() == before + 1
    row = ObjectChange.objects.latest("id")
    assert row.changes == changes
    assert row.user_id == manager.pk and row.at is not None
    assert rows[0]._state.adding is False


@pytest.mark.django_db
def test_lazy_translations_and_choices_are_written_as_their_text(manager):
    from django.utils.translation import gettext_lazy, override

    company = Company.objects.create(name="Б")
    row = change_row(company, ObjectChange.Action.UPDATE, user=manager)
    row.message = gettext_lazy("Phone or e-mail added")
    with override("ru"):
        bulk_insert(ObjectChange, [row], ids=False)
    written = ObjectChange.objects.latest("id")
    assert (written.action, written.message) == ("update", "Добавлен телефон или e-mail")


@pytest.mark.django_db(transaction=True)
def test_a_taken_identity_is_an_integrity_error_and_nothing_is_written():
    holder = Contact.objects.create(full_name="Первый")
    Identity.objects.create(contact=holder, kind="phone", value="+79001112233")
    newcomer = Contact.objects.create(full_name="Второй")
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(
            Identity,
            [
                Identity(contact=newcomer, kind="email", value="second@example.com"),
                Identity(contact=newcomer, kind="phone", value="+79001112233"),
            ],
        )
    assert not Identity.objects.filter(contact=newcomer).exists()


@pytest.mark.django_db
def test_related_objects_saved_after_assignment_give_their_ids():
    company = Company(name="Новая")
    contact = Contact(full_name="Иванов", company=company)
    company.save()
    (saved,) = bulk_insert(Contact, [contact])
    assert Contact.objects.get(pk=saved.pk).company_id == company.pk


@pytest.mark.django_db
def test_nothing_to_insert_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_insert(Contact, []) == []
