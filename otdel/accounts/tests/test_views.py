"""Account pages: sign-in, profile and language, user and department settings, error pages."""

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from otdel.accounts.models import Department, Role, User
from otdel.accounts.tests.factories import PASSWORD, DepartmentFactory, UserFactory

STRONG = "Tr1cky-Sales-42"


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang> on the page"
    return match.group(1)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def user_form_data(**overrides):
    data = {
        "username": "petrova",
        "full_name": "Петрова Ольга",
        "email": "petrova@example.com",
        "role": Role.SALES_MANAGER,
        "department": "",
        "extension": "110",
        "phone": "8 (912) 345-67-89",
        "work_days": ["0", "1", "2", "3", "4"],
        "work_start": "09:00",
        "work_end": "18:00",
        "language": "ru",
        "is_active": "on",
        "password": STRONG,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- sign in / out -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_shows_logo_form_and_language_switch(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="logo">Otdel<' in content
    assert 'name="username"' in content and 'name="password"' in content
    assert f'action="{reverse("set_language")}"' in content
    assert 'value="ru"' in content and 'value="en"' in content


@pytest.mark.django_db
def test_login_with_right_password_signs_in_and_goes_to_start_page(client, manager):
    response = client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"  # the login page after logout
    assert client.get(reverse("profile")).context["user"] == manager


@pytest.mark.django_db
def test_login_with_wrong_password_shows_an_error_and_stays_anonymous(client, manager):
    response = client.post(
        reverse("login"), {"username": "manager", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()
    assert "correct username and password" in response.content.decode()
    assert not response.context["user"].is_authenticated
    assert client.get(reverse("profile"))["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_inactive_user_cannot_sign_in(client):
    UserFactory(username="gone", is_active=False)
    response = client.post(reverse("login"), {"username": "gone", "password": PASSWORD})
    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()


@pytest.mark.django_db
def test_logout_is_a_post_and_returns_to_login(manager):
    client = client_for(manager)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("profile")).status_code == 302


@pytest.mark.django_db
def test_anonymous_language_switch_changes_the_login_page(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response["Location"] == reverse("login")
    page = client.get(reverse("login"))
    assert html_lang(page) == "en"
    client.post(reverse("set_language"), {"language": "ru", "next": reverse("login")})
    page = client.get(reverse("login"))
    assert html_lang(page) == "ru"
    assert "Войти" in page.content.decode()


# --- profile -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_shows_role_department_extension_and_hours(head):
    head.work_start = datetime.time(10, 0)
    head.work_end = datetime.time(19, 30)
    head.phone = "+79123456789"
    head.save()
    response = client_for(head).get(reverse("profile"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Head of sales" in content
    assert "Отдел продаж" in content
    assert 'data-testid="profile-extension">100<' in content
    assert "10:00–19:30" in content
    assert "+7 912 345-67-89" in content
    assert "Mon, Tue, Wed, Thu, Fri" in content


@pytest.mark.django_db
def test_profile_language_change_takes_effect_on_the_next_page(manager):
    client = client_for(manager)
    before = client.get(reverse("profile"))
    assert before["Content-Language"] == "en"
    assert html_lang(before) == "en"

    response = client.post(reverse("profile"), {"action": "language", "language": "ru"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    manager.refresh_from_db()
    assert manager.language == "ru"

    after = client.get(reverse("profile"))
    assert after["Content-Language"] == "ru"
    assert html_lang(after) == "ru"
    content = after.content.decode()
    assert "Язык интерфейса изменён." in content
    assert "Менеджер по продажам" in content


@pytest.mark.django_db
def test_profile_rejects_an_unknown_language(manager):
    response = client_for(manager).post(reverse("profile"), {"action": "language", "language": "de"})
    assert response.status_code == 200
    assert response.context["language_form"].errors["language"]
    manager.refresh_from_db()
    assert manager.language == "en"


@pytest.mark.django_db
def test_password_change_keeps_the_session_and_the_new_password_works(manager):
    client = client_for(manager)
    response = client.post(
        reverse("profile"),
        {"action": "password", "old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG},
    )
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200  # still signed in
    assert User.objects.get(pk=manager.pk).check_password(STRONG)


@pytest.mark.django_db
def test_password_change_with_wrong_old_password_is_refused(manager):
    response = client_for(manager).post(
        reverse("profile"),
        {"action": "password", "old_password": "nope", "new_password1": STRONG, "new_password2": STRONG},
    )
    assert response.status_code == 200
    assert response.context["password_form"].errors["old_password"]
    assert User.objects.get(pk=manager.pk).check_password(PASSWORD)


# --- user administration -------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_creates_a_user_with_role_and_extension(admin_user, department):
    response = client_for(admin_user).post(
        reverse("user_create"),
        user_form_data(role=Role.HEAD_OF_SALES, department=str(department.pk), work_days=["0", "2"]),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse("user_list")
    user = User.objects.get(username="petrova")
    assert (user.role, user.extension, user.department) == (Role.HEAD_OF_SALES, "110", department)
    assert user.phone == "+79123456789"
    assert user.work_days == [0, 2]
    assert user.language == "ru"
    assert user.is_active
    assert user.check_password(STRONG)


@pytest.mark.django_db
def test_new_user_form_starts_with_a_working_week(admin_user):
    response = client_for(admin_user).get(reverse("user_create"))
    content = response.content.decode()
    assert response.status_code == 200
    for day in range(5):
        assert re.search(rf'<input type="checkbox" name="work_days" value="{day}"[^>]*checked', content)
    assert not re.search(r'<input type="checkbox" name="work_days" value="5"[^>]*checked', content)
    assert 'value="09:00"' in content and 'value="18:00"' in content


@pytest.mark.django_db
def test_duplicate_extension_is_a_form_error_and_no_user_is_created(admin_user, manager):
    response = client_for(admin_user).post(
        reverse("user_create"), user_form_data(extension=manager.extension)
    )
    assert response.status_code == 200
    assert "already given to another user" in " ".join(response.context["form"].errors["extension"])
    assert 'class="form-control is-invalid"' in response.content.decode()
    assert not User.objects.filter(username="petrova").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("extension", ["1", "123456789", "1a2"])
def test_invalid_extension_is_a_form_error(admin_user, extension):
    response = client_for(admin_user).post(reverse("user_create"), user_form_data(extension=extension))
    assert response.status_code == 200
    assert response.context["form"].errors["extension"]
    assert not User.objects.filter(username="petrova").exists()


@pytest.mark.django_db
def test_create_requires_a_strong_password(admin_user):
    response = client_for(admin_user).post(reverse("user_create"), user_form_data(password="12345678"))
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="petrova").exists()


@pytest.mark.django_db
def test_work_must_end_after_it_starts(admin_user):
    response = client_for(admin_user).post(
        reverse("user_create"), user_form_data(work_start="18:00", work_end="09:00")
    )
    assert response.context["form"].errors["work_end"]
    assert not User.objects.filter(username="petrova").exists()


@pytest.mark.django_db
def test_admin_edits_a_user_and_an_empty_password_keeps_the_old_one(admin_user, manager, department):
    client = client_for(admin_user)
    form_page = client.get(reverse("user_edit", args=[manager.pk]))
    assert form_page.status_code == 200
    assert form_page.context["form"].initial["extension"] == "101"
    response = client.post(
        reverse("user_edit", args=[manager.pk]),
        user_form_data(
            username="ignored",
            role=Role.OFFICE_MANAGER,
            department=str(department.pk),
            extension="301",
            password="",
            is_active=None,
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    manager.refresh_from_db()
    assert manager.username == "manager"  # usernames are fixed after creation
    assert (manager.role, manager.extension, manager.is_active) == (Role.OFFICE_MANAGER, "301", False)
    assert manager.check_password(PASSWORD)


@pytest.mark.django_db
def test_editing_to_another_users_extension_saves_nothing(admin_user, manager, other_manager):
    response = client_for(admin_user).post(
        reverse("user_edit", args=[other_manager.pk]),
        user_form_data(full_name="Новое имя", extension=manager.extension, password=""),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["extension"]
    other_manager.refresh_from_db()
    assert (other_manager.full_name, other_manager.extension) != ("Новое имя", manager.extension)
    assert other_manager.extension == "102"


@pytest.mark.django_db
def test_admin_cannot_lock_themselves_out(department):
    admin = UserFactory(username="root", role=Role.ADMIN)
    response = client_for(admin).post(
        reverse("user_edit", args=[admin.pk]),
        user_form_data(role=Role.SALES_MANAGER, is_active=None, password="", extension=""),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["role"] and errors["is_active"]
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


@pytest.mark.django_db
def test_user_list_shows_roles_and_filters(admin_user, manager, head, office_manager):
    client = client_for(admin_user)
    office_manager.is_active = False
    # A fixed name: factory sequence numbers (e.g. "Сотрудник 1067") would match the "10" search.
    office_manager.full_name = "Офис Менеджер"
    office_manager.save()

    content = client.get(reverse("user_list")).content.decode()
    for user in (manager, head, office_manager, admin_user):
        assert f'data-user="{user.username}"' in content
    assert "Head of sales" in content and "Office manager" in content

    by_role = client.get(reverse("user_list"), {"role": Role.HEAD_OF_SALES}).content.decode()
    assert 'data-user="head"' in by_role and 'data-user="manager"' not in by_role

    by_department = client.get(reverse("user_list"), {"department": manager.department_id}).content.decode()
    assert 'data-user="manager"' in by_department and 'data-user="office"' not in by_department

    inactive = client.get(reverse("user_list"), {"active": "no"}).content.decode()
    assert 'data-user="office"' in inactive and 'data-user="manager"' not in inactive

    search = client.get(reverse("user_list"), {"q": "10"}).content.decode()
    assert 'data-user="manager"' in search and 'data-user="office"' not in search


@pytest.mark.django_db
def test_user_list_query_count_does_not_grow_with_users(admin_user, django_assert_max_num_queries):
    departments = DepartmentFactory.create_batch(3)
    for i in range(30):
        UserFactory(department=departments[i % 3], extension=str(500 + i))
    client = client_for(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("user_list"))
    assert response.content.decode().count("data-user=") == 31


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,args",
    [
        ("user_list", []),
        ("user_create", []),
        ("user_edit", ["self"]),
        ("department_list", []),
        ("department_create", []),
        ("department_edit", ["department"]),
    ],
)
def test_non_admins_get_404_on_settings(manager, head, department, name, args):
    values = {"self": manager.pk, "department": department.pk}
    url = reverse(name, args=[values[a] for a in args])
    for user in (manager, head):
        client = client_for(user)
        assert client.get(url).status_code == 404
        assert client.post(url, user_form_data()).status_code == 404
    assert not User.objects.filter(username="petrova").exists()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_from_settings(client):
    response = client.get(reverse("user_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- departments ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_creates_and_renames_a_department(admin_user, head):
    client = client_for(admin_user)
    response = client.post(reverse("department_create"), {"name": "Опт", "head": head.pk})
    assert response.status_code == 302
    department = Department.objects.get(name="Опт")
    assert department.head == head

    listing = client.get(reverse("department_list")).content.decode()
    assert "Опт" in listing

    response = client.post(
        reverse("department_edit", args=[department.pk]), {"name": "Оптовый отдел", "head": ""}
    )
    assert response.status_code == 302
    department.refresh_from_db()
    assert (department.name, department.head) == ("Оптовый отдел", None)


@pytest.mark.django_db
def test_duplicate_department_name_is_a_field_error(admin_user, department):
    response = client_for(admin_user).post(reverse("department_create"), {"name": department.name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Department.objects.filter(name=department.name).count() == 1
