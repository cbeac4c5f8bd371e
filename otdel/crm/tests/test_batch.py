"""contacts_create_batch: contact_create's rules for many contacts in a few statements."""

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from otdel.core import events
from otdel.core.events import ContactCreated
from otdel.core.exceptions import ConflictError
from otdel.core.models import ObjectChange
from otdel.crm import search, services
from otdel.crm.models import Contact, Identity, SearchEntry


def test_a_batch_creates_contacts_with_identities_change_log_and_index(manager):
    made = services.contacts_create_batch(
        actor=manager,
        items=[
            {
                "full_name": "Смирнова Ольга",
                "identities": [("phone", "8 (967) 484-23-34"), ("phone", "+7 912 000-00-01")],
            },
            {
                "full_name": " Петров Пётр ",
                "identities": [{"kind": "email", "value": "P@Mail.RU"}],
                "position": "Директор",
            },
        ],
    )
    assert all(isinstance(c, Contact) for c in made)
    olga, petr = (Contact.objects.get(pk=c.pk) for c in made)
    assert olga.full_name == "Смирнова Ольга" and petr.full_name == "Петров Пётр"
    assert olga.responsible == manager  # a salesperson's new contact is theirs, as in contact_create
    phones = list(olga.identities.order_by("id").values_list("value", "is_primary"))
    assert phones == [("+79674842334", True), ("+79120000001", False)]
    assert petr.identities.get().value == "p@mail.ru"
    assert petr.search_text == "петров пётр директор"
    for contact in (olga, petr):
        change = ObjectChange.objects.get(
            object_id=contact.pk, action="create", content_type__model="contact"
        )
        assert change.changes["full_name"] == contact.full_name and change.user == manager
    # The search finds them as it finds contacts made one by one: by name, e-mail and partial phone.
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "ольга смирн")) == [olga]
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "p@mail.ru")) == [petr]
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "484-23-34")) == [olga]
    assert SearchEntry.objects.filter(kind="phone").count() == 2


def test_one_person_one_contact_within_the_batch_and_against_the_database(manager):
    kept = services.contact_create(
        actor=manager, full_name="Уже есть", identities=[("phone", "+79120000001")]
    )
    made = services.contacts_create_batch(
        actor=manager,
        items=[
            {"full_name": "Первый", "identities": [("phone", "+7 912 000-00-02")]},
            {"full_name": "Тот же телефон", "identities": [("phone", "89120000002")]},  # as the first
            {"full_name": "Известный", "identities": [("phone", "8 912 000 00 01")]},  # in the database
            {"full_name": "Плохой", "identities": [("phone", "123")]},
            {"full_name": "", "identities": [("email", "x@y.ru")]},  # a name is required
            {"full_name": "Без телефона"},
        ],
    )
    assert isinstance(made[0], Contact) and isinstance(made[5], Contact)
    assert isinstance(made[1], ConflictError) and made[1].code == "identity_taken"
    assert isinstance(made[2], ConflictError) and f"#{kept.pk}" in made[2].message
    assert isinstance(made[3], ValidationError) and "identities" in made[3].message_dict
    assert isinstance(made[4], ValidationError) and "full_name" in made[4].message_dict
    assert Contact.objects.count() == 3  # kept, the first, the one without a phone
    assert Identity.objects.filter(value="+79120000002").get().contact_id == made[0].pk
    assert not Identity.objects.filter(value="x@y.ru").exists()


