"""Destruction leaves no trace of the person: not in any table, not in any file; only the act keeps
the name. Statistics (counts of leads, deals, calls) stay right; a later call starts a new contact."""

import datetime
import os

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from otdel.comms.models import Attachment, IntakeLog, Interaction
from otdel.comms.services import InboundEvent, ingest_event
from otdel.crm.models import Contact, Deal, Identity, Lead
from otdel.crm.services import contact_create, contact_update, deal_create, note_create, task_create
from otdel.privacy.access import pd_access_record
from otdel.privacy.destruction import contact_destroy
from otdel.privacy.models import AccessAction, DestructionAct, Tombstone
from otdel.privacy.services import consent_purpose_upsert, consent_record, subject_request_create
from otdel.routing.models import BlockedIdentity, RoutingDecision

PHONE = "+79161234567"
EMAIL = "petrov.secret@example.org"
NAME = "Петров Пётр Секретович"
NOTE = "Заметка-маркер про клиента QZX"
MESSAGE = "Письмо-маркер с вопросом WVY"
MARKERS = [PHONE, "9161234567", EMAIL, NOTE, MESSAGE, "QZX", "WVY"]


def dump_database() -> str:
    """Every row of every table as text (a database dump, portable across SQLite and PostgreSQL)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.append(f"{table}: {row!r}")
    text = "\n".join(chunks)
    # JSON columns may keep non-ASCII text escaped: decode those too before grepping.
    return text + "\n" + text.encode().decode("unicode_escape", errors="ignore")


def files_under(root) -> dict[str, bytes]:
    found = {}
    for base, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as fh:
                found[path] = fh.read()
    return found


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def person(admin_user, manager, pipeline, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(
            actor=manager,
            full_name=NAME,
            identities=[("phone", "8 916 123-45-67"), ("email", EMAIL)],
            comment=f"Звонить после 18, {PHONE}",
        )
        contact_update(actor=manager, contact=contact, position="Директор QZX")
        call = ingest_event(
            InboundEvent(
                provider="generic",
                kind="call",
                channel="call",
                occurred_at=timezone.now() - datetime.timedelta(days=3),
                external_id="call-1",
                identity_kind="phone",
                identity_value="89161234567",
                caller="89161234567",
                called="+74950000000",
                call_event="ended",
                call_status="answered",
                duration=40,
            )
        ).interaction
        call.recording_file.save("rec.mp3", ContentFile(f"ID3 voice of {PHONE}".encode()))
        mail = ingest_event(
            InboundEvent(
                provider="imap",
                kind="email",
                channel="email",
                occurred_at=timezone.now() - datetime.timedelta(days=2),
                external_id="<m1@example.org>",
                identity_kind="email",
                identity_value=EMAIL,
                contact_name=NAME,
                subject="Вопрос WVY",
                body=MESSAGE,
                payload={"from": f"{NAME} <{EMAIL}>"},
            )
        ).interaction
        Attachment.objects.create(
            interaction=mail,
            file=ContentFile(f"Паспорт {NAME}".encode(), name="scan.txt"),
            filename="scan QZX.txt",
        )
        IntakeLog.objects.create(provider="generic", body=f'{{"caller": "{PHONE}"}}', interaction=call)
        IntakeLog.objects.create(provider="generic", status="failed", body=f'{{"caller": "{PHONE}", "x": 1}}')
        RoutingDecision.objects.create(
            channel="call", input={"caller": PHONE}, contact=contact, reason="queue"
        )
        BlockedIdentity.objects.create(kind="phone", value=PHONE, reason="spam")
        note_create(actor=manager, body=NOTE, contact=contact)
        deal = deal_create(actor=manager, title=f"Поставка для {NAME}", contact=contact, amount="1500.00")
        task_create(actor=manager, title=f"Перезвонить {NAME}", contact=contact, description=NOTE)
        purpose = consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Согласен").purpose
        consent_record(
            contact=contact,
            purpose=purpose,
            text=purpose.current_text,
            given_at=timezone.now(),
            ip="203.0.113.9",
            user_agent="Firefox QZX",
        )
        subject_request_create(
            actor=admin_user,
            kind="deletion",
            received_at=timezone.now(),
            contact=contact,
            details=f"Удалите {EMAIL}",
        )
        pd_access_record(user=manager, action=AccessAction.SEARCH, query=PHONE, contact=contact)
    return {"contact": Contact.objects.get(pk=contact.pk), "deal": deal, "call": call, "mail": mail}


@pytest.mark.django_db
def test_destruction_leaves_no_trace_in_the_database_or_the_files(
    admin_user, person, media, django_capture_on_commit_callbacks
):
    before = dump_database()
    assert all(marker in before for marker in [*MARKERS, NAME])  # the fixture really put everything in
    files_before = files_under(media)
    assert any(PHONE.encode() in data for data in files_before.values())

    with django_capture_on_commit_callbacks(execute=True):
        act = contact_destroy(actor=admin_user, contact=person["contact"], reason="Требование субъекта")

    dump = dump_database()
    for marker in MARKERS:
        assert marker not in dump, marker
    # The name remains in the act only (order 179).
    name_rows = [line for line in dump.splitlines() if NAME in line]
    assert name_rows and all(line.startswith("privacy_destructionact") for line in name_rows)
    for path, data in files_under(media).items():
        for marker in [PHONE, EMAIL, NAME, "QZX"]:
            assert marker.encode() not in data, (path, marker)
    assert act.pdf.name and (media / act.pdf.name).read_bytes().startswith(b"%PDF")


@pytest.mark.django_db
def test_statistics_stay_and_the_act_has_order_179_fields(
    admin_user, person, django_capture_on_commit_callbacks
):
    contact = person["contact"]
    counts = (
        Lead.objects.filter(contact=contact).count(),
        Deal.objects.filter(contact=contact).count(),
        Interaction.objects.filter(contact=contact).count(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        act = contact_destroy(actor=admin_user, contact=contact, reason="Истёк срок хранения")
    assert counts == (
        Lead.objects.filter(contact=contact).count(),
        Deal.objects.filter(contact=contact).count(),
        Interaction.objects.filter(contact=contact).count(),
    )
    deal = Deal.objects.get(pk=person["deal"].pk)
    assert str(deal.amount) == "1500.00" and NAME not in deal.title
    call = Interaction.objects.get(pk=person["call"].pk)
    assert (call.kind, call.status, call.duration) == ("call", "answered", 40)
    assert not Identity.objects.filter(contact=contact).exists()
    act = DestructionAct.objects.get(pk=act.pk)
    assert act.subject_name == NAME
    assert act.reason == "Истёк срок хранения" and act.destroyed_by_name and act.information_system
    assert act.method and act.categories and act.keep_until.year == act.destroyed_at.year + 3
    assert act.event_log[0]["subject"] == NAME


@pytest.mark.django_db
def test_a_later_call_from_the_same_phone_starts_a_new_contact(
    admin_user, person, django_capture_on_commit_callbacks
):
    old = person["contact"]
    with django_capture_on_commit_callbacks(execute=True):
        contact_destroy(actor=admin_user, contact=old, reason="Требование субъекта")
    assert Tombstone.objects.filter(kind="identity").count() == 2
    # The same provider event delivered again does not write onto the anonymous record.
    again = ingest_event(
        InboundEvent(
            provider="generic",
            kind="call",
            channel="call",
            occurred_at=timezone.now(),
            external_id="call-1",
            identity_kind="phone",
            identity_value=PHONE,
            caller=PHONE,
            call_event="ringing",
        )
    )
    assert again.created and again.interaction.contact_id != old.pk
    new = again.interaction.contact
    assert new.full_name != NAME and new.identities.get().value == PHONE
    assert not new.notes.exists() and not new.deals.exists()
    assert Interaction.objects.filter(contact=new).count() == 1
    assert Tombstone.objects.filter(kind="identity", seen_again=1).count() == 1


@pytest.mark.django_db
def test_destroy_needs_a_reason(admin_user, person):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        contact_destroy(actor=admin_user, contact=person["contact"], reason=" ")
    assert Contact.objects.get(pk=person["contact"].pk).full_name == NAME


@pytest.mark.django_db
def test_destroying_twice_is_refused(admin_user, person, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    with django_capture_on_commit_callbacks(execute=True):
        act = contact_destroy(actor=admin_user, contact=person["contact"], reason="Требование субъекта")
    with pytest.raises(ValidationError) as refused:
        contact_destroy(actor=admin_user, contact=person["contact"], reason="Ещё раз")
    assert act.number in str(refused.value)
    assert DestructionAct.objects.count() == 1
