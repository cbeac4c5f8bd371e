"""Documents on S3-compatible storage (django-storages), against a real S3 protocol server: moto's
server mode listening on a local port, spoken to over HTTP by boto3 as AWS, MinIO or Yandex Object
Storage would be. Templates, generated files and previews land in the bucket; downloads come back
through Otdel byte for byte."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import pytest
from django.urls import reverse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from otdel.documents import services
from otdel.documents.models import Document
from otdel.documents.storage import documents_storage

pytestmark = pytest.mark.django_db
BUCKET = "otdel-documents"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_documents(settings, s3_endpoint):
    options = {
        "bucket_name": BUCKET,
        "endpoint_url": s3_endpoint,
        "access_key": "otdel-test",
        "secret_key": "otdel-test-secret",
        "region_name": "ru-central1",
        "default_acl": "private",
        "querystring_auth": True,
    }
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ru-central1"})
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    documents_storage.cache_clear()
    yield client
    documents_storage.cache_clear()


def _keys(client) -> dict[str, int]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}


def test_templates_and_documents_live_in_the_bucket(
    s3_documents, client, manager, priced_deal, invoice_template_s3, django_capture_on_commit_callbacks
):
    assert type(documents_storage()).__name__ == "S3Storage"
    assert invoice_template_s3.file in _keys(s3_documents)

    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_create(
            actor=manager, deal=priced_deal, template=invoice_template_s3, format="pdf"
        )
    document = Document.objects.get(pk=document.pk)
    assert document.status == "ready", document.error
    keys = _keys(s3_documents)
    versions = {v.format: v for v in document.versions.all()}
    assert set(versions) == {"docx", "pdf"}
    for version in versions.values():
        assert keys[version.file] == version.size
        stored = s3_documents.get_object(Bucket=BUCKET, Key=version.file)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == version.sha256
    if versions["pdf"].preview:
        assert versions["pdf"].preview in keys

    client.force_login(manager)
    pdf = client.get(reverse("documents_download", args=[document.pk]) + "?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == versions["pdf"].sha256

    # a new version is a new object: nothing in the bucket is overwritten
    with django_capture_on_commit_callbacks(execute=True):
        services.document_regenerate(actor=manager, document=document)
    after = _keys(s3_documents)
    assert set(keys) < set(after)
    assert all(after[key] == size for key, size in keys.items())


@pytest.fixture
def invoice_template_s3(s3_documents, admin_user, numbering):
    from otdel.documents.tests.conftest import DEMO

    return services.template_create(
        actor=admin_user,
        data=(DEMO / "schet_na_oplatu.docx").read_bytes(),
        filename="schet_na_oplatu.docx",
        name="Счёт на оплату",
        kind="invoice",
        numbering=numbering,
    )
