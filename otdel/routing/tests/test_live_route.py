"""The live routing endpoint a PBX asks while the call rings."""

import psycopg
import pytest
from django.db import close_old_connections, connection

from otdel.accounts.tests.factories import always_at_work
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory
from otdel.routing.models import Queue, QueueMember, RoutingSettings

URL = "/api/v1/telephony/route"


@pytest.fixture
def sales_queue(manager, other_manager):
    queue = Queue.objects.create(code="sales", name="Продажи")
    for user in (manager, other_manager):
        always_at_work(user)
        QueueMember.objects.create(queue=queue, user=user)
    cfg = RoutingSettings.load()
    cfg.default_queue = queue
    cfg.save()
    return queue


@pytest.mark.django_db
def test_open_deal_owner_gets_the_call_by_number_in_any_format(
    api_for, integration_user, manager, pipeline, sales_queue
):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    response = api_for(integration_user).get(URL, {"caller": "8 (912) 345-67-89", "called": "+74951234567"})
    assert response.status_code == 200
    assert response.json() == {
        "destination": {"kind": "user", "user": manager.pk, "extension": "101"},
        "reason": "open_deal",
        "rule": f"deal:{contact.deals.get().pk}",
        "contact": contact.pk,
    }
    text = api_for(integration_user).get(URL, {"caller": "89123456789", "format": "text"})
    assert text.status_code == 200 and text.content == b"101"


@pytest.mark.django_db
def test_non_target_caller_goes_to_office_manager(api_for, integration_user, office_manager, sales_queue):
    always_at_work(office_manager)
    contact = ContactFactory(non_target=True)
    IdentityFactory(contact=contact, value="+79123456789")
    body = api_for(integration_user).get(URL, {"caller": "+7 912 345 67 89"}).json()
    assert body["reason"] == "non_target"
    assert body["destination"]["extension"] == "200"


@pytest.mark.parametrize("caller", ["", "garbage", "123", "+7 000"])
@pytest.mark.django_db
def test_garbage_caller_still_gets_an_answer(api_for, integration_user, sales_queue, caller):
    response = api_for(integration_user).get(URL, {"caller": caller})
    assert response.status_code == 200
    assert response.json()["reason"] in ("queue", "fallback")
    assert response.json()["destination"] == {"kind": "queue", "queue": "sales"}
    text = api_for(integration_user).get(URL, {"caller": caller, "format": "text"})
    assert text.content == b"queue:sales"


