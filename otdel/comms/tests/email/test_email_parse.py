"""Reading mail as it comes: charsets and their broken declarations, encoded words, parts, safe HTML."""

import base64

import pytest

from otdel.comms.email.parse import MailParseError, decode_bytes, decode_header_value, parse_message
from otdel.comms.email.sanitize import sanitize_html
from otdel.comms.tests.email.support.messages import attachment, encoded_word, html_message, message

RU = "Добрый день! Пришлите, пожалуйста, коммерческое предложение на поставку оборудования."
SUBJECT = "Запрос цены: насосы ЦНС 38-44, срочно"


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r"])
@pytest.mark.parametrize("encoding", ["B", "Q"])
def test_encoded_word_subject_and_body_in_each_charset(charset, encoding):
    raw = message(
        sender=f"{encoded_word('Пётр Сидоров', charset, encoding)} <Petr.Sidorov@Example.RU>",
        subject=encoded_word(SUBJECT, charset, encoding),
        body=RU,
        charset=charset,
        transfer_encoding="quoted-printable",
        message_id="<1@example.ru>",
    )
    mail = parse_message(raw)
    assert mail.subject == SUBJECT
    assert mail.text == RU
    assert (mail.sender.name, mail.sender.address) == ("Пётр Сидоров", "petr.sidorov@example.ru")


@pytest.mark.parametrize(
    ("actual", "declared"),
    [
        ("windows-1251", "koi8-r"),  # labelled as the other Cyrillic code page
        ("koi8-r", "windows-1251"),
        ("windows-1251", None),  # no charset parameter at all
        ("koi8-r", "x-unknown-cyrillic"),  # a charset name nobody knows
        ("windows-1251", "us-ascii"),  # 8-bit text declared as ASCII
        ("utf-8", "windows-1251"),  # a web form sending UTF-8 under an old label
        ("windows-1251", "iso-8859-1"),
    ],
)
def test_body_with_a_wrong_or_missing_charset_is_still_read(actual, declared):
    raw = message(sender="client@example.ru", subject="x", body=RU, charset=actual, declared_charset=declared)
    assert parse_message(raw).text == RU


def test_western_text_is_not_mistaken_for_russian():
    text = "Grüße aus München, wir möchten ein Angebot."
    assert decode_bytes(text.encode("latin-1"), None) == text
    assert decode_bytes(text.encode("latin-1"), "iso-8859-1") == text
    assert decode_bytes(text.encode("cp1252"), "x-bogus") == text


def test_raw_8bit_headers_and_split_utf8_encoded_words():
    # Some old mailers put the subject and name in the body's code page without encoding them.
    raw = message(
        sender="Иван Петров <ivan@example.ru>".encode("cp1251"),
        subject=SUBJECT.encode("cp1251"),
        body=RU,
        charset="windows-1251",
    )
    mail = parse_message(raw)
    assert mail.subject == SUBJECT
    assert mail.sender.name == "Иван Петров"
    # A long UTF-8 subject split by the mailer in the middle of a character.
    data = SUBJECT.encode("utf-8")
    words = [data[:7], data[7:30], data[30:]]
    folded = "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(w).decode()}?=" for w in words)
    assert decode_header_value(folded) == SUBJECT


def test_attachments_with_every_filename_style():
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 4
    xlsx = b"PK\x03\x04" + b"\x00" * 1000
    image = b"\x89PNG\r\n\x1a\n" + b"\x01" * 300
    raw = message(
        sender="client@example.ru",
        subject=encoded_word("Документы", "koi8-r"),
        body=RU,
        charset="koi8-r",
        message_id="<att@example.ru>",
        attachments=[
            # RFC 2231 (Thunderbird, Gmail)
            attachment(
                "application/pdf",
                b"attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%96%2015.pdf",
                pdf,
            ),
            # an encoded word inside quotes (Outlook, mail.ru)
            attachment(
                "application/vnd.ms-excel",
                b'attachment; filename="' + encoded_word("Прайс-лист 2026.xls", "koi8-r").encode() + b'"',
                xlsx,
            ),
            # raw windows-1251 bytes (old scripts)
            attachment("image/png", b'inline; filename="' + "Схема.png".encode("cp1251") + b'"', image),
        ],
    )
    mail = parse_message(raw)
    assert mail.text == RU
    files = [(a.filename, a.size, a.content_type) for a in mail.attachments]
    assert files == [
        ("Счёт № 15.pdf", len(pdf), "application/pdf"),
        ("Прайс-лист 2026.xls", len(xlsx), "application/vnd.ms-excel"),
        ("Схема.png", len(image), "image/png"),
    ]
    assert mail.attachments[0].data == pdf


