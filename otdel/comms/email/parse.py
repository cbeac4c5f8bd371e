"""Parsing raw RFC 5322 mail as it arrives in the wild: any charset, lying declarations, MIME parts."""

from __future__ import annotations

import codecs
import datetime
import email
import email.policy
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

# Names seen in real mail that Python's codec registry does not know, or knows under another name.
CHARSET_ALIASES = {
    "win-1251": "cp1251",
    "win1251": "cp1251",
    "cp-1251": "cp1251",
    "windows1251": "cp1251",
    "x-cp1251": "cp1251",
    "koi8r": "koi8-r",
    "koi8": "koi8-r",
    "x-koi8-r": "koi8-r",
    "koi8u": "koi8-u",
    "x-mac-cyrillic": "mac-cyrillic",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
# Single-byte Cyrillic code pages decode any byte, so a wrong label never fails loudly: the text is
# scored instead, and the label only wins a tie.
CYRILLIC_SINGLE_BYTE = {"cp1251", "koi8-r", "koi8-u", "iso8859-5", "cp866", "mac-cyrillic"}
_SINGLE_BYTE_PREFIXES = ("ascii", "cp12", "cp8", "iso8859", "koi8", "mac-", "latin")
_CYR_LOWER = re.compile(r"[а-яё]")
_CYR_UPPER = re.compile(r"[А-ЯЁ]")
_LETTER = re.compile(r"[^\W\d_]")
# What a wrong Cyrillic decoding produces: pseudo-graphics, controls, replacement characters.
_GARBAGE = re.compile(r"[\u2500-\u25ff\u0080-\u009f\ufffd\u00a4-\u00bf]")
_MSGID = re.compile(r"<[^<>]+>")
_SURROGATES = re.compile(r"[\ud800-\udfff]")

MAX_HEADERS = 100
MAX_HEADER_CHARS = 2000


class MailParseError(Exception):
    """The bytes are not a mail message we can read; they never will be (the same bytes come again)."""


def codec_name(charset: str | None) -> str | None:
    """Python's codec name for a declared MIME charset, or None when it is missing or unknown."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*ru
    name = CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _score(text: str) -> float:
    """How much ``text`` looks like real (mostly lower-case) Russian, per character."""
    if not text:
        return 0.0
    lower = len(_CYR_LOWER.findall(text))
    upper = len(_CYR_UPPER.findall(text))
    garbage = len(_GARBAGE.findall(text))
    return (lower - 0.6 * upper - 3 * garbage) / len(text)


def _cyrillic_share(text: str) -> float:
    letters = len(_LETTER.findall(text))
    if not letters:
        return 0.0
    return (len(_CYR_LOWER.findall(text)) + len(_CYR_UPPER.findall(text))) / letters


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text of ``data`` declared as ``charset``; a missing, unknown or lying declaration is guessed around.

    Order: pure ASCII as is; valid UTF-8 unless a multi-byte charset is declared; a declared
    multi-byte charset when it decodes; single-byte Cyrillic candidates scored against each other
    when the text looks Russian; else the declared charset or windows-1252, never an exception.
    """
    if not data:
        return ""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        pass
    declared = codec_name(charset)
    single_byte = declared is None or declared.startswith(_SINGLE_BYTE_PREFIXES)
    if single_byte or declared == "utf-8":
        # Real single-byte text is practically never valid UTF-8, while UTF-8 labelled as
        # windows-1251 or latin-1 is a common mistake of web forms and scripts.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if declared is not None and not single_byte and declared not in ("utf-8", "utf-7"):
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    candidates: list[str] = []
    if declared in CYRILLIC_SINGLE_BYTE:
        candidates.append(declared)
    candidates += [c for c in ("cp1251", "koi8-r") if c not in candidates]
    best, best_score = "", float("-inf")
    for candidate in candidates:
        text = data.decode(candidate, errors="replace")
        score = _score(text)
        if score > best_score + 0.02:  # the declared one (first) wins near-ties
            best, best_score = text, score
    if declared in CYRILLIC_SINGLE_BYTE or _cyrillic_share(best) >= 0.5:
        return best
    # Not Russian after all: the declared Western charset, or windows-1252, which maps every byte.
    fallback = declared if declared and declared not in ("ascii", "utf-8", "utf-7") else "cp1252"
    return data.decode(fallback, errors="replace")


def clean_text(text: str) -> str:
    """Text safe for every database: no NUL bytes, no lone surrogates."""
    text = text.replace("\x00", "")
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def _raw_header_text(raw: str, hint: str | None = None) -> str:
    """A raw header value as text: undeclared 8-bit bytes (kept as surrogates by the parser) decoded."""
    if _SURROGATES.search(raw):
        return decode_bytes(raw.encode("utf-8", "surrogateescape"), hint)
    return raw


def decode_header_value(raw: str | None, hint: str | None = None) -> str:
    """A header as people read it: encoded words (=?koi8-r?B?...?=) of any charset, raw 8-bit bytes.

    Adjacent encoded words in one charset are joined before decoding, so a character split across
    two of them (common with long UTF-8 subjects) survives.
    """
    if not raw:
        return ""
    text = _raw_header_text(str(raw), hint)
    try:
        chunks = decode_header(text)
    except Exception:  # a malformed encoded word: show it as written rather than lose the header
        chunks = [(text, None)]
    out: list[str] = []
    pending = b""
    pending_charset: str | None = None

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(pending, pending_charset or hint))
        pending, pending_charset = b"", None

    for chunk, charset in chunks:
        if isinstance(chunk, str):
            flush()
            out.append(chunk)
            continue
        if charset is None:
            flush()
            out.append(decode_bytes(chunk, hint))
            continue
        if pending and charset != pending_charset:
            flush()
        pending += chunk
        pending_charset = charset
    flush()
    value = "".join(out)
    value = re.sub(r"\s*\r?\n\s*", " ", value)
    return clean_text(value).strip()


