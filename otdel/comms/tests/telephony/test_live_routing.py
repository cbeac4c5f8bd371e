"""Live PBX routing by the cloud PBXs: Zadarma's NOTIFY_START reply, Mango Office's commands/route."""

import datetime
import hashlib
import json
import re
import socket
import threading
import urllib.parse

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from otdel.accounts.tests.factories import always_at_work
from otdel.comms.models import IntakeLog, Interaction, TelephonyProvider
from otdel.comms.telephony import services as settings_services
from otdel.comms.tests.telephony.support.fixtures import (
    zadarma_signature,
)
from otdel.comms.tests.telephony.support.http_server import Reply, Seen
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory
from otdel.routing.models import Queue, QueueMember, RoutingSettings
from otdel.routing.snapshot import routing_snapshot_clear

pytestmark = pytest.mark.django_db

# Zadarma notifications older than 12 hours are refused as stale: the calls started minutes ago.
STARTED = timezone.localtime().replace(microsecond=0) - datetime.timedelta(minutes=5)
START = STARTED.strftime("%Y-%m-%d %H:%M:%S")
LINE = "74951234567"
STORED = "+79123456789"  # how Otdel keeps the number; the PBXs write it their own way


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    # Every test reads the routing configuration it has just written, and routes its calls anew.
    settings.OTDEL_ROUTING_CACHE_SECONDS = 0
    routing_snapshot_clear()
    cache.clear()
    yield
    routing_snapshot_clear()
    cache.clear()


@pytest.fixture
def team(manager, other_manager, office_manager):
    """A sales queue for new callers; non-target callers go to the office manager."""
    queue = Queue.objects.create(code="sales", name="Продажи")
    for user in (manager, other_manager, office_manager):
        always_at_work(user)
    for user in (manager, other_manager):
        QueueMember.objects.create(queue=queue, user=user)
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.non_target_user = queue, office_manager
    cfg.save()
    return queue


def non_target_caller():
    contact = ContactFactory(full_name="Спамов Спам Спамович", non_target=True)
    IdentityFactory(contact=contact, value=STORED)
    return contact


def client_with_open_deal(owner, pipeline):
    contact = ContactFactory(full_name="Петров Пётр")
    IdentityFactory(contact=contact, value=STORED)
    DealFactory(contact=contact, pipeline=pipeline, responsible=owner)
    return contact


# --- Zadarma: the answer to NOTIFY_START ------------------------------------------------------


ZADARMA_URL = "/api/v1/telephony/zadarma/zd-main"


def notify_start(client, caller_id, call_id="in_live_1"):
    fields = {
        "event": "NOTIFY_START",
        "pbx_call_id": call_id,
        "caller_id": caller_id,
        "called_did": LINE,
        "call_start": START,
    }
    signature = zadarma_signature("zd-secret", caller_id + LINE + START)
    return client.post(
        ZADARMA_URL,
        urllib.parse.urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"Signature": signature},
    )


def test_zadarma_non_target_caller_is_redirected_to_the_office_manager(client, zadarma_provider, team):
    contact = non_target_caller()
    response = notify_start(client, "8 (912) 345-67-89")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"redirect": "200", "caller_name": "Спамов Спам Спамович"}
    # The call is kept as always.
    call = Interaction.objects.get()
    assert (call.external_id, call.contact) == ("in_live_1", contact)
    assert IntakeLog.objects.get().status == "processed"


def test_zadarma_open_deal_goes_to_its_owner(client, zadarma_provider, team, manager, pipeline):
    client_with_open_deal(manager, pipeline)
    response = notify_start(client, "79123456789")
    assert json.loads(response.content) == {"redirect": "101", "caller_name": "Петров Пётр"}


def test_zadarma_unknown_caller_is_left_to_the_pbx_scenario(client, zadarma_provider, team):
    response = notify_start(client, "79001112233")
    assert response.status_code == 200
    assert response.content == b""  # routing says "the sales queue": the PBX rings the team itself
    assert Interaction.objects.get().caller == "79001112233"


def test_zadarma_known_caller_for_the_queue_is_named_but_not_redirected(client, zadarma_provider, team):
    contact = ContactFactory(full_name="Сидорова Анна")  # nobody owns her yet
    IdentityFactory(contact=contact, value=STORED)
    response = notify_start(client, "+7 912 345 67 89")
    assert json.loads(response.content) == {"caller_name": "Сидорова Анна"}


