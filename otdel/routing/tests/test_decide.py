"""The live PBX path (one query + snapshot) and ``routing_decide`` give the same answer, case by case."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from otdel.accounts.models import Absence
from otdel.accounts.tests.factories import UserFactory
from otdel.comms.models import TelephonyLine, TelephonyProvider
from otdel.core.identity import normalize_phone
from otdel.crm.models import Stage
from otdel.crm.selectors import contact_by_identity
from otdel.crm.tests.factories import ContactFactory, DealFactory, IdentityFactory
from otdel.routing.models import BlockedIdentity, Queue, QueueMember, RoutingSettings
from otdel.routing.selectors import live_route
from otdel.routing.services import routing_decide


def _at_work(user, days=tuple(range(7))):
    user.work_days = list(days)
    user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    user.save()
    return user


def _contact(phone, **fields):
    contact = ContactFactory(**fields)
    IdentityFactory(contact=contact, value=phone)
    return contact


@pytest.fixture
def world(manager, other_manager, office_manager, pipeline):
    """Everyone and everything the table below calls about."""
    for user in (manager, other_manager, office_manager):
        _at_work(user)
    today = timezone.localdate()
    away = _at_work(UserFactory(username="away", extension="103"))
    Absence.objects.create(user=away, start=today, end=today, backup=other_manager)
    away_alone = _at_work(UserFactory(username="away-alone", extension="104"))
    Absence.objects.create(user=away_alone, start=today, end=today)
    gone = _at_work(UserFactory(username="gone", extension="105", is_active=False))
    sleeper = _at_work(UserFactory(username="sleeper", extension="106"), days=())
    sales = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.create(queue=sales, user=manager)
    QueueMember.objects.create(queue=sales, user=other_manager)
    night = Queue.objects.create(code="night", name="Ночь", off_hours="voicemail", voicemail="vm1")
    QueueMember.objects.create(queue=night, user=sleeper)
    provider = TelephonyProvider.objects.create(kind="generic", name="PBX", key="pbx")
    TelephonyLine.objects.create(provider=provider, number="+74951112233", queue=night)
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.non_target_user, cfg.fallback_user = sales, office_manager, office_manager
    cfg.save()

    _contact("+79120000001", responsible=manager)
    deal_contact = _contact("+79120000002", responsible=manager)
    DealFactory(contact=deal_contact, pipeline=pipeline, responsible=other_manager)
    _contact("+79120000003", responsible=away)
    _contact("+79120000004", responsible=away_alone)
    _contact("+79120000005", responsible=manager, non_target=True)
    blocked_by_mail = _contact("+79120000006", responsible=manager)
    IdentityFactory(contact=blocked_by_mail, kind="email", value="spam@example.ru")
    BlockedIdentity.objects.create(kind="email", value="spam@example.ru", reason="spam")
    BlockedIdentity.objects.create(kind="phone", value="+79120000007", reason="spam")
    gone_deal = _contact("+79120000008")
    DealFactory(contact=gone_deal, pipeline=pipeline, responsible=gone)
    survivor = ContactFactory(responsible=other_manager)
    _contact("+79120000009", responsible=manager, merged_into=survivor)
    won = _contact("+79120000010")
    DealFactory(
        contact=won,
        pipeline=pipeline,
        responsible=manager,
        stage=pipeline.stages.get(kind=Stage.Kind.WON),
    )
    return {"manager": manager, "other": other_manager, "office": office_manager, "away_alone": away_alone}


# caller, called, expected reason, expected destination (user by fixture key, or queue code)
CASES = [
    ("8 912 000-00-01", "", "contact_owner", "manager"),
    ("+7 912 000 00 02", "", "open_deal", "other"),
    ("89120000003", "", "contact_owner", "other"),  # the absent owner's backup
    ("9120000004", "", "queue", "queue:sales"),  # absent, no backup: the team
    ("79120000005", "", "non_target", "office"),
    ("+79120000006", "", "non_target", "office"),  # another identity of theirs is blocked
    ("+79120000007", "", "non_target", "office"),  # a blocked number nobody owns
    ("+79120000008", "", "queue", "queue:sales"),  # the deal's owner left
    ("+79120000009", "", "contact_owner", "other"),  # merged: the surviving contact's owner
    ("+79120000010", "", "queue", "queue:sales"),  # only a won deal
    ("+79120000099", "", "queue", "queue:sales"),  # unknown
    ("garbage", "", "queue", "queue:sales"),
    ("", "", "queue", "queue:sales"),
    ("+79120000099", "8 (495) 111-22-33", "queue", "queue:night"),  # the line's own queue
    ("+79120000001", "+74951112233", "contact_owner", "manager"),
]


def _both(caller, called):
    live = live_route(caller=caller, called=called).as_dict()
    try:
        identity = ("phone", normalize_phone(caller))
    except ValidationError:
        identity = None
    contact = contact_by_identity(kind="phone", value=identity[1]) if identity else None
    line = TelephonyLine.objects.filter(number="+74951112233").first() if called else None
    decided = routing_decide(
        contact=contact, channel="call", queue=line.queue if line else None, assign=False, identity=identity
    ).as_dict()
    return live, decided


def _target(world, expected):
    if expected.startswith("queue:"):
        return {"kind": "queue", "queue": expected.split(":", 1)[1]}
    user = world[expected]
    return {"kind": "user", "user": user.pk, "extension": user.extension}


@pytest.mark.django_db
def test_live_route_and_routing_decide_agree(world):
    for caller, called, reason, expected in CASES:
        live, decided = _both(caller, called)
        assert live == decided, (caller, called)
        assert (live["reason"], live["destination"]) == (reason, _target(world, expected)), (caller, called)


@pytest.mark.django_db
def test_they_agree_without_a_default_queue_too(world):
    cfg = RoutingSettings.load()
    cfg.default_queue = None
    cfg.save()
    expected = {
        "+79120000099": ("fallback", "office"),
        "+79120000004": ("contact_owner", "away_alone"),  # owner_next_morning
        "+79120000001": ("contact_owner", "manager"),
    }
    for caller, (reason, who) in expected.items():
        live, decided = _both(caller, "")
        assert live == decided, caller
        assert (live["reason"], live["destination"]) == (reason, _target(world, who)), caller


@pytest.mark.django_db
def test_queue_answer_is_a_person_once_assigned(world):
    """The same decision with ``assign=True`` names the member and records the turn."""
    contact = contact_by_identity(kind="phone", value="+79120000004")
    decided = routing_decide(contact=contact, channel="call")
    assert decided.reason == "queue" and decided.user in (world["manager"], world["other"])
    assert decided.rule == f"queue:sales:owner_off_shift:{world['away_alone'].pk}"
    assert QueueMember.objects.filter(user=decided.user, last_assigned_at__isnull=False).exists()
    night = Queue.objects.get(code="night")
    voicemail = routing_decide(contact=None, channel="call", queue=night)
    assert voicemail.user is None and voicemail.extra == {"voicemail": "vm1"}
    assert voicemail.rule == "queue:night:voicemail"
    by_form = routing_decide(contact=None, channel="form", queue=night)
    assert by_form.user.username == "sleeper" and by_form.rule == "queue:night:next_morning"
