"""Click-to-call: AMI Originate against a fake Asterisk, Zadarma and Mango callback APIs against a
fake HTTP server, and the API endpoint with its permission scope and errors."""

import hashlib
import json
import time
import urllib.parse

import pytest
from django.core.exceptions import ValidationError

from otdel.comms.models import TelephonyProvider
from otdel.comms.telephony import click_to_call
from otdel.comms.telephony.click_to_call import call_originate
from otdel.comms.tests.telephony.support.fixtures import (
    zadarma_signature,
)
from otdel.comms.tests.telephony.support.http_server import Reply
from otdel.crm.tests.factories import ContactFactory, IdentityFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/telephony/call"


@pytest.fixture
def client_contact(manager):
    contact = ContactFactory(full_name="Петров Пётр", responsible=manager)
    IdentityFactory(contact=contact, kind="phone", value="+79123456789", is_primary=True)
    return contact


def test_asterisk_originate_rings_my_extension_then_the_client(
    api_for, manager, client_contact, asterisk_provider, fake_ami
):
    response = api_for(manager).post(URL, {"contact": client_contact.pk}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {
        "status": "calling",
        "provider": "office-pbx",
        "number": "+79123456789",
        "extension": "101",
    }
    login, originate, logoff = fake_ami.actions
    assert (login["Action"], login["Username"], login["Events"]) == ("Login", "otdel", "off")
    assert originate["Action"] == "Originate"
    assert originate["Channel"] == "PJSIP/101"
    assert (originate["Context"], originate["Exten"], originate["Priority"]) == (
        "otdel-click2call",
        "79123456789",
        "1",
    )
    assert originate["CallerID"] == '"Петров Пётр" <79123456789>'
    assert (originate["Async"], originate["Timeout"]) == ("true", "30000")
    assert originate["Variable"].splitlines() == ["OTDEL_EXTENSION=101", "OTDEL_NUMBER=+79123456789"]
    assert logoff["Action"] == "Logoff"


def test_a_number_typed_by_hand_is_normalized(api_for, manager, asterisk_provider, fake_ami):
    response = api_for(manager).post(URL, {"number": "8 (916) 111-22-33"}, format="json")
    assert response.status_code == 202
    assert fake_ami.actions_named("Originate")[0]["Exten"] == "79161112233"
    response = api_for(manager).post(URL, {"number": "12"}, format="json")
    assert response.status_code == 400 and "number" in response.json()["errors"]
    response = api_for(manager).post(URL, {}, format="json")
    assert response.status_code == 400 and "contact" in response.json()["errors"]


def test_someone_elses_contact_is_404(api_for, other_manager, client_contact, asterisk_provider, fake_ami):
    response = api_for(other_manager).post(URL, {"contact": client_contact.pk}, format="json")
    assert response.status_code == 404
    assert not fake_ami.actions
    assert api_for(None).post(URL, {"number": "+79123456789"}, format="json").status_code == 401


def test_no_extension_or_no_provider_is_a_clear_400(api_for, manager, office_manager, client_contact):
    office_manager.extension = None
    office_manager.save()
    response = api_for(office_manager).post(URL, {"number": "+79123456789"}, format="json")
    assert response.status_code == 400
    assert "extension" in response.json()["errors"]
    response = api_for(manager).post(URL, {"contact": client_contact.pk}, format="json")
    assert response.status_code == 400
    assert "No active telephony provider" in response.json()["errors"]["provider"][0]
    with pytest.raises(ValidationError) as error:
        call_originate(actor=manager, contact=ContactFactory(responsible=manager))
    assert "no phone number" in str(error.value)


def test_a_pbx_that_does_not_answer_is_a_bounded_502(
    api_for, manager, asterisk_provider, fake_ami, monkeypatch
):
    fake_ami.answer_originate = False
    monkeypatch.setattr(click_to_call, "ORIGINATE_TIMEOUT", 0.5)
    started = time.monotonic()
    response = api_for(manager).post(URL, {"number": "+79123456789"}, format="json")
    assert time.monotonic() - started < 4
    assert response.status_code == 502
    assert response.json()["code"] == "telephony_unavailable"
    asterisk_provider.refresh_from_db()
    assert "no answer to Originate" in asterisk_provider.last_error


def test_a_wrong_ami_password_is_a_502_naming_the_reason(api_for, manager, asterisk_provider, fake_ami):
    TelephonyProvider.objects.filter(pk=asterisk_provider.pk).update(ami_password="wrong")
    response = api_for(manager).post(URL, {"number": "+79123456789"}, format="json")
    assert response.status_code == 502
    assert "refused the AMI login" in response.json()["errors"]["__all__"][0]


def test_zadarma_callback_request_is_signed(manager, zadarma_provider, fake_http):
    fake_http.route(
        "GET",
        "/v1/request/callback/",
        Reply(
            200,
            json.dumps({"status": "success", "from": 101, "to": 79123456789, "time": 1795676400}).encode(),
        ),
    )
    zadarma_provider.api_url = fake_http.url
    zadarma_provider.save()
    placed = call_originate(actor=manager, number="+7 912 345-67-89", provider=zadarma_provider)
    assert (placed.number, placed.extension, placed.reference) == ("+79123456789", "101", "1795676400")
    (request,) = fake_http.seen
    assert request.query == {"format": "json", "from": "101", "to": "79123456789"}
    query = "format=json&from=101&to=79123456789"
    signature = zadarma_signature(
        "zd-secret", "/v1/request/callback/" + query + hashlib.md5(query.encode()).hexdigest()
    )
    assert request.headers["Authorization"] == f"zd-key:{signature}"


def test_zadarma_refusal_is_a_502_with_its_message(api_for, manager, zadarma_provider, fake_http):
    fake_http.route(
        "GET",
        "/v1/request/callback/",
        Reply(200, json.dumps({"status": "error", "message": "Wrong parameters!"}).encode()),
    )
    zadarma_provider.api_url = fake_http.url
    zadarma_provider.save()
    response = api_for(manager).post(URL, {"number": "+79123456789", "provider": "zd-main"}, format="json")
    assert response.status_code == 502
    assert "Wrong parameters!" in response.json()["errors"]["__all__"][0]
    zadarma_provider.refresh_from_db()
    assert "Wrong parameters!" in zadarma_provider.last_error


def test_mango_callback_command_is_signed(api_for, manager, client_contact, mango_provider, fake_http):
    fake_http.route(
        "POST", "/commands/callback", Reply(200, b'{"result":1000}', {"Content-Type": "application/json"})
    )
    mango_provider.api_url = fake_http.url + "/"
    mango_provider.save()
    response = api_for(manager).post(
        URL, {"contact": client_contact.pk, "provider": "mango-main"}, format="json"
    )
    assert response.status_code == 202, response.content
    (request,) = fake_http.seen
    form = dict(urllib.parse.parse_qsl(request.body.decode()))
    assert form["vpbx_api_key"] == "vpbx-key"
    assert form["sign"] == hashlib.sha256(("vpbx-key" + form["json"] + "vpbx-salt").encode()).hexdigest()
    command = json.loads(form["json"])
    assert command["from"] == {"extension": "101"} and command["to_number"] == "79123456789"
    assert command["command_id"].startswith("otdel-")


def test_inactive_or_unknown_provider_is_refused(api_for, manager, zadarma_provider):
    zadarma_provider.is_active = False
    zadarma_provider.save()
    response = api_for(manager).post(URL, {"number": "+79123456789", "provider": "zd-main"}, format="json")
    assert response.status_code == 400 and "provider" in response.json()["errors"]
    response = api_for(manager).post(URL, {"number": "+79123456789", "provider": "nope"}, format="json")
    assert response.status_code == 400 and "provider" in response.json()["errors"]