@dataclass(frozen=True)
class MailAddress:
    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


def parse_addresses(raw: str | None, hint: str | None = None) -> list[MailAddress]:
    """Addresses of a To/From/Cc header; display names decoded, addresses lower-cased."""
    if not raw:
        return []
    text = _raw_header_text(str(raw), hint).replace("\r", " ").replace("\n", " ")
    result: list[MailAddress] = []
    for name, address in getaddresses([text]):
        address = address.strip().strip("<>").lower()
        if "@" not in address or " " in address:
            continue
        result.append(MailAddress(decode_header_value(name, hint).strip("\"' "), clean_text(address)))
    return result


def normalize_message_id(raw: str | None) -> str:
    """``<id@host>`` as written, without surrounding comments and whitespace; "" when absent."""
    if not raw:
        return ""
    match = _MSGID.search(raw)
    if match:
        return re.sub(r"\s+", "", match.group(0))[:500]
    value = raw.strip()
    return f"<{value}>"[:500] if value and " " not in value else ""


def message_ids(raw: str | None) -> list[str]:
    return [re.sub(r"\s+", "", m) for m in _MSGID.findall(raw or "")]


class _TextExtractor(HTMLParser):
    """Readable text of an HTML body: blocks become lines, scripts and styles vanish."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the parser is lenient; this is only belt and braces
        return re.sub(r"<[^>]+>", " ", html)
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    message_id: str
    subject: str
    sender: MailAddress | None
    to: list[MailAddress]
    cc: list[MailAddress]
    reply_to: list[MailAddress]
    date: datetime.datetime | None
    in_reply_to: str
    references: list[str]
    text: str
    html: str
    attachments: list[MailAttachment] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    auto_submitted: bool = False
    fingerprint: str = ""

    @property
    def thread_root(self) -> str:
        """The first message of the thread as this message knows it (References starts with the root)."""
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id

    @property
    def dedupe_id(self) -> str:
        """Message-ID, or a hash of the headers and text when the sender left it out."""
        return self.message_id or f"sha256:{self.fingerprint}"


def _header(raw: dict[str, str], name: str) -> str:
    return raw.get(name.lower(), "")


def _part_charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _param_from_raw(raw_value: str, param: str, header: str, hint: str | None) -> str:
    """A Content-Disposition/Content-Type parameter read from the raw header (8-bit, RFC 2231)."""
    holder = Message()
    holder[header] = _raw_header_text(raw_value, hint)
    value = holder.get_param(param, header=header)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text as latin-1 code points)
        charset, _language, text = value
        try:
            return decode_bytes(text.encode("latin-1"), charset or hint)
        except UnicodeEncodeError:
            return text
    return value or ""


def _part_filename(part: Message, hint: str | None) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if name and "\ufffd" not in name and not _SURROGATES.search(name):
        return decode_header_value(name, hint) if "=?" in name else clean_text(name)
    raw = {k.lower(): v for k, v in part.raw_items()}
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        if header in raw:
            value = _param_from_raw(raw[header], param, header, hint)
            if value:
                return decode_header_value(value, hint) if "=?" in value else clean_text(value)
    return clean_text(name)


def _leaves(part: Message) -> list[Message]:
    """Leaf parts in order; an attached message (message/rfc822) stays whole, as one attachment."""
    if part.get_content_maintype() == "message" and part.get_content_subtype() in ("rfc822", "global"):
        return [part]
    if part.is_multipart():
        leaves: list[Message] = []
        for sub in part.get_payload():
            if isinstance(sub, Message):
                leaves += _leaves(sub)
        return leaves
    return [part]


def _attached_message(part: Message, hint: str | None) -> MailAttachment:
    inner = part.get_payload(0) if part.is_multipart() else None
    data = b""
    subject = ""
    if isinstance(inner, Message):
        try:
            data = inner.as_bytes(policy=email.policy.compat32)
        except Exception:
            data = inner.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")
        raw = {k.lower(): v for k, v in inner.raw_items()}
        subject = decode_header_value(raw.get("subject"), hint)
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    name = _part_filename(part, hint) or (re.sub(r'[\\/:*?"<>|]+', " ", subject).strip()[:80] or "message")
    if not name.lower().endswith(".eml"):
        name += ".eml"
    return MailAttachment(name, "message/rfc822", data)


def _bounded(ids: list[str], limit: int = 50) -> list[str]:
    """A long References chain, shortened in the middle: the root (first) and the nearest stay."""
    return ids if len(ids) <= limit else [ids[0], *ids[-(limit - 1) :]]


def _auto_submitted(raw: dict[str, str], content_type: str) -> bool:
    auto = _header(raw, "auto-submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(raw, "x-autoreply") or _header(raw, "x-autorespond"):
        return True
    if _header(raw, "precedence").strip().lower() in ("auto_reply", "auto-reply"):
        return True
    return content_type == "multipart/report"


def parse_message(raw: bytes) -> ParsedMail:
    """Read one raw message; MailParseError when the bytes are not a message at all."""
    if not raw or not raw.strip():
        raise MailParseError("empty message")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    items = list(msg.raw_items())
    if not items:
        raise MailParseError("no header fields: not an RFC 5322 message")
    raw_headers: dict[str, str] = {}
    for name, value in items:
        raw_headers.setdefault(name.lower(), value)
    # Undeclared 8-bit headers are most likely in the charset of the body.
    hint = _part_charset(msg)
    if hint is None:
        for leaf in _leaves(msg):
            if leaf.get_content_maintype() == "text" and _part_charset(leaf):
                hint = _part_charset(leaf)
                break

    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[MailAttachment] = []
    for part in _leaves(msg):
        content_type = part.get_content_type()
        if part.get_content_maintype() == "message":
            attachments.append(_attached_message(part, hint))
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_content_maintype() == "multipart":
            # A multipart whose boundary never comes (broken, or only the header was fetched):
            # whatever it holds is shown as text rather than lost.
            if data.strip():
                texts.append(clean_text(decode_bytes(data, hint)).replace("\r\n", "\n"))
            continue
        disposition = part.get_content_disposition()
        filename = _part_filename(part, hint)
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = clean_text(decode_bytes(data, _part_charset(part) or hint))
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            (htmls if content_type == "text/html" else texts).append(text)
            continue
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            filename = f"attachment-{len(attachments) + 1}{extension}"
        content_id = normalize_message_id(str(part.get("Content-ID", "") or ""))
        attachments.append(
            MailAttachment(
                filename=filename[:255],
                content_type=content_type[:120],
                data=data,
                content_id=content_id,
                inline=disposition == "inline",
            )
        )

    html = "\n".join(h for h in htmls if h.strip())
    text = "\n".join(t.strip("\n") for t in texts if t.strip()).rstrip()
    if not text.strip() and html:
        text = html_to_text(html)
    senders = parse_addresses(_header(raw_headers, "from"), hint) or parse_addresses(
        _header(raw_headers, "sender"), hint
    )
    date = None
    date_raw = _header(raw_headers, "date")
    if date_raw:
        try:
            date = parsedate_to_datetime(_raw_header_text(date_raw))
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=datetime.UTC)
    headers = [
        (name, decode_header_value(value, hint)[:MAX_HEADER_CHARS]) for name, value in items[:MAX_HEADERS]
    ]
    fingerprint_source = "\n".join(
        [
            *(f"{n.lower()}:{v}" for n, v in headers if n.lower() in ("from", "to", "cc", "date", "subject")),
            text,
        ]
    )
    in_reply_to = message_ids(_header(raw_headers, "in-reply-to"))
    return ParsedMail(
        message_id=normalize_message_id(_header(raw_headers, "message-id")),
        subject=decode_header_value(_header(raw_headers, "subject"), hint),
        sender=senders[0] if senders else None,
        to=parse_addresses(", ".join(v for n, v in items if n.lower() == "to"), hint),
        cc=parse_addresses(", ".join(v for n, v in items if n.lower() == "cc"), hint),
        reply_to=parse_addresses(_header(raw_headers, "reply-to"), hint),
        date=date,
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=_bounded(message_ids(_header(raw_headers, "references"))),
        text=text,
        html=html,
        attachments=attachments,
        headers=headers,
        auto_submitted=_auto_submitted(raw_headers, msg.get_content_type()),
        fingerprint=hashlib.sha256(fingerprint_source.encode("utf-8", "replace")).hexdigest(),
    )
