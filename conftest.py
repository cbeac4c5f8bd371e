"""Fixtures shared by every app's tests."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import DepartmentFactory, UserFactory
from otdel.crm.tests.factories import PipelineFactory


@pytest.fixture
def department(db):
    return DepartmentFactory(name="Отдел продаж")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def head(department):
    return UserFactory(username="head", role=Role.HEAD_OF_SALES, department=department, extension="100")


@pytest.fixture
def manager(department):
    return UserFactory(username="manager", role=Role.SALES_MANAGER, department=department, extension="101")


@pytest.fixture
def other_manager(department):
    return UserFactory(username="manager2", role=Role.SALES_MANAGER, department=department, extension="102")


@pytest.fixture
def office_manager(db):
    return UserFactory(username="office", role=Role.OFFICE_MANAGER, extension="200")


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="Основная воронка")


@pytest.fixture
def api_for():
    """``api_for(user)`` -> an APIClient sending that user's token."""

    def make(user):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
