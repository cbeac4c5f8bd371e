"""The in-process routing snapshot: reused while fresh, dropped when a routing row changes."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from otdel.accounts.models import Absence, Role, User
from otdel.accounts.tests.factories import UserFactory, always_at_work
from otdel.comms.models import TelephonyLine, TelephonyProvider
from otdel.crm.tests.factories import ContactFactory, IdentityFactory
from otdel.routing import snapshot as snapshot_module
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingSettings
from otdel.routing.services import identity_block, queue_create, queue_set_members, routing_settings_update
from otdel.routing.snapshot import routing_snapshot

URL = "/api/v1/telephony/route"


@pytest.fixture
def team(manager, other_manager, office_manager):
    for user in (manager, other_manager, office_manager):
        always_at_work(user)
    queue = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=queue, user=manager)
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.non_target_user, cfg.fallback_user = queue, office_manager, office_manager
    cfg.save()
    return queue


def _provider():
    return TelephonyProvider.objects.create(kind="generic", name="PBX", key="pbx")


CHANGES = {
    "settings saved": lambda team, user: RoutingSettings.load().save(),
    "queue saved": lambda team, user: team.save(),
    "member added": lambda team, user: QueueMember.objects.create(queue=team, user=user),
    "member removed": lambda team, user: QueueMember.objects.filter(queue=team).delete(),
    "members set by the service": lambda team, user: queue_set_members(queue=team, members=[user]),
    "user saved": lambda team, user: user.save(),
    "absence added": lambda team, user: Absence.objects.create(
        user=user, start=timezone.localdate(), end=timezone.localdate()
    ),
    "identity blocked": lambda team, user: BlockedIdentity.objects.create(
        kind="phone", value="+74950000000", reason="spam"
    ),
    "line added": lambda team, user: TelephonyLine.objects.create(
        provider=_provider(), number="+74951112233", queue=team
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.django_db(transaction=True)
def test_snapshot_is_reused_until_a_routing_row_changes(routing_cache_on, team, other_manager, change):
    today = timezone.localdate()
    first = routing_snapshot(today)
    assert routing_snapshot(today) is first
    CHANGES[change](team, other_manager)
    assert routing_snapshot(today) is not first


@pytest.mark.django_db(transaction=True)
def test_snapshot_read_in_a_transaction_is_kept_only_if_it_commits(routing_cache_on, team):
    today = timezone.localdate()
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = routing_snapshot(today)
        raise RuntimeError("rollback")
    assert routing_snapshot(today) is not rolled_back
    snapshot_module.routing_snapshot_clear()
    with transaction.atomic():
        committed = routing_snapshot(today)
    assert routing_snapshot(today) is committed


@pytest.mark.django_db(transaction=True)
def test_changes_elsewhere_are_seen_after_the_ttl(routing_cache_on, team, monkeypatch):
    """A write without model signals stands for another process: visible once the TTL has passed."""
    today = timezone.localdate()
    first = routing_snapshot(today)
    Queue.objects.filter(pk=team.pk).update(name="Другая")
    assert routing_snapshot(today).queues[team.pk].queue.name == "Продажи"
    later = snapshot_module.time.monotonic() + 6
    monkeypatch.setattr(snapshot_module.time, "monotonic", lambda: later)
    assert routing_snapshot(today) is not first
    assert routing_snapshot(today).queues[team.pk].queue.name == "Другая"


@pytest.mark.django_db
def test_with_the_cache_off_every_call_reads_again(team):
    today = timezone.localdate()
    assert routing_snapshot(today) is not routing_snapshot(today)


@pytest.mark.django_db
def test_snapshot_reads_without_writing_when_nothing_is_configured():
    snapshot = routing_snapshot(timezone.localdate())
    assert snapshot.settings.pk is None and snapshot.fallback is None
    assert not RoutingSettings.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_routing_changes_in_this_process_reach_the_pbx_at_once(
    routing_cache_on, api_for, integration_user, admin_user, team, manager, other_manager, office_manager
):
    client = api_for(integration_user)
    contact = ContactFactory(responsible=manager)
    IdentityFactory(contact=contact, value="+79123456789")
    assert client.get(URL, {"caller": "89123456789"}).json()["destination"]["user"] == manager.pk
    today = timezone.localdate()
    Absence.objects.create(user=manager, start=today, end=today, backup=other_manager)
    body = client.get(URL, {"caller": "89123456789"}).json()
    assert body["destination"]["user"] == other_manager.pk and body["rule"].endswith(
        f"backup_of:{manager.pk}"
    )
    identity_block(actor=admin_user, kind="phone", value="+7 912 345-67-89", reason="spam")
    body = client.get(URL, {"caller": "89123456789"}).json()
    assert body["reason"] == "non_target" and body["destination"]["user"] == office_manager.pk
    # A new queue on a new line, and new settings, are answered on the next ring.
    night = queue_create(actor=admin_user, code="night", name="Ночь", members=[other_manager])
    TelephonyLine.objects.create(provider=_provider(), number="+74951112233", queue=night)
    assert client.get(URL, {"caller": "garbage", "called": "84951112233"}).json()["destination"] == {
        "kind": "queue",
        "queue": "night",
    }
    routing_settings_update(actor=admin_user, default_queue="night")
    assert client.get(URL, {"caller": ""}).json()["destination"]["queue"] == "night"
    new_person = always_at_work(UserFactory(role=Role.SALES_MANAGER, extension="150"))
    stranger = ContactFactory(responsible=new_person)
    IdentityFactory(contact=stranger, value="+79001112233")
    assert client.get(URL, {"caller": "+79001112233"}).json()["destination"]["extension"] == "150"


@pytest.mark.django_db(transaction=True)
def test_a_person_the_cached_snapshot_does_not_know_is_read_fresh(
    routing_cache_on, api_for, integration_user, team
):
    """Someone added by another process (no signal here) owns the caller: the snapshot is re-read."""
    client = api_for(integration_user)
    client.get(URL, {"caller": "garbage"})  # warm the snapshot
    (newcomer,) = User.objects.bulk_create(
        [
            User(
                username="newcomer",
                role=Role.SALES_MANAGER,
                extension="151",
                work_days=list(range(7)),
                work_start=datetime.time(0, 0),
                work_end=datetime.time(23, 59, 59),
            )
        ]
    )
    contact = ContactFactory(responsible_id=newcomer.pk)
    IdentityFactory(contact=contact, value="+79001112244")
    body = client.get(URL, {"caller": "+79001112244"}).json()
    assert body["reason"] == "contact_owner" and body["destination"]["extension"] == "151"
