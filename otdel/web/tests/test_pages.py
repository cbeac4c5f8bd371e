"""The web shell: error pages, the navbar, and the form base every page uses."""

import re

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from otdel.core.exceptions import ConflictError
from otdel.web.forms import StyledForm


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- error pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_404_page_uses_the_otdel_layout_in_the_users_language(manager):
    response = client_for(manager).get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content
    assert '<html lang="en">' in content

    manager.language = "ru"
    manager.save()
    response = client_for(manager).get("/no-such-page/")
    assert "Страница не найдена" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "text"), [("en", "Something went wrong"), ("ru", "Что-то пошло не так")]
)
def test_500_page_renders_without_context(language, text):
    # Django renders 500.html with an empty context: no user, no request, no URL lookups.
    with translation.override(language):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert text in response.content.decode()


@pytest.mark.django_db
def test_csrf_failure_page_explains_what_to_do(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(reverse("profile"), {"action": "language", "language": "ru"})
    assert response.status_code == 403
    assert "The form has expired" in response.content.decode()
    manager.refresh_from_db()
    assert manager.language == "en"


# --- navbar --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_navbar_shows_name_role_and_admin_links_only_to_admins(manager, admin_user):
    content = client_for(manager).get(reverse("profile")).content.decode()
    menu = re.search(r'data-testid="user-menu">(.*?)</a>', content, re.S).group(1)
    assert manager.full_name in menu
    assert "Sales manager · ext. 101" in content
    assert reverse("user_list") not in content

    content = client_for(admin_user).get(reverse("profile")).content.decode()
    assert reverse("user_list") in content
    assert reverse("api-docs") in content


@pytest.mark.django_db
def test_page_title_names_the_page_and_the_product(manager):
    content = client_for(manager).get(reverse("profile")).content.decode()
    assert "<title>Profile · Otdel</title>" in content


# --- StyledForm ----------------------------------------------------------------------------------


class SampleForm(StyledForm):
    name = forms.CharField()
    code = forms.CharField(required=True)
    agree = forms.BooleanField(required=False)
    kind = forms.ChoiceField(choices=[("a", "A")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False  # a tweak after __init__ must count in validation


def test_styled_form_classes_and_late_field_changes():
    form = SampleForm({"name": "", "kind": "a"})
    assert not form.is_valid()
    assert set(form.errors) == {"name"}
    assert form.fields["name"].widget.attrs["class"] == "form-control is-invalid"
    assert form.fields["code"].widget.attrs["class"] == "form-control"
    assert form.fields["agree"].widget.attrs["class"] == "form-check-input"
    assert form.fields["kind"].widget.attrs["class"] == "form-select"


def test_service_errors_land_on_their_fields():
    form = SampleForm({"name": "x", "kind": "a"})
    assert form.is_valid()
    form.add_service_error(ConflictError("Taken.", code="taken", field="code"))
    form.add_service_error(ValidationError({"name": ["Bad name."], "missing": ["Elsewhere."]}))
    form.add_service_error(ValidationError("Whole form."))
    assert form.errors["code"] == ["Taken."]
    assert form.errors["name"] == ["Bad name."]
    assert form.non_field_errors() == ["Elsewhere.", "Whole form."]
    assert "is-invalid" in form.fields["code"].widget.attrs["class"]
