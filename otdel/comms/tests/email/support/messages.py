"""Raw RFC 5322 messages as real mail programs write them, byte for byte, in the charsets of the wild."""

from __future__ import annotations

import base64
import quopri
from email.utils import formatdate

CRLF = b"\r\n"


def encoded_word(text: str, charset: str, encoding: str = "B") -> str:
    """An RFC 2047 encoded word: ``=?koi8-r?B?...?=``."""
    data = text.encode(charset)
    if encoding.upper() == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    quoted = "".join(
        chr(b) if (chr(b).isalnum() and b < 128) else ("_" if b == 32 else f"={b:02X}") for b in data
    )
    return f"=?{charset}?Q?{quoted}?="


def _headers(fields: list[tuple[str, str | bytes]]) -> bytes:
    lines = []
    for name, value in fields:
        # Non-ASCII text goes in as raw UTF-8, as RFC 6532 (internationalized mail) allows.
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        lines.append(name.encode("ascii") + b": " + raw)
    return CRLF.join(lines) + CRLF


def message(
    *,
    sender: str,
    to: str = "sales@otdel.test",
    subject: str | bytes = "",
    body: str = "",
    charset: str = "utf-8",
    declared_charset: str | None = "",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: str | None = None,
    transfer_encoding: str = "8bit",
    content_type: str = "text/plain",
    extra_headers: list[tuple[str, str | bytes]] | None = None,
    attachments: list[tuple[bytes, bytes, str]] | None = None,
) -> bytes:
    """A message with one text part (``body`` encoded in ``charset``) and optional attachments.

    ``subject`` and ``sender`` go in as given (already encoded words, or raw bytes for the broken
    senders that write 8-bit headers). ``declared_charset``: "" declares ``charset``, None declares
    nothing, any other value is a (possibly lying) declaration. ``attachments``: (MIME headers without
    the blank line, bytes, transfer encoding "base64").
    """
    fields: list[tuple[str, str | bytes]] = [("From", sender), ("To", to)]
    if subject:
        fields.append(("Subject", subject))
    fields.append(("Date", date or formatdate(localtime=False)))
    if message_id:
        fields.append(("Message-ID", message_id))
    if in_reply_to:
        fields.append(("In-Reply-To", in_reply_to))
    if references:
        fields.append(("References", references))
    fields += extra_headers or []
    fields.append(("MIME-Version", "1.0"))

    declared = charset if declared_charset == "" else declared_charset
    text_type = content_type + (f"; charset={declared}" if declared else "")
    data = body.encode(charset)
    if transfer_encoding == "base64":
        encoded = base64.encodebytes(data).replace(b"\n", CRLF)
    elif transfer_encoding == "quoted-printable":
        encoded = quopri.encodestring(data).replace(b"\n", CRLF)
    else:
        encoded = data.replace(b"\n", CRLF)
    text_part = _headers([("Content-Type", text_type), ("Content-Transfer-Encoding", transfer_encoding)])
    if not attachments:
        return _headers(fields) + text_part + CRLF + encoded + CRLF

    boundary = b"=_otdel_test_boundary_42"
    out = _headers([*fields, ("Content-Type", b'multipart/mixed; boundary="' + boundary + b'"')]) + CRLF
    out += b"This is a multi-part message in MIME format." + CRLF
    out += b"--" + boundary + CRLF + text_part + CRLF + encoded + CRLF
    for part_headers, content, _encoding in attachments:
        out += b"--" + boundary + CRLF + part_headers.rstrip(CRLF) + CRLF
        out += b"Content-Transfer-Encoding: base64" + CRLF + CRLF
        out += base64.encodebytes(content).replace(b"\n", CRLF)
    out += b"--" + boundary + b"--" + CRLF
    return out


def attachment(content_type: str, disposition: bytes, content: bytes) -> tuple[bytes, bytes, str]:
    """One attachment part: ``disposition`` is the raw Content-Disposition value (any filename style)."""
    return (
        b"Content-Type: " + content_type.encode() + CRLF + b"Content-Disposition: " + disposition,
        content,
        "base64",
    )


def html_message(*, sender: str, subject: str, html: str, message_id: str, charset: str = "utf-8") -> bytes:
    return message(
        sender=sender,
        subject=encoded_word(subject, charset),
        body=html,
        charset=charset,
        content_type="text/html",
        message_id=message_id,
        transfer_encoding="quoted-printable",
    )
