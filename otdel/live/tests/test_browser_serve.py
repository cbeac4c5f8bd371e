"""The ringing call on screen as `make run` serves it, in a real Chromium: `manage.py serve` with its
live process on the next port (gunicorn's ASGI worker), a PBX event posted to the real webhook."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from otdel.accounts.services import user_token_issue
from otdel.accounts.tests.factories import PASSWORD
from otdel.crm import services as crm_services
from otdel.ops.tests.conftest import ROOT, database_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 20_000


def _free_port_pair() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _wait(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.2)


@pytest.fixture
def served(tmp_path):
    port = _free_port_pair()
    env = {**os.environ, "DATABASE_URL": database_url(), "OTDEL_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    serve = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115
    )
    try:
        deadline = time.monotonic() + 120
        _wait(port, deadline)
        _wait(port + 1, deadline)
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def test_make_run_pushes_the_ringing_call_from_its_live_process(served, page, manager, integration_user):
    crm_services.contact_create(
        actor=manager, full_name="Смирнова Ольга", identities=[("phone", "+79161234567")], responsible=manager
    )
    token = user_token_issue(user=integration_user)
    # serve checks passwords with the production hashers (the tests' fast one is not among them).
    manager.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    manager.save(update_fields=["password"])
    page.goto(f"{served}/login/")
    page.fill("input[name=username]", manager.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(f"{served}/inbox/")
    expect(page.locator("html[data-live-connected='1']")).to_have_count(1, timeout=SLOW)
    port = int(served.rsplit(":", 1)[1])
    assert page.evaluate("window.otdelLive.source.url") == f"http://127.0.0.1:{port + 1}/live/stream"

    def post(payload: dict) -> float:
        request = urllib.request.Request(
            f"{served}/api/v1/telephony/events",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
            method="POST",
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        return started

    call = {"call_id": "serve-1", "direction": "in", "caller": "+7 916 123-45-67", "called": "+74951234567"}
    started = post({**call, "event": "ringing", "extension": "101"})
    card = page.get_by_test_id("ringing-card")
    expect(card.get_by_test_id("ringing-contact")).to_contain_text("Смирнова Ольга", timeout=SLOW)
    print(f"\nmake run: webhook -> card on screen: {(time.monotonic() - started) * 1000:.0f} ms")
    post({**call, "event": "ended", "status": "missed"})
    expect(card).to_have_attribute("data-status", "missed", timeout=SLOW)