@pytest.mark.django_db
def test_route_writes_nothing(api_for, integration_user, sales_queue, django_assert_max_num_queries):
    from otdel.routing.models import RoutingDecision

    client = api_for(integration_user)
    client.get(URL, {"caller": "+79123456789"})
    assert not RoutingDecision.objects.exists()
    assert QueueMember.objects.filter(last_assigned_at__isnull=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_known_caller_costs_one_query_with_warm_caches(
    routing_cache_on, api_for, integration_user, manager, pipeline, sales_queue, django_assert_max_num_queries
):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    client = api_for(integration_user)
    client.get(URL, {"caller": "garbage"})  # warms the token and the routing snapshot
    with django_assert_max_num_queries(1):
        body = client.get(URL, {"caller": "8 912 345-67-89"}).json()
    assert body["reason"] == "open_deal" and body["destination"]["user"] == manager.pk
    # An unknown number: its facts, and whether it is someone's line without their extension.
    with django_assert_max_num_queries(2):
        assert client.get(URL, {"caller": "+79000000000"}).json()["reason"] == "queue"
    with django_assert_max_num_queries(0):
        assert client.get(URL, {"caller": "garbage", "format": "text"}).content == b"queue:sales"


@pytest.mark.django_db
def test_cold_caches_stay_bounded(
    api_for, integration_user, manager, pipeline, sales_queue, django_assert_max_num_queries
):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    client = api_for(integration_user)
    # Token, the seven small configuration tables, the caller's facts.
    with django_assert_max_num_queries(9):
        assert client.get(URL, {"caller": "89123456789"}).json()["reason"] == "open_deal"


@pytest.mark.parametrize("cache", [False, True])
@pytest.mark.django_db(transaction=True)
def test_pbx_without_a_valid_integration_token_is_refused(
    request, api_for, integration_user, manager, sales_queue, cache
):
    if cache:
        request.getfixturevalue("routing_cache_on")
    good = api_for(integration_user)
    assert good.get(URL, {"caller": "1"}).status_code == 200
    assert api_for(None).get(URL, {"caller": "1"}).status_code == 401
    wrong = api_for(None)
    wrong.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert wrong.get(URL, {"caller": "1"}).status_code == 401
    assert api_for(manager).get(URL, {"caller": "1"}).status_code == 403
    # A revoked token stops working at once in this process, remembered or not.
    from otdel.accounts.models import ApiToken
    from otdel.accounts.services import token_revoke

    token_revoke(actor=None, token=ApiToken.objects.get(user=integration_user, kind="user"))
    assert good.get(URL, {"caller": "1"}).status_code == 401


@pytest.mark.django_db
def test_pbx_token_and_browser_session_get_the_same_answer(
    client, api_for, integration_user, admin_user, manager, pipeline, sales_queue
):
    """The PBX is answered by LiveRouteMiddleware, a logged-in administrator by the API view."""
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    client.force_login(admin_user)
    for params in (
        {"caller": "8 912 345 67 89"},
        {"caller": "garbage"},
        {"caller": "+79123456789", "format": "text"},
    ):
        by_pbx = api_for(integration_user).get(URL, params)
        by_admin = client.get(URL, params)
        assert by_pbx.status_code == by_admin.status_code == 200
        assert by_pbx["Content-Type"] == by_admin["Content-Type"]
        assert by_pbx.content == by_admin.content
        # Only the full request cycle (LocaleMiddleware) labels the language: the PBX skipped it.
        assert "Content-Language" not in by_pbx and "Content-Language" in by_admin
    assert client.get(URL, {"caller": "+79123456789", "format": "text"}).content == manager.extension.encode()


@pytest.mark.django_db
def test_route_fast_path_keeps_the_host_check_and_refuses_other_methods(
    api_for, integration_user, sales_queue
):
    pbx = api_for(integration_user)
    assert pbx.get(URL, {"caller": "1"}, HTTP_HOST="evil.example").status_code == 400
    assert pbx.post(URL, {"caller": "1"}).status_code == 405
    assert pbx.get(URL + "/", {"caller": "1"}).json()["destination"] == {"kind": "queue", "queue": "sales"}


def _lose_the_connection():
    """The database connection kept between requests dies the way it does in production."""
    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        killer = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        with killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])
    else:  # a file: nothing on the other side can drop it; the nearest thing is a closed connection
        connection.close()
    close_old_connections()  # what Django does when the next request starts


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_calls_still_gets_the_ringing_call_routed(
    api_for, integration_user, manager, pipeline, sales_queue, routing_cache_on
):
    """The token and configuration come from memory, so the facts query meets the dead connection."""
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+79123456789")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    pbx = api_for(integration_user)
    assert pbx.get(URL, {"caller": "+79123456789"}).json()["destination"]["user"] == manager.pk
    _lose_the_connection()
    response = pbx.get(URL, {"caller": "8 912 345-67-89"})
    assert response.status_code == 200
    assert response.json()["destination"]["user"] == manager.pk


@pytest.mark.django_db
def test_a_main_number_finds_the_one_person_stored_with_an_extension(
    api_for, integration_user, manager, pipeline, sales_queue
):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+74951234567;ext=123")
    deal = DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    body = api_for(integration_user).get(URL, {"caller": "8 (495) 123-45-67"}).json()
    assert (body["reason"], body["contact"], body["rule"]) == ("open_deal", contact.pk, f"deal:{deal.pk}")


@pytest.mark.django_db
def test_an_extension_finds_the_person_stored_with_the_main_number(
    api_for, integration_user, manager, pipeline, sales_queue
):
    contact = ContactFactory()
    IdentityFactory(contact=contact, value="+74951234567")
    DealFactory(contact=contact, pipeline=pipeline, responsible=manager)
    body = api_for(integration_user).get(URL, {"caller": "+7 495 123-45-67 доб. 55"}).json()
    assert (body["reason"], body["contact"]) == ("open_deal", contact.pk)


@pytest.mark.django_db
def test_a_main_number_shared_by_two_extensions_is_nobody_in_particular(
    api_for, integration_user, manager, other_manager, pipeline, sales_queue
):
    for extension, owner in (("123", manager), ("124", other_manager)):
        contact = ContactFactory()
        IdentityFactory(contact=contact, value=f"+74951234567;ext={extension}")
        DealFactory(contact=contact, pipeline=pipeline, responsible=owner)
    body = api_for(integration_user).get(URL, {"caller": "+74951234567"}).json()
    assert body["reason"] in ("queue", "fallback") and body["contact"] is None
    # Another number that merely ends the same way is not the same line.
    assert api_for(integration_user).get(URL, {"caller": "+74991234567"}).json()["contact"] is None