def test_zadarma_broken_routing_still_takes_the_call(client, zadarma_provider, team):
    non_target_caller()
    failed = []

    def database_fails_once(execute, sql, params, many, context):
        # The database gives up on the routing lookup (the first read of identities), only once.
        if not failed and "crm_identity" in sql:
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_fails_once):
        response = notify_start(client, "89123456789")
    assert failed
    assert response.status_code == 200
    assert response.content == b""  # no instruction: the PBX's scenario runs
    assert Interaction.objects.get().external_id == "in_live_1"
    assert IntakeLog.objects.get().status == "processed"


# --- Mango Office: commands/route while the call is in the voice menu -------------------------

MANGO_BASE = "/api/v1/telephony/mango/mango-main"
KEY, SALT = "vpbx-key", "vpbx-salt"
T0 = 1795676400
ENTRY = "MTAxOTc3MzY0Njo0NjA="
IVR_LEG = "MToxMDE5NzczNjQ2OjQ2MDox"
NEW_LEG = "MToxMDE5NzczNjQ2OjQ2MDoy"


def mango_post(client, event, data):
    json_text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    fields = {
        "vpbx_api_key": KEY,
        "sign": hashlib.sha256((KEY + json_text + SALT).encode()).hexdigest(),
        "json": json_text,
    }
    return client.post(
        f"{MANGO_BASE}/{event}",
        urllib.parse.urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def appeared(call_id=IVR_LEG, location="ivr", caller="79123456789", to=None, **extra):
    return {
        "entry_id": ENTRY,
        "call_id": call_id,
        "timestamp": T0,
        "seq": 1,
        "call_state": "Appeared",
        "location": location,
        "from": {"number": caller},
        "to": to or {"number": LINE, "line_number": LINE},
        **extra,
    }


class FakeMangoAPI:
    """Mango's VPBX API on a local server: it checks each command's signature like Mango does."""

    def __init__(self, server):
        self.server = server
        self.commands = []
        server.route("POST", "/commands/route", self._route)

    def _route(self, seen: Seen) -> Reply:
        form = seen.form
        signed = hashlib.sha256((KEY + form.get("json", "") + SALT).encode()).hexdigest()
        if form.get("vpbx_api_key") != KEY or form.get("sign") != signed:
            return Reply(401, b'{"result":3101}', {"Content-Type": "application/json"})
        self.commands.append(json.loads(form["json"]))
        return Reply(200, b'{"result":1000}', {"Content-Type": "application/json"})


@pytest.fixture
def mango_api(fake_http, mango_provider):
    mango_provider.api_url = fake_http.url
    mango_provider.save()
    return FakeMangoAPI(fake_http)


def test_mango_non_target_caller_in_the_voice_menu_is_routed_once_to_the_office_manager(
    client, mango_provider, mango_api, team
):
    non_target_caller()
    assert mango_post(client, "events/call", appeared()).status_code == 200
    assert len(mango_api.commands) == 1
    command = mango_api.commands[0]
    assert command["call_id"] == IVR_LEG and command["to_number"] == "200"
    assert command["command_id"].startswith("otdel-route-")
    assert command["sip_headers"] == {"From/display-name": "Спамов Спам Спамович"}
    mango_provider.refresh_from_db()
    assert mango_provider.last_error == ""

    # Mango repeats the event; then the call rings the office manager as a new leg of our command.
    assert mango_post(client, "events/call", appeared()).status_code == 200
    new_leg = appeared(
        NEW_LEG,
        "abonent",
        to={"extension": "200", "number": "sip:office@vpbx.mangosip.ru", "line_number": LINE},
        command_id=command["command_id"],
    )
    new_leg["from"]["taken_from_call_id"] = IVR_LEG
    assert mango_post(client, "events/call", new_leg).status_code == 200
    assert (
        mango_post(client, "result/route", {"command_id": command["command_id"], "result": 1000}).status_code
        == 200
    )
    assert len(mango_api.commands) == 1
    mango_provider.refresh_from_db()
    assert mango_provider.last_error == ""
    assert Interaction.objects.get().external_id == ENTRY


def test_mango_open_deal_goes_to_its_owner(client, mango_provider, mango_api, team, manager, pipeline):
    client_with_open_deal(manager, pipeline)
    mango_post(client, "events/call", appeared(caller="89123456789"))
    assert [(c["call_id"], c["to_number"]) for c in mango_api.commands] == [(IVR_LEG, "101")]


def test_mango_leaves_queue_callers_and_ringing_phones_to_the_scenario(
    client, mango_provider, mango_api, team
):
    # An unknown caller belongs to the sales queue: the PBX's scenario rings the team.
    mango_post(client, "events/call", appeared(caller="79001112233", entry_id="unknown-1"))
    # A non-target caller already ringing an employee's phone (a group may ring several) stays there.
    non_target_caller()
    ext101 = {"extension": "101", "number": "sip:101@vpbx.mangosip.ru", "line_number": LINE}
    mango_post(client, "events/call", appeared(NEW_LEG, "abonent", to=ext101, entry_id="ringing-1"))
    assert mango_api.commands == []
    assert Interaction.objects.count() == 2


def _closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("trouble", ["refused", "silent", "error"])
def test_mango_api_trouble_does_not_fail_the_webhook(
    client, mango_provider, fake_http, team, settings, trouble
):
    settings.OTDEL_TELEPHONY_ROUTE_TIMEOUT = 0.3
    released = threading.Event()
    if trouble == "refused":
        mango_provider.api_url = _closed_port_url()
    else:
        mango_provider.api_url = fake_http.url

        def silent(seen):
            released.wait(5)  # answers only after the webhook has given up
            return Reply(200, b'{"result":1000}')

        reply = silent if trouble == "silent" else Reply(500, b"Internal Server Error")
        fake_http.route("POST", "/commands/route", reply)
    mango_provider.save()
    non_target_caller()
    try:
        response = mango_post(client, "events/call", appeared())
    finally:
        released.set()
    assert response.status_code == 200
    mango_provider.refresh_from_db()
    assert mango_provider.last_error.startswith("Live routing:")
    assert {"refused": "unreachable", "silent": "unreachable", "error": "HTTP 500"}[trouble] in (
        mango_provider.last_error
    )
    # The call itself is on the timeline regardless.
    assert Interaction.objects.get().external_id == ENTRY
    assert IntakeLog.objects.get().status == "processed"


def test_mango_refusing_the_route_later_is_noted(client, mango_provider, mango_api, team):
    non_target_caller()
    mango_post(client, "events/call", appeared())
    command_id = mango_api.commands[0]["command_id"]
    # Mango reports that the call was gone by the time it tried (result 4101).
    assert mango_post(client, "result/route", {"command_id": command_id, "result": 4101}).status_code == 200
    mango_provider.refresh_from_db()
    assert "4101" in mango_provider.last_error
    # Someone else's command result is not ours to judge.
    TelephonyProvider.objects.filter(pk=mango_provider.pk).update(last_error="")
    mango_post(client, "result/route", {"command_id": "crm-other-1", "result": 4101})
    mango_provider.refresh_from_db()
    assert mango_provider.last_error == ""


def test_mango_without_api_address_does_not_route(client, mango_provider, team):
    non_target_caller()
    assert mango_provider.api_url == ""
    assert mango_post(client, "events/call", appeared()).status_code == 200
    mango_provider.refresh_from_db()
    assert mango_provider.last_error == ""  # nothing to send the command to: not an error
    assert Interaction.objects.get().external_id == ENTRY


# --- the admin's switch ----------------------------------------------------------------------


def test_with_live_routing_off_the_pbx_scenario_decides_and_calls_are_still_recorded(
    client, admin_user, zadarma_provider, mango_provider, mango_api, team
):
    non_target_caller()
    client.force_login(admin_user)
    for provider in (zadarma_provider, mango_provider):
        page = client.get(reverse("comms_telephony_edit", args=[provider.pk])).content.decode()
        checkbox = re.search(r'<input[^>]*name="live_routing"[^>]*>', page)
        assert checkbox is not None and " checked" in checkbox.group(0)  # on unless turned off
        settings_services.telephony_provider_update(actor=admin_user, provider=provider, live_routing=False)
    client.logout()

    response = notify_start(client, "8 (912) 345-67-89")
    # No redirect; the caller's name still shows on the ringing phone.
    assert json.loads(response.content) == {"caller_name": "Спамов Спам Спамович"}
    assert mango_post(client, "events/call", appeared()).status_code == 200
    assert mango_api.commands == []
    assert Interaction.objects.count() == 2

    # Back on: the next ringing call is routed again.
    mango_provider.refresh_from_db()
    settings_services.telephony_provider_update(actor=admin_user, provider=mango_provider, live_routing=True)
    mango_post(client, "events/call", appeared(entry_id="again-1"))
    assert [c["to_number"] for c in mango_api.commands] == ["200"]
