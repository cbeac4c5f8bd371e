"""The public HTML page of a web form (/f/<slug>): rendering, inline errors, CSRF, the same service."""

import html
import re

import pytest
from django.test import Client

from otdel.comms.models import IntakeLog, WebForm
from otdel.comms.tests.webforms import test_webforms_api as api_tests
from otdel.crm.models import Contact, Lead
from otdel.privacy.models import Consent

# The form, its queue and consent purpose, shared with the API tests.
queue, purpose, webform = api_tests.queue, api_tests.purpose, api_tests.webform
PD_TEXT = api_tests.PD_TEXT

PAGE = "/f/callback"


def _post_data(page_html, **overrides):
    """The hidden inputs the page rendered (CSRF token, UTM, page URL, consent version) plus typed values."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page_html)
    data = {name: html.unescape(value) for name, value in found}
    data.update(
        {
            "name": "Анна",
            "phone": "+7 912 111-22-33",
            "email": "",
            "message": "Нужен счёт",
            "company": "ООО Вектор",
            "size": "до 10",
            "consent_pd": "on",
            "website": "",
        }
    )
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_page_renders_fields_consent_text_and_campaign(webform):
    response = Client().get(f"{PAGE}?utm_source=yandex&utm_campaign=winter", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page_html = response.content.decode()
    assert "navbar" not in page_html  # not the staff layout
    assert "Обратный звонок" in page_html and PD_TEXT in page_html
    for name in ("name", "phone", "email", "message", "company", "size", "consent_pd", "website"):
        assert f'name="{name}"' in page_html
    assert '<input type="hidden" name="utm_source" value="yandex">' in page_html
    assert 'name="csrfmiddlewaretoken"' in page_html
    assert ">Send</button>" in page_html and "Leave a phone number or an e-mail" in page_html


@pytest.mark.django_db
def test_page_submission_stores_lead_with_campaign_and_consent(webform):
    client = Client()
    page_html = client.get(f"{PAGE}?utm_source=yandex&utm_medium=cpc").content.decode()
    response = client.post(PAGE, _post_data(page_html), HTTP_USER_AGENT="Firefox")
    assert response.status_code == 302 and response["Location"] == "/f/callback/thanks"
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium) == ("yandex", "cpc")
    assert lead.page_url == "http://testserver/f/callback?utm_source=yandex&utm_medium=cpc"
    consent = Consent.objects.get()
    assert (consent.contact, consent.text.version, consent.user_agent) == (lead.contact, 1, "Firefox")
    thanks = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Thank you! We will get back to you soon." in thanks


@pytest.mark.django_db
def test_page_shows_errors_inline_and_stores_nothing(webform):
    client = Client()
    page_html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    data = _post_data(page_html, phone="", email="", company="ООО Вектор")
    del data["consent_pd"]
    response = client.post(PAGE, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the errors below." in page
    assert page.count("Leave a phone number or an e-mail so we can reach you.") == 3  # hint + two fields
    assert "Please confirm your consent: Обработка персональных данных." in page
    assert 'value="ООО Вектор"' in page  # what the visitor typed is kept
    assert not Contact.objects.exists() and not Consent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["name", "message", "company", "utm_source"])
def test_page_refuses_a_nul_character_with_a_message_and_stores_nothing(webform, field):
    """PostgreSQL text cannot hold NUL: the HTML form's POST answered 500 (the JSON API refused it)."""
    client = Client()
    page_html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    response = client.post(PAGE, _post_data(page_html, **{field: "Ан\x00на"}), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Contact.objects.exists() and not Consent.objects.exists()
    refused = IntakeLog.objects.get()
    assert refused.status == IntakeLog.Status.REJECTED
    assert refused.error == f'{{"{field}": ["Null characters are not allowed."]}}'


@pytest.mark.django_db
def test_page_honeypot_and_rate_limit(webform):
    WebForm.objects.filter(pk=webform.pk).update(rate_limit_per_minute=1)
    client = Client()
    page_html = client.get(PAGE).content.decode()
    response = client.post(PAGE, _post_data(page_html, website="http://spam"))
    assert response.status_code == 302  # the bot is thanked
    assert not Contact.objects.exists()
    response = client.post(PAGE, _post_data(page_html), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "Too many submissions" in response.content.decode()
    assert IntakeLog.objects.count() == 1 and not Contact.objects.exists()


@pytest.mark.django_db
def test_page_is_csrf_protected(webform):
    client = Client(enforce_csrf_checks=True)
    page_html = client.get(PAGE).content.decode()
    data = _post_data(page_html)
    del data["csrfmiddlewaretoken"]
    assert client.post(PAGE, data).status_code == 403
    assert client.post(PAGE, _post_data(page_html)).status_code == 302
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_page_asks_again_when_the_consent_text_changed(webform, admin_user):
    from otdel.privacy.services import consent_purpose_upsert

    client = Client()
    page_html = client.get(PAGE).content.decode()  # shows version 1
    consent_purpose_upsert(actor=admin_user, code="pd", title="ПДн", text="Новая редакция.")
    response = client.post(PAGE, _post_data(page_html), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The text of this consent has changed" in page and "Новая редакция." in page
    assert 'name="consent_pd" checked' not in page
    assert not Consent.objects.exists()
    response = client.post(PAGE, _post_data(page))
    assert response.status_code == 302
    assert Consent.objects.get().text.version == 2
