"""The "identity taken" 409 does not name a contact outside the caller's scope."""

import pytest

from otdel.crm.tests.factories import ContactFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def test_identity_held_by_an_unseen_contact_is_not_named(api_for, manager, other_manager):
    secret = ContactFactory(full_name="Тайный Клиент", responsible=other_manager)
    IdentityFactory(contact=secret, kind="phone", value="+79123456789")
    mine = ContactFactory(full_name="Мой", responsible=manager)
    response = api_for(manager).patch(
        f"/api/v1/contacts/{mine.pk}/",
        {"identities": [{"kind": "phone", "value": "+7 912 345-67-89"}]},
        format="json",
    )
    assert response.status_code == 409, response.content
    text = response.content.decode()
    assert "Тайный" not in text and f"#{secret.pk}" not in text
    assert response.json()["code"] == "identity_taken"
