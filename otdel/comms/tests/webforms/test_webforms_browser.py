"""The embeddable form in a real Chromium, on a page served from another origin than Otdel."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from otdel.comms.models import WebForm
from otdel.comms.tests.webforms import test_webforms_api as api_tests
from otdel.crm.models import Lead
from otdel.privacy.models import Consent

# The form, its queue and consent purpose, shared with the API tests.
queue, purpose, webform = api_tests.queue, api_tests.purpose, api_tests.webform
PD_TEXT = api_tests.PD_TEXT

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body>
<h1>Windows for your house</h1>
<div data-otdel-form="callback"></div>
<script src="{otdel}/static/comms/embed.js" data-otdel="{otdel}" async></script>
</body></html>
"""


@pytest.fixture
def other_site(live_server):
    """A plain website on another port of 127.0.0.1 (Otdel's live server is on localhost)."""
    page = LANDING.format(otdel=live_server.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
def test_embedded_form_from_another_origin(live_server, page, webform, other_site):
    WebForm.objects.filter(pk=webform.pk).update(allowed_origins=other_site)
    page.set_default_timeout(15000)
    page.goto(f"{other_site}/landing.html?utm_source=yandex&utm_campaign=windows")

    form = page.locator("[data-otdel-form=callback] form")
    expect(form.get_by_text(PD_TEXT)).to_be_visible()

    # A first try without the consent: the error shows beside the checkbox, nothing is stored.
    form.locator("input[name=name]").fill("Ольга")
    form.locator("input[name=phone]").fill("8 912 765-43-21")
    form.locator("textarea[name=message]").fill("Нужен замер")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_text("Please confirm your consent")).to_be_visible()
    assert not Lead.objects.exists()

    form.locator("[data-consent=pd]").check()
    form.locator("select[name=size]").select_option("больше 10")
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you! We will get back to you soon.")).to_be_visible()

    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_campaign, lead.source) == ("yandex", "windows", "form")
    assert lead.page_url == f"{other_site}/landing.html?utm_source=yandex&utm_campaign=windows"
    assert lead.contact.identities.get(kind="phone").value == "+79127654321"
    consent = Consent.objects.get()
    assert (consent.contact, consent.purpose.code, consent.text.version) == (lead.contact, "pd", 1)
    assert consent.page_url == lead.page_url and "Chrome" in consent.user_agent
    assert "Размер: больше 10" in lead.interactions.get().body


@pytest.mark.browser
def test_embedded_form_refused_on_a_site_not_allowed(live_server, page, webform, other_site):
    # The form allows only https://shop.example.ru: the browser blocks the definition, nothing is drawn.
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{other_site}/landing.html")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-otdel-form=callback] form").count() == 0
    assert any("CORS" in text or "Otdel form" in text for text in messages)


@pytest.mark.browser
def test_consent_text_changed_while_the_page_was_open(live_server, page, webform, other_site, admin_user):
    from otdel.privacy.services import consent_purpose_upsert

    WebForm.objects.filter(pk=webform.pk).update(allowed_origins=other_site)
    page.set_default_timeout(15000)
    page.goto(f"{other_site}/landing.html")
    form = page.locator("[data-otdel-form=callback] form")
    expect(form.get_by_text(PD_TEXT)).to_be_visible()
    consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Новая редакция согласия.")

    form.locator("input[name=email]").fill("olga@example.ru")
    form.locator("[data-consent=pd]").check()
    form.get_by_role("button", name="Send").click()
    # The visitor is shown the new wording, unticked, and asked to confirm it.
    expect(form.get_by_text("The text of this consent has changed")).to_be_visible()
    expect(form.get_by_text("Новая редакция согласия.")).to_be_visible()
    assert not form.locator("[data-consent=pd]").is_checked()
    assert not Lead.objects.exists()

    form.locator("[data-consent=pd]").check()
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you! We will get back to you soon.")).to_be_visible()
    assert Consent.objects.get().text.version == 2
