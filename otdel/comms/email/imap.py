"""Talking IMAP to a mailbox with IMAPClient: connect, read a folder's UIDs and fetch messages."""

from __future__ import annotations

import contextlib
import datetime
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient

from otdel.comms.models import Mailbox
from otdel.core.conf import int_setting


@contextlib.contextmanager
def imap_connect(mailbox: Mailbox) -> Iterator[IMAPClient]:
    """A logged-in connection; TLS from the first byte (993) or upgraded with STARTTLS when offered."""
    timeout = int_setting("OTDEL_MAIL_TIMEOUT", 30)
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_ssl,
        ssl_context=context if mailbox.imap_ssl else None,
        timeout=timeout,
    )
    try:
        # Aware datetimes for INTERNALDATE, whatever the server's or our local time zone.
        client.normalise_times = False
        if not mailbox.imap_ssl and b"STARTTLS" in client.capabilities():
            client.starttls(context)
        client.login(mailbox.username, mailbox.password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()
        with contextlib.suppress(Exception):
            client.shutdown()


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None


def folder_open(client: IMAPClient, folder: str) -> FolderState:
    """Select ``folder`` read-only: reading mail must not mark it as seen for the people using it."""
    info = client.select_folder(folder, readonly=True)
    uidnext = info.get(b"UIDNEXT")
    return FolderState(uidvalidity=int(info[b"UIDVALIDITY"]), uidnext=int(uidnext) if uidnext else None)


def folder_resolve(client: IMAPClient, folder: str, special: bytes | None = None) -> str | None:
    """The folder's name on the server: as configured, else the one flagged special-use (\\Sent)."""
    if folder and client.folder_exists(folder):
        return folder
    if special is not None:
        found = client.find_special_folder(special)
        if found:
            return str(found)
    return None


def uids_after(client: IMAPClient, last_uid: int, since: datetime.date | None = None) -> list[int]:
    """UIDs above the cursor in ascending order (``N:*`` also matches the top UID, hence the filter)."""
    criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
    if since is not None:
        criteria += ["SINCE", since]
    return sorted(uid for uid in client.search(criteria) if uid > last_uid)


@dataclass
class FetchedMessage:
    uid: int
    raw: bytes
    internaldate: datetime.datetime | None
    size: int
    truncated: bool = False


def fetch_messages(client: IMAPClient, uids: list[int], max_bytes: int) -> list[FetchedMessage]:
    """Raw messages, without setting \\Seen; one larger than ``max_bytes`` comes as its header only."""
    if not uids:
        return []
    meta = client.fetch(uids, [b"RFC822.SIZE", b"INTERNALDATE"])
    small = [uid for uid in uids if int(meta.get(uid, {}).get(b"RFC822.SIZE", 0)) <= max_bytes]
    large = [uid for uid in uids if uid not in small and uid in meta]
    bodies: dict[int, bytes] = {}
    if small:
        for uid, data in client.fetch(small, [b"BODY.PEEK[]"]).items():
            bodies[uid] = data.get(b"BODY[]") or b""
    if large:
        for uid, data in client.fetch(large, [b"BODY.PEEK[HEADER]"]).items():
            bodies[uid] = data.get(b"BODY[HEADER]") or b""
    result = []
    for uid in uids:
        if uid not in meta or uid not in bodies:
            continue  # expunged meanwhile: nothing to read
        internaldate = meta[uid].get(b"INTERNALDATE")
        if isinstance(internaldate, datetime.datetime) and internaldate.tzinfo is None:
            internaldate = internaldate.replace(tzinfo=datetime.UTC)
        result.append(
            FetchedMessage(
                uid=uid,
                raw=bodies[uid],
                internaldate=internaldate if isinstance(internaldate, datetime.datetime) else None,
                size=int(meta[uid].get(b"RFC822.SIZE", 0)),
                truncated=uid in large,
            )
        )
    return result
