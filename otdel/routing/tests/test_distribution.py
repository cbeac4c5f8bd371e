"""Distribution of new target leads across a queue: round robin, least busy, absences, concurrency."""

import datetime
import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from otdel.accounts.models import Absence, Role
from otdel.accounts.tests.factories import UserFactory
from otdel.crm.models import Lead
from otdel.crm.tests.factories import ContactFactory, LeadFactory
from otdel.routing.models import Queue, QueueMember, RoutingSettings
from otdel.routing.services import routing_decide


def _team(n=5, strategy="round_robin"):
    queue = Queue.objects.create(code="sales", name="Продажи", strategy=strategy)
    users = []
    for _ in range(n):
        user = UserFactory(role=Role.SALES_MANAGER, work_days=list(range(7)))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
        QueueMember.objects.create(queue=queue, user=user)
        users.append(user)
    cfg = RoutingSettings.load()
    cfg.default_queue = queue
    cfg.save()
    return queue, users


@pytest.mark.django_db
def test_round_robin_1000_leads_skip_the_absent_and_stay_even():
    queue, users = _team()
    today = timezone.localdate()
    Absence.objects.create(
        user=users[2], start=today - datetime.timedelta(days=1), end=today + datetime.timedelta(days=5)
    )
    counts = Counter()
    for _ in range(1000):
        counts[routing_decide(contact=None, channel="form").user.pk] += 1
    assert counts[users[2].pk] == 0
    present = [counts[u.pk] for u in users if u != users[2]]
    assert sum(present) == 1000 and max(present) - min(present) <= 1


@pytest.mark.django_db
def test_round_robin_is_fair_across_restarts():
    queue, users = _team(3)
    first = [routing_decide(contact=None, channel="call").user for _ in range(2)]
    # A "restart": nothing in memory survives, the state lives in the database.
    again = [routing_decide(contact=None, channel="call").user for _ in range(4)]
    assert first + again == [users[0], users[1], users[2], users[0], users[1], users[2]]


@pytest.mark.django_db
def test_least_busy_prefers_fewer_open_leads():
    queue, users = _team(3, strategy="least_busy")
    for _ in range(3):
        LeadFactory(responsible=users[0])
    LeadFactory(responsible=users[1])
    assert routing_decide(contact=None, channel="email").user == users[2]


@pytest.mark.django_db
def test_absent_owner_backup_takes_their_client(manager, other_manager):
    for user in (manager, other_manager):
        user.work_days = list(range(7))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
    today = timezone.localdate()
    Absence.objects.create(user=manager, start=today, end=today, backup=other_manager)
    contact = ContactFactory(responsible=manager)
    decision = routing_decide(contact=contact, channel="call")
    assert decision.user == other_manager
    assert decision.reason == "contact_owner" and f"backup_of:{manager.pk}" in decision.rule


@pytest.mark.django_db
def test_queue_off_hours_goes_to_duty_person(office_manager):
    queue, users = _team(2)
    for user in users:
        user.work_days = []
        user.save()
    queue.off_hours, queue.duty_user = "duty", office_manager
    queue.save()
    assert routing_decide(contact=None, channel="call").user == office_manager
    queue.off_hours = "next_morning"
    queue.save()
    assert routing_decide(contact=None, channel="call").user in users


@pytest.mark.django_db(transaction=True)
def test_concurrent_distribution_stays_even():
    queue, users = _team(5)
    per_thread, threads = 40, 8
    results: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(per_thread):
                from django.db import transaction

                with transaction.atomic():
                    user = routing_decide(contact=None, channel="form").user
                with lock:
                    results.append(user.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    counts = Counter(results)
    assert sum(counts.values()) == per_thread * threads
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert Lead.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", ["round_robin", "least_busy"])
def test_owners_for_a_batch_are_the_picks_one_by_one_would_make(strategy):
    from otdel.routing.services import routing_owners

    queue, users = _team(3, strategy=strategy)
    LeadFactory(responsible=users[0])  # one open lead: least busy starts elsewhere
    one_by_one = [routing_decide(contact=None, channel="manual").user for _ in range(4)]
    state = list(QueueMember.objects.order_by("id").values_list("assigned_count", flat=True))
    batch = routing_owners(count=5, channel="manual")
    after_batch = [routing_decide(contact=None, channel="manual").user for _ in range(2)]

    # The same people again, from scratch, one by one.
    QueueMember.objects.update(last_assigned_at=None, assigned_count=0)
    reference = [routing_decide(contact=None, channel="manual").user for _ in range(4 + 5 + 2)]
    assert one_by_one + batch + after_batch == reference
    counts = Counter(u.pk for u in batch)
    assert list(QueueMember.objects.order_by("id").values_list("assigned_count", flat=True)) == [
        n + counts[m.user_id] + sum(1 for u in after_batch if u.pk == m.user_id)
        for n, m in zip(state, QueueMember.objects.order_by("id"), strict=True)
    ]
