"""The setup checklist and the settings index: who sees them, where the first administrator starts."""

import pytest
from django.test import Client

from otdel.crm.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_first_admin_starts_on_the_checklist_until_the_first_client(admin_user):
    client = client_for(admin_user)
    assert client.get("/")["Location"] == "/setup/"
    ContactFactory()
    assert client.get("/")["Location"] != "/setup/"


def test_who_may_open_the_checklist_and_the_settings_index(admin_user, head, manager):
    assert client_for(admin_user).get("/setup/").status_code == 200
    assert client_for(head).get("/setup/").status_code == 403
    assert client_for(head).get("/settings/").status_code == 200
    assert client_for(manager).get("/settings/").status_code == 403
    assert client_for(manager).get("/").status_code == 302  # a salesperson's start page is unchanged
    page = client_for(head).get("/settings/").content.decode()
    assert "/settings/routing/" in page and "/settings/users/" not in page  # administrators only


def test_unset_routing_names_the_fallback_person(admin_user, office_manager):
    page = client_for(admin_user).get("/setup/").content.decode()
    assert 'data-testid="setup-fallback-warning"' in page
    assert office_manager.get_full_name() in page  # no fallback set: the first office manager
