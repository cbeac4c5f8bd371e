"""A NUL character in a query string is refused with 400 before any view (PostgreSQL text cannot
hold one: filters failed with 500 on some pages, and a search left no access-log row)."""

import pytest

from otdel.privacy.models import PDAccessLog

# Pages whose filters or searches reached the database with the NUL before (some answered 500).
WEB_PAGES = [
    "/contacts/",
    "/search/",
    "/search/suggest/",
    "/kb/",
    "/catalog/",
    "/privacy/requests/",
    "/deals/list/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", WEB_PAGES)
def test_a_page_refuses_a_nul_in_its_query_string(admin_user, client, settings, path):
    settings.LANGUAGE_CODE = "ru"
    client.force_login(admin_user)
    response = client.get(path, {"q": "Иван\x00ов"})
    assert response.status_code == 400
    assert "Некорректный запрос" in response.content.decode()
    assert not PDAccessLog.objects.exists()
    assert client.get(path, {"q": "Иванов"}).status_code == 200  # the same page without it


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "%00=1", "status=%00&q=x"])
def test_the_api_refuses_it_in_the_json_error_shape(admin_user, api_for, query):
    response = api_for(admin_user).get(f"/api/v1/contacts?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"] == ["The request is malformed."]


@pytest.mark.django_db
def test_the_pbx_route_refuses_it_before_its_shortcut(api_for, admin_user):
    response = api_for(admin_user).get("/api/v1/telephony/route?caller=%2B7900%00&called=1")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_an_encoded_percent_sign_is_not_a_nul(admin_user, client):
    client.force_login(admin_user)
    assert client.get("/contacts/?q=%2500").status_code == 200  # the text “%00”, searched as such


@pytest.mark.django_db
def test_the_refusal_is_logged(admin_user, client, caplog):
    client.force_login(admin_user)
    with caplog.at_level("ERROR", logger="django.security"):
        client.get("/contacts/?q=%00")
    assert any("NUL" in record.getMessage() for record in caplog.records)
