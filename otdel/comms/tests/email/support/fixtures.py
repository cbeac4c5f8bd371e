"""pytest fixtures of the e-mail tests: import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otdel.comms.models import Mailbox
from otdel.comms.tests.email.support.servers import CuttableProxy, ImapServer, SmtpServer, run_pymap, run_smtp

ADDRESS = "sales@otdel.test"


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    with run_pymap() as server:
        yield server


@pytest.fixture
def imap(imap_server: ImapServer) -> ImapServer:
    """The IMAP server with an empty INBOX and an empty Sent folder."""
    imap_server.reset("Sent")
    return imap_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with run_smtp() as server:
        yield server


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def mailbox(db, imap: ImapServer, media) -> Mailbox:
    return Mailbox.objects.create(
        address=ADDRESS,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_ssl=False,
        username=imap.username,
        password=imap.password,
        smtp_host="",
        sent_folder="Sent",
    )


@pytest.fixture
def proxy(imap: ImapServer) -> Iterator[CuttableProxy]:
    """A connection to the IMAP server that the test can take down."""
    cuttable = CuttableProxy(imap.host, imap.port)
    try:
        yield cuttable
    finally:
        cuttable.close()
