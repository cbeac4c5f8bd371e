"""Each (rule, subject, occurrence) and each SLA warning/breach runs once, whatever the number of
workers: two workers drain the same due rows at the same time (threads with their own database
connections on PostgreSQL; one after the other on SQLite, which has one writer anyway)."""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from otdel.automation import rules, sla
from otdel.automation.models import Rule, RuleRun, SlaPolicy, SlaTimer
from otdel.crm.models import Task
from otdel.crm.tests.factories import DealFactory, LeadFactory

N = 60


def _two_workers(drain):
    counts = {}

    def work(name):
        try:
            counts[name] = drain(worker=name)
        finally:
            connections.close_all()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        work("w1")
        work("w2")
    return counts


@pytest.mark.django_db(transaction=True)
def test_two_workers_run_each_rule_run_once(manager, pipeline):
    rule = Rule.objects.create(
        name="r",
        event="deal.created",
        trigger={"event": "deal.created"},
        actions=[{"action": "task", "title": "Позвонить"}],
    )
    past = timezone.now() - datetime.timedelta(minutes=1)
    deals = [DealFactory(pipeline=pipeline, responsible=manager) for _ in range(N)]
    for deal in deals:
        RuleRun.objects.create(
            rule=rule,
            subject_type="deal",
            subject_id=deal.pk,
            occurrence="o",
            event="deal.created",
            due_at=past,
        )
    counts = _two_workers(lambda worker: rules.runs_drain(worker=worker))
    assert sum(counts.values()) == N
    assert RuleRun.objects.filter(outcome="done").count() == N
    assert Task.objects.filter(title="Позвонить").count() == N
    assert {t.deal_id for t in Task.objects.filter(title="Позвонить")} == {d.pk for d in deals}


@pytest.mark.django_db(transaction=True)
def test_two_workers_fire_each_sla_breach_once(head):
    policy = SlaPolicy.objects.create(
        name="p",
        target="first_response",
        minutes=15,
        working_time=False,
        warn_at_percent=0,
        on_breach=[{"action": "notify", "to": "head_of_sales", "text": "Просрочен ответ"}],
    )
    past = timezone.now() - datetime.timedelta(minutes=1)
    for _ in range(N):
        lead = LeadFactory()
        SlaTimer.objects.create(
            policy=policy, lead=lead, key=f"lead:{lead.pk}", started_at=past, due_at=past, check_at=past
        )
    counts = _two_workers(lambda worker: sla.timers_drain())
    assert sum(counts.values()) == N
    assert SlaTimer.objects.filter(state="breached").count() == N
    assert head.notifications.filter(kind="automation").count() == N


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_neither_loses_nor_repeats(manager, pipeline, monkeypatch):
    """The first worker dies after the first of two actions (a BaseException, as a kill would stop
    it): its transaction rolls back, the run stays pending; the next worker runs both actions once."""
    rule = Rule.objects.create(
        name="r",
        event="deal.created",
        trigger={"event": "deal.created"},
        actions=[{"action": "task", "title": "Первое"}, {"action": "task", "title": "Второе"}],
    )
    deal = DealFactory(pipeline=pipeline, responsible=manager)
    RuleRun.objects.create(
        rule=rule,
        subject_type="deal",
        subject_id=deal.pk,
        occurrence="o",
        event="deal.created",
        due_at=timezone.now(),
    )
    real = rules.perform

    def dying(action, **kwargs):
        if action["title"] == "Второе":
            raise KeyboardInterrupt  # the process is going away
        return real(action, **kwargs)

    monkeypatch.setattr(rules, "perform", dying)
    with pytest.raises(KeyboardInterrupt):
        rules.runs_drain(worker="w1")
    assert RuleRun.objects.get().outcome == "pending"
    assert not Task.objects.filter(deal=deal).exists()
    monkeypatch.setattr(rules, "perform", real)
    assert rules.runs_drain(worker="w2") == 1
    assert sorted(Task.objects.filter(deal=deal).values_list("title", flat=True)) == ["Второе", "Первое"]
    assert RuleRun.objects.get().worker == "w2"


@pytest.fixture
def database_queue(settings):
    from otdel.automation.handlers_rules import outbox_wake_reset

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    outbox_wake_reset()
    yield
    outbox_wake_reset()


@pytest.mark.django_db
def test_on_the_database_queue_the_event_is_queued_with_the_change(
    database_queue, head, pipeline, django_capture_on_commit_callbacks
):
    """The event is written to the outbox in the transaction of the change: a rolled-back change
    leaves none; a committed one has one row, and a drain is queued after the commit."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from otdel.automation.models import EventOutbox
    from otdel.crm import services as crm

    Rule.objects.create(
        name="r",
        event="deal.created",
        trigger={"event": "deal.created"},
        actions=[{"action": "task", "title": "t"}],
    )
    with transaction.atomic():
        crm.deal_create(actor=head, title="rolled back", pipeline=pipeline)
        assert EventOutbox.objects.count() == 1  # written with the deal, before the commit
        transaction.set_rollback(True)
    assert EventOutbox.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        deal = crm.deal_create(actor=head, title="kept", pipeline=pipeline)
    (row,) = EventOutbox.objects.all()
    assert (row.event, row.subject_type, row.subject_id) == ("deal.created", "deal", deal.pk)
    assert DBTaskResult.objects.filter(task_path="otdel.automation.tasks.events_drain").count() == 1
    assert rules.outbox_drain() == 1 and rules.outbox_drain() == 0
    assert not EventOutbox.objects.exists()
    assert RuleRun.objects.get().subject_id == deal.pk


@pytest.mark.django_db(transaction=True)
def test_two_workers_match_each_queued_event_once(manager, pipeline):
    from otdel.automation.models import EventOutbox

    Rule.objects.create(
        name="r",
        event="deal.created",
        trigger={"event": "deal.created"},
        actions=[{"action": "task", "title": "Позвонить"}],
    )
    deals = [DealFactory(pipeline=pipeline, responsible=manager) for _ in range(N)]
    EventOutbox.objects.bulk_create(
        EventOutbox(
            event="deal.created",
            payload={"deal_id": d.pk},
            subject_type="deal",
            subject_id=d.pk,
            occurrence=f"o{d.pk}",
        )
        for d in deals
    )
    counts = _two_workers(lambda worker: rules.outbox_drain())
    assert sum(counts.values()) == N and not EventOutbox.objects.exists()
    assert RuleRun.objects.count() == N
    assert {r.subject_id for r in RuleRun.objects.all()} == {d.pk for d in deals}
