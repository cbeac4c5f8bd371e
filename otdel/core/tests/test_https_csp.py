"""Behind HTTPS: Secure cookies, HSTS, the proxy's scheme header; a CSP on pages, forms and Swagger."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from otdel.settings import BASE_DIR


def _settings_with(env):
    code = (
        "import django, json; from django.conf import settings; django.setup();"
        "print(json.dumps({k: getattr(settings, k, None) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "otdel.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_otdel_https_turns_on_secure_cookies_hsts_and_the_proxy_header():
    on = _settings_with({"OTDEL_HTTPS": "1"})
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"]
    assert on["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    off = _settings_with({"OTDEL_HTTPS": "0"})
    assert not off["SESSION_COOKIE_SECURE"] and not off["SECURE_HSTS_SECONDS"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/api/docs/", "/f/no-such-form"])
def test_pages_carry_a_content_security_policy(url, admin_user):
    client = Client()
    if url.startswith("/api/"):
        client.force_login(admin_user)
    response = client.get(url)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy, (response.status_code, policy)
    assert "object-src 'none'" in policy


def test_the_data_dir_and_uploads_are_private(settings):
    from otdel.settings import DATA_DIR

    assert DATA_DIR.stat().st_mode & 0o077 == 0
    assert settings.FILE_UPLOAD_PERMISSIONS == 0o600
    assert settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700