def test_forwarded_message_stays_one_attachment():
    inner = message(
        sender="other@example.ru", subject=encoded_word("Исходное письмо", "utf-8"), body="внутри"
    )
    raw = (
        b"From: client@example.ru\r\nTo: sales@otdel.test\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
        + "пересылаю".encode()
        + b"\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner
        + b"\r\n--b1--\r\n"
    )
    mail = parse_message(raw)
    assert mail.text == "пересылаю"
    assert [a.filename for a in mail.attachments] == ["Исходное письмо.eml"]
    assert parse_message(mail.attachments[0].data).text == "внутри"


def test_html_only_mail_gets_text_and_safe_html():
    html = (
        "<html><head><style>body{background:url(https://t.example/bg.png)}</style></head><body>"
        '<p onclick="steal()">Здравствуйте!<br>Ждём ответа.</p>'
        '<img src="https://tracker.example/open.gif?id=42" width="1" height="1">'
        '<img src="cid:logo@example.ru" alt="Логотип">'
        '<a href="https://example.ru/price">прайс</a> <a href="javascript:alert(1)">клик</a>'
        "<script>alert('x')</script><iframe src='https://evil.example'></iframe></body></html>"
    )
    mail = parse_message(html_message(sender="c@example.ru", subject="Письмо", html=html, message_id="<h@x>"))
    assert mail.text == "Здравствуйте!\nЖдём ответа.\nпрайс клик"
    safe = sanitize_html(mail.html)
    assert (
        "script" not in safe and "iframe" not in safe and "onclick" not in safe and "javascript" not in safe
    )
    assert "tracker.example" not in safe and "t.example" not in safe  # no remote image loads by itself
    assert 'src="cid:logo@example.ru"' in safe
    assert 'href="https://example.ru/price"' in safe and 'rel="noopener noreferrer nofollow"' in safe


def test_threading_headers_and_missing_message_id():
    reply = parse_message(
        message(
            sender="c@example.ru",
            subject="Re: x",
            body="да",
            message_id="<3@example.ru>",
            in_reply_to="<2@otdel.test>",
            references="<1@example.ru>\r\n <2@otdel.test>",
        )
    )
    assert (reply.in_reply_to, reply.references, reply.thread_root) == (
        "<2@otdel.test>",
        ["<1@example.ru>", "<2@otdel.test>"],
        "<1@example.ru>",
    )
    raw = message(
        sender="c@example.ru", subject="без id", body="текст", date="Tue, 03 Mar 2026 10:00:00 +0300"
    )
    first, again = parse_message(raw), parse_message(raw)
    other = parse_message(raw.replace("текст".encode(), "другой".encode()))
    assert first.message_id == ""
    assert first.dedupe_id == again.dedupe_id and first.dedupe_id.startswith("sha256:")
    assert other.dedupe_id != first.dedupe_id


def test_auto_replies_are_recognised():
    auto = message(
        sender="c@example.ru",
        subject="Автоответ",
        body="Я в отпуске",
        extra_headers=[("Auto-Submitted", "auto-replied")],
    )
    assert parse_message(auto).auto_submitted
    assert not parse_message(message(sender="c@example.ru", subject="x", body="y")).auto_submitted


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\xff\xfe garbage\r\nnot a header line\r\n"])
def test_bytes_that_are_not_a_message(raw):
    with pytest.raises(MailParseError):
        parse_message(raw)
