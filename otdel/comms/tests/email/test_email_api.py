"""Mailbox settings through the API (admin only, password write-only), sync status, sync_mail, the periodic job."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from otdel.comms.email.tasks import mail_sync_all, mail_sync_schedule
from otdel.comms.models import Interaction, Mailbox
from otdel.comms.tests.email.support.fixtures import (
    ADDRESS,
)
from otdel.comms.tests.email.support.messages import encoded_word, message
from otdel.core.models import ObjectChange
from otdel.routing.models import Queue

URL = "/api/v1/mailboxes"


def _payload(imap, **overrides):
    return {
        "address": "Info@Otdel.test",
        "imap_host": imap.host,
        "imap_port": imap.port,
        "imap_ssl": False,
        "username": imap.username,
        "password": imap.password,
        "smtp_host": "smtp.otdel.test",
        "smtp_port": 587,
        "queue": "email-sales",
        **overrides,
    }


@pytest.mark.django_db
def test_admin_connects_a_mailbox_and_the_password_never_comes_back(imap, admin_user, api_for, media):
    Queue.objects.create(code="email-sales", name="Почта")
    client = api_for(admin_user)
    response = client.post(URL, _payload(imap), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "password" not in body
    assert (body["address"], body["queue"], body["status"], body["last_sync_at"]) == (
        "info@otdel.test",
        "email-sales",
        "never",
        None,
    )
    assert (body["smtp_ssl"], body["smtp_starttls"]) == (False, True)  # 587 means STARTTLS
    mailbox = Mailbox.objects.get()
    assert mailbox.password == imap.password
    # Not in the change log either.
    changes = ObjectChange.objects.filter(object_id=mailbox.pk, content_type__model="mailbox")
    assert changes.exists() and all("password" not in change.changes for change in changes)
    assert imap.password not in str(list(changes.values_list("changes", flat=True)))

    listed = client.get(URL).json()["results"]
    assert [m["address"] for m in listed] == ["info@otdel.test"] and "password" not in listed[0]
    again = client.post(URL, _payload(imap, address="INFO@otdel.test"), format="json")
    assert again.status_code == 409 and again.json()["code"] == "mailbox_exists"
    bad = client.post(URL, _payload(imap, address="not-an-address", queue="nope", password=""), format="json")
    assert bad.status_code == 400 and {"address", "password"} <= set(bad.json()["errors"])


@pytest.mark.django_db
def test_patch_keeps_the_password_unless_given_and_checks_the_version(mailbox, admin_user, api_for):
    client = api_for(admin_user)
    version = client.get(f"{URL}/{mailbox.pk}").json()["version"]
    response = client.patch(
        f"{URL}/{mailbox.pk}",
        {"sent_folder": "Отправленные", "password": "", "version": version},
        format="json",
    )
    assert response.status_code == 200, response.content
    mailbox.refresh_from_db()
    assert mailbox.sent_folder == "Отправленные" and mailbox.password == "imap-secret"
    assert client.patch(f"{URL}/{mailbox.pk}", {"password": "new-secret"}, format="json").status_code == 200
    mailbox.refresh_from_db()
    assert mailbox.password == "new-secret"
    stale = client.patch(f"{URL}/{mailbox.pk}", {"is_active": False, "version": version}, format="json")
    assert stale.status_code == 409


@pytest.mark.django_db
def test_mailboxes_are_for_administrators_only(mailbox, manager, head, api_for):
    for user in (manager, head):
        client = api_for(user)
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}/{mailbox.pk}").status_code == 403
        assert client.post(f"{URL}/{mailbox.pk}/sync").status_code == 403
    assert api_for(None).get(URL).status_code == 401


@pytest.mark.django_db
def test_sync_now_shows_status_and_last_error(imap, mailbox, admin_user, api_for):
    imap.append(
        "INBOX",
        message(
            sender="c@example.ru", subject=encoded_word("Заявка", "koi8-r"), body="x", message_id="<n1@e>"
        ),
    )
    client = api_for(admin_user)
    response = client.post(f"{URL}/{mailbox.pk}/sync")
    assert response.status_code == 202
    assert response.json()["status"] == "done" and response.json()["result"]["created"] == 1
    detail = client.get(f"{URL}/{mailbox.pk}").json()
    assert detail["status"] == "ok" and detail["last_sync_at"] is not None
    assert {f["folder"] for f in detail["folders"]} == {"INBOX", "Sent"}

    Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=1)  # the server is gone
    assert client.post(f"{URL}/{mailbox.pk}/sync").json()["result"]["errors"]
    detail = client.get(f"{URL}/{mailbox.pk}").json()
    assert detail["status"] == "error" and "Cannot talk to the IMAP server" in detail["last_error"]
    assert detail["last_error_at"] >= detail["last_sync_at"]


@pytest.mark.django_db
def test_sync_mail_command_prints_one_line_per_mailbox(imap, mailbox):
    Mailbox.objects.create(
        address="dead@otdel.test",
        imap_host="127.0.0.1",
        imap_port=1,
        imap_ssl=False,
        username="u",
        password="p",
    )
    Mailbox.objects.create(
        address="off@otdel.test",
        imap_host="127.0.0.1",
        imap_port=1,
        username="u",
        password="p",
        is_active=False,
    )
    imap.append("INBOX", message(sender="c@example.ru", subject="Привет", body="x", message_id="<c1@e>"))
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_mail", stdout=out, stderr=err)
    assert out.getvalue().splitlines() == [
        f"{ADDRESS}: 1 new, 0 already known, 0 skipped, 0 unreadable, 0 to retry"
    ]
    (line,) = err.getvalue().splitlines()
    assert line.startswith("dead@otdel.test: 0 new") and "Cannot talk to the IMAP server 127.0.0.1:1" in line

    out = io.StringIO()
    call_command(
        "sync_mail", "--loop", "--interval", "0", "--max-runs", "2", "--mailbox", ADDRESS, stdout=out
    )
    assert (
        out.getvalue().splitlines()
        == [f"{ADDRESS}: 0 new, 0 already known, 0 skipped, 0 unreadable, 0 to retry"] * 2
    )
    assert Interaction.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the real worker commits and closes connections
def test_periodic_job_polls_and_queues_its_next_run_once(imap, mailbox, settings):
    from django_tasks_db.models import DBTaskResult

    imap.append("INBOX", message(sender="c@example.ru", subject="Раз", body="x", message_id="<p1@e>"))
    # Inline backend (tests): a one-off run works; it cannot run anything later.
    result = mail_sync_all.enqueue()
    assert result.return_value[0]["created"] == 1
    assert mail_sync_schedule() is False

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.OTDEL_MAIL_POLL_SECONDS = 60
    assert mail_sync_schedule(delay=0) is True
    assert mail_sync_schedule() is True  # already queued: not twice
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    imap.append("INBOX", message(sender="c@example.ru", subject="Два", body="x", message_id="<p2@e>"))
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    assert Interaction.objects.count() == 2
    done = DBTaskResult.objects.get(status="SUCCESSFUL")
    assert done.return_value[0]["created"] == 1
    following = DBTaskResult.objects.get(status="READY")  # the next poll, a minute later
    assert 50 <= (following.run_after - timezone.now()).total_seconds() <= 61