def test_contact_created_is_emitted_per_contact_after_commit(manager, monkeypatch):
    seen: list[int] = []
    monkeypatch.setitem(events._handlers, ContactCreated, [lambda event: seen.append(event.contact_id)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        made = services.contacts_create_batch(
            actor=manager,
            items=[
                {"full_name": f"Клиент {n}", "identities": [("phone", f"+7912111000{n}")]} for n in range(3)
            ],
        )
        assert seen == []
    assert sorted(seen) == sorted(c.pk for c in made)


@pytest.mark.django_db(transaction=True)
def test_an_identity_taken_meanwhile_refuses_the_batch_whole(manager, monkeypatch):
    # Another writer inserts the phone between the check and the INSERT: nothing of the batch stays.
    real = services._holders_of
    monkeypatch.setattr(services, "_holders_of", lambda pairs: {})
    services.contact_create(actor=None, full_name="Быстрее", identities=[("phone", "+79120000009")])
    with pytest.raises(ConflictError):
        services.contacts_create_batch(
            actor=manager,
            items=[
                {"full_name": "A", "identities": [("phone", "+79120000008")]},
                {"full_name": "B", "identities": [("phone", "+79120000009")]},
            ],
        )
    monkeypatch.setattr(services, "_holders_of", real)
    assert list(Contact.objects.values_list("full_name", flat=True)) == ["Быстрее"]


# --- contacts_update_batch ---------------------------------------------------------------------


def test_an_update_batch_writes_fields_identities_change_log_and_index_item_by_item(manager):
    olga = services.contact_create(actor=manager, full_name="Ольга", identities=[("phone", "+79120000001")])
    petr = services.contact_create(actor=manager, full_name="Пётр", identities=[("email", "p@mail.ru")])
    other = services.contact_create(actor=manager, full_name="Чужой", identities=[("phone", "+79120000009")])
    olga, petr = Contact.objects.get(pk=olga.pk), Contact.objects.get(pk=petr.pk)

    written = services.contacts_update_batch(
        actor=manager,
        items=[
            {"contact": olga, "fields": {"position": "Директор"}, "identities": [("email", "O@Mail.ru")]},
            {"contact": petr, "fields": {"position": "x" * 151}, "identities": [("phone", "+79120000005")]},
            {"contact": petr, "fields": {}, "identities": [("phone", "8 912 000-00-09")]},  # Chuzhoy's
            {
                "contact": olga,
                "fields": {"full_name": "Ольга Смирнова"},
                "identities": [("phone", "+79120000001")],
            },
            {"contact": petr, "fields": {}, "identities": [("phone", "+7 912 000-00-02")]},
        ],
    )

    assert [type(w).__name__ for w in written] == ["list", "ValidationError", "ConflictError", "list", "list"]
    assert "position" in written[1].message_dict and f"#{other.pk}" in written[2].message
    assert [(c.object_id, c.changes) for c in written[0]] == [
        (olga.pk, {"position": ["", "Директор"]}),
        (olga.pk, {"identity_added": [None, "o@mail.ru"]}),
    ]
    assert [c.changes for c in written[3]] == [
        {"full_name": ["Ольга", "Ольга Смирнова"]}
    ]  # the phone is hers
    assert [c.changes for c in written[4]] == [{"identity_added": [None, "+79120000002"]}]
    assert all(c.pk and c.user == manager for rows in (written[0], written[3], written[4]) for c in rows)
    # A refused item changed nothing, in the database or on the object.
    assert petr.position == "" and not Identity.objects.filter(value="+79120000005").exists()
    olga.refresh_from_db()
    petr.refresh_from_db()
    assert (olga.full_name, olga.position, olga.version) == ("Ольга Смирнова", "Директор", 3)
    assert (petr.position, petr.version) == ("", 1)
    assert olga.search_text == "ольга смирнова директор"
    assert list(olga.identities.order_by("id").values_list("value", "is_primary")) == [
        ("+79120000001", True),
        ("o@mail.ru", True),
    ]
    assert petr.identities.get(kind="phone").is_primary
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "o@mail.ru")) == [olga]
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "смирнова")) == [olga]
    assert list(search.filter_queryset(Contact.objects.all(), "contacts", "000-00-02")) == [petr]


@pytest.mark.django_db(transaction=True)
def test_an_identity_taken_meanwhile_refuses_the_update_batch_whole(manager, monkeypatch):
    olga = services.contact_create(actor=manager, full_name="Ольга", identities=[("phone", "+79120000001")])
    services.contact_create(actor=None, full_name="Быстрее", identities=[("phone", "+79120000009")])
    monkeypatch.setattr(services, "_holders_of", lambda pairs: {})  # the check saw it free
    with pytest.raises(ConflictError):
        services.contacts_update_batch(
            actor=manager,
            items=[
                {"contact": olga, "fields": {"position": "Директор"}, "identities": []},
                {"contact": olga, "fields": {}, "identities": [("phone", "+79120000009")]},
            ],
        )
    olga.refresh_from_db()
    assert (olga.position, olga.version) == ("", 1)
    assert not ObjectChange.objects.filter(object_id=olga.pk, action="update").exists()
