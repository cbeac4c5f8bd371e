"""Phones, search terms and secrets are masked in the server's access log."""

import datetime
import logging

import pytest

from otdel.core.logmask import MaskingFilter, MaskingGunicornLogger, mask_text, mask_url

PHONE = "79123456789"


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        (f"/api/v1/telephony/route?caller=%2B{PHONE}&called=74951234567", [PHONE, "74951234567"]),
        ("/api/v1/contacts?identity=ivan%40example.ru", ["ivan@example.ru", "ivan%40example.ru"]),
        ("/search/?q=%D0%9E%D1%80%D0%BB%D0%BE%D0%B2%D0%B0", ["Орлова"]),
        ("/api/v1/telegram/123456:ABCdef/webhook", ["123456:ABCdef"]),
        ("https://user:s3cret@pbx.example.ru/rec/1.mp3?token=abcdef123", ["s3cret", "user:", "abcdef123"]),
    ],
)
def test_sensitive_parts_of_urls_are_masked(url, hidden):
    masked = mask_url(url)
    for secret in hidden:
        assert secret not in masked, masked
    assert "/" in masked


def test_other_parameters_stay_readable():
    assert mask_url("/deals/?stage=3&page=2") == "/deals/?stage=3&page=2"
    assert "format=text" in mask_url(f"/api/v1/telephony/route?caller={PHONE}&format=text")


def test_the_mask_keeps_lines_apart():
    assert mask_url(f"/r?caller={PHONE}") != mask_url("/r?caller=79001112233")


def test_gunicorn_access_line_is_masked():
    class Cfg:
        access_log_format = '%(h)s "%(r)s" %(s)s "%(f)s"'
        errorlog = "-"
        accesslog = None
        loglevel = "info"
        syslog = False
        logconfig = None
        logconfig_dict = {}
        logconfig_json = None
        capture_output = False
        disable_redirect_access_to_syslog = False
        user = 0
        group = 0
        umask = 0

    logger = MaskingGunicornLogger.__new__(MaskingGunicornLogger)
    logger.cfg = Cfg()

    class Resp:
        status = "200 OK"
        sent = 10
        headers = []

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/telephony/route?caller={PHONE}",
        "PATH_INFO": "/api/v1/telephony/route",
        "QUERY_STRING": f"caller={PHONE}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.5",
        "HTTP_REFERER": f"http://otdel/search/?q={PHONE}",
    }
    atoms = logger.atoms(Resp(), [], environ, datetime.timedelta(milliseconds=3))
    line = Cfg.access_log_format % atoms
    assert PHONE not in line and "/api/v1/telephony/route?caller=" in line


def test_django_log_records_are_masked(caplog):
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /search/?q={PHONE} HTTP/1.1", 200, 5),
        None,
    )
    MaskingFilter().filter(record)
    assert PHONE not in record.getMessage() and "/search/?q=" in record.getMessage()
    assert PHONE not in mask_text(f"Not Found: /api/v1/contacts?identity=%2B{PHONE}")
