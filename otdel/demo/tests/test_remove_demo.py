"""``manage.py remove_demo`` deletes exactly what ``load_demo`` wrote; the demo routes to its queue."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from otdel.accounts.models import Role, User
from otdel.crm.models import Company, Contact, Deal, Note, Pipeline
from otdel.demo.models import DemoManifest
from otdel.documents.tests.conftest import documents_files  # noqa: F401  (autouse: files in a temporary storage)
from otdel.routing.models import Queue, RoutingSettings


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(command: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(command, stdout=out)
    return out.getvalue()


def test_the_demo_has_its_queue_and_routing_set(db):
    run("load_demo")
    cfg = RoutingSettings.load()
    queue = Queue.objects.get(code="sales")
    assert cfg.default_queue == queue
    assert set(queue.members.values_list("role", flat=True)) == {Role.SALES_MANAGER}
    assert cfg.non_target_user.role == Role.OFFICE_MANAGER
    assert cfg.fallback_user.role == Role.HEAD_OF_SALES


def test_remove_demo_deletes_the_demo_and_keeps_the_owner_and_later_records(db):
    owner = User.objects.create_superuser("root", "root@otdel.example", "own-secret-42")
    run("load_demo")
    assert Deal.objects.exists() and DemoManifest.objects.count() == 1
    own = Company.objects.create(name="ООО Настоящий клиент")  # real data made after the demo
    deal = Deal.objects.first()
    Note.objects.create(deal=deal, body="Заметка на демо-сделке")  # belongs to a demo record

    output = run("remove_demo")

    assert "Demo data removed" in output and "crm.Note: 1" in output
    assert not Note.objects.exists()
    assert list(User.objects.all()) == [owner]
    assert list(Company.objects.all()) == [own]
    assert not Contact.objects.exists() and not Deal.objects.exists() and not Pipeline.objects.exists()
    assert not Queue.objects.exists() and not DemoManifest.objects.exists()
    with pytest.raises(CommandError, match="No demo data"):
        run("remove_demo")


def test_remove_demo_refuses_when_real_records_refer_to_the_demo(db):
    run("load_demo")
    deals = Deal.objects.count()
    pipeline = Pipeline.objects.get(is_default=True)
    contact = Contact.objects.filter(merged_into__isnull=True).first()
    Deal.objects.create(
        title="Настоящая сделка",
        pipeline=pipeline,
        stage=pipeline.stages.first(),
        contact=contact,
        responsible=User.objects.get(username="ivanov"),
    )
    with pytest.raises(CommandError, match="Nothing was removed"):
        run("remove_demo")
    assert Deal.objects.count() == deals + 1 and DemoManifest.objects.exists()


def test_ensure_admin_makes_the_first_administrator_once(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-secret-42")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "boss@otdel.example")
    run("ensure_admin")
    boss = User.objects.get(username="boss")
    assert boss.is_admin and boss.check_password("a-long-secret-42")
    run("ensure_admin")  # an administrator exists: nothing asked, nothing made
    assert User.objects.count() == 1


def test_remove_demo_deletes_the_files_only_demo_records_named(
    db, settings, tmp_path, django_capture_on_commit_callbacks
):
    from otdel.documents.models import DocumentTemplate
    from otdel.documents.storage import file_save

    settings.MEDIA_ROOT = tmp_path / "media"
    run("load_demo")
    demo_files = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert demo_files, "the demo stores its document templates"
    real = DocumentTemplate.objects.create(
        name="Наш договор", kind="contract", file=file_save("templates", "наш.docx", b"PK real"), size=7
    )
    with django_capture_on_commit_callbacks(execute=True):
        output = run("remove_demo")
    left = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert [p.name for p in left] == ["наш.docx"] and DocumentTemplate.objects.get() == real
    assert f"Files of the demo deleted: {len(demo_files)}." in output
