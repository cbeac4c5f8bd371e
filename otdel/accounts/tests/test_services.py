"""user_create / user_update / department services: the rules they enforce and what they log."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from otdel.accounts import services
from otdel.accounts.models import Department, Role, User
from otdel.accounts.tests.factories import PASSWORD
from otdel.core.exceptions import ConflictError
from otdel.core.models import ObjectChange

STRONG = "Tr1cky-Sales-42"


def changes_of(obj):
    return ObjectChange.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("id")


@pytest.mark.django_db
def test_user_create_sets_role_extension_and_staff_flag(admin_user, department):
    user = services.user_create(
        actor=admin_user,
        username="ivanova",
        password=STRONG,
        full_name="Иванова Анна",
        role=Role.HEAD_OF_SALES,
        department=department,
        extension="105",
        work_days=[0, 1, 2, 3],
        work_start=datetime.time(10, 0),
        work_end=datetime.time(19, 0),
    )
    user.refresh_from_db()
    assert (user.role, user.department, user.extension) == (Role.HEAD_OF_SALES, department, "105")
    assert user.work_days == [0, 1, 2, 3]
    assert user.check_password(STRONG)
    assert not user.is_staff
    log = changes_of(user).get()
    assert (log.action, log.user) == ("create", admin_user)
    assert log.changes["extension"] == "105"
    assert log.changes["department"] == department.pk


@pytest.mark.django_db
def test_admin_role_gets_staff_flag(admin_user):
    user = services.user_create(actor=admin_user, username="boss", password=STRONG, role=Role.ADMIN)
    assert user.is_staff


@pytest.mark.django_db
def test_unknown_role_is_refused(admin_user):
    with pytest.raises(ValidationError) as info:
        services.user_create(actor=admin_user, username="x", password=STRONG, role="king")
    assert "role" in info.value.error_dict
    assert not User.objects.filter(username="x").exists()


@pytest.mark.django_db
def test_unknown_role_on_update_is_refused_and_nothing_saved(admin_user, manager):
    with pytest.raises(ValidationError) as info:
        services.user_update(actor=admin_user, user=manager, role="king")
    assert "role" in info.value.error_dict
    manager.refresh_from_db()
    assert manager.role == Role.SALES_MANAGER


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["", "123", "password123"])
def test_weak_or_missing_password_is_refused(admin_user, password):
    with pytest.raises(ValidationError) as info:
        services.user_create(actor=admin_user, username="weak", password=password)
    assert "password" in info.value.error_dict
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.django_db
def test_weak_password_on_update_keeps_the_old_one(admin_user, manager):
    with pytest.raises(ValidationError) as info:
        services.user_update(actor=admin_user, user=manager, password="12345")
    assert "password" in info.value.error_dict
    assert User.objects.get(pk=manager.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_duplicate_extension_is_a_conflict(admin_user, manager):
    with pytest.raises(ConflictError) as info:
        services.user_create(
            actor=admin_user, username="newbie", password=STRONG, extension=manager.extension
        )
    assert (info.value.code, info.value.field) == ("extension_taken", "extension")
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.django_db
def test_taking_another_users_extension_on_update_is_a_conflict(admin_user, manager, other_manager):
    with pytest.raises(ConflictError) as info:
        services.user_update(actor=admin_user, user=other_manager, extension=manager.extension)
    assert info.value.field == "extension"
    assert User.objects.get(pk=other_manager.pk).extension == "102"


@pytest.mark.django_db
def test_duplicate_username_is_a_conflict_case_insensitively(admin_user, manager):
    with pytest.raises(ConflictError) as info:
        services.user_create(actor=admin_user, username="MANAGER", password=STRONG)
    assert info.value.code == "username_taken"


@pytest.mark.django_db
@pytest.mark.parametrize("extension", ["1", "123456789", "10a"])
def test_invalid_extension_is_a_field_error(admin_user, extension):
    with pytest.raises(ValidationError) as info:
        services.user_create(actor=admin_user, username="ext", password=STRONG, extension=extension)
    assert "extension" in info.value.error_dict


@pytest.mark.django_db
def test_empty_extension_is_stored_as_none_so_many_users_may_have_none(admin_user):
    services.user_create(actor=admin_user, username="a1", password=STRONG, extension="")
    services.user_create(actor=admin_user, username="a2", password=STRONG, extension="")
    extensions = User.objects.filter(username__in=["a1", "a2"]).values_list("extension", flat=True)
    assert list(extensions) == [None, None]


@pytest.mark.django_db
def test_unknown_field_is_refused(admin_user):
    with pytest.raises(ValidationError) as info:
        services.user_create(actor=admin_user, username="f", password=STRONG, is_superuser=True)
    assert "is_superuser" in info.value.error_dict


@pytest.mark.django_db
def test_update_logs_old_and_new_values(admin_user, manager, department):
    services.user_update(actor=admin_user, user=manager, extension="150", language="ru")
    log = changes_of(manager).filter(action="update").get()
    assert log.user == admin_user
    assert log.changes == {"extension": ["101", "150"], "language": ["en", "ru"]}


@pytest.mark.django_db
def test_update_without_changes_logs_nothing(admin_user, manager):
    services.user_update(actor=admin_user, user=manager, extension=manager.extension)
    assert not changes_of(manager).filter(action="update").exists()


@pytest.mark.django_db
def test_password_change_is_logged_without_the_password(admin_user, manager):
    services.user_update(actor=admin_user, user=manager, password=STRONG)
    assert User.objects.get(pk=manager.pk).check_password(STRONG)
    log = changes_of(manager).filter(action="update").get()
    assert STRONG not in str(log.changes)


@pytest.mark.django_db
def test_department_create_and_update(admin_user, manager):
    department = services.department_create(actor=admin_user, name="  Опт  ")
    assert department.name == "Опт"
    services.department_update(actor=admin_user, department=department, name="Оптовый отдел", head=manager)
    department.refresh_from_db()
    assert (department.name, department.head) == ("Оптовый отдел", manager)
    log = changes_of(department).get(action="update")
    assert log.changes == {"name": ["Опт", "Оптовый отдел"], "head": [None, manager.pk]}


@pytest.mark.django_db
def test_department_name_must_be_unique(admin_user, department):
    other = services.department_create(actor=admin_user, name="Опт")
    with pytest.raises(ValidationError) as info:
        services.department_update(actor=admin_user, department=other, name=department.name)
    assert "name" in info.value.error_dict
    assert Department.objects.get(pk=other.pk).name == "Опт"
