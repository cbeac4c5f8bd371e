"""Factories for users and departments."""

import datetime

import factory

from otdel.accounts.models import Department, Role, User

PASSWORD = "otdel-test-pass"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Отдел {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Сотрудник {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.SALES_MANAGER
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def always_at_work(*users: User) -> User:
    """Make ``users`` work every day around the clock, so routing never skips them as off shift."""
    for user in users:
        user.work_days = list(range(7))
        user.work_start, user.work_end = datetime.time(0, 0), datetime.time(23, 59, 59)
        user.save()
    return users[-1]
