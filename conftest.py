"""Fixtures shared by every app's tests."""

import os

# Playwright runs its own event loop in the test thread while tests also use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from rest_framework.test import APIClient

from otdel.accounts.models import Role
from otdel.accounts.services import user_token_issue
from otdel.accounts.tests.factories import DepartmentFactory, UserFactory
from otdel.crm.tests.factories import PipelineFactory


@pytest.fixture(autouse=True)
def _admin_two_factor_off(settings):
    """Tests sign administrators in with force_login or tokens; the two-factor tests turn it on."""
    settings.OTDEL_ADMIN_TWO_FACTOR = False


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
            client.credentials(HTTP_AUTHORIZATION=f"Token {user_token_issue(user=user)}")
        return client

    return make


# --- browser tests (pytest-playwright driving Debian's Chromium) ---------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def login_page(live_server, page):
    """``login_page(user)`` -> a Playwright page logged in as ``user`` through the login form."""
    from otdel.accounts.tests.factories import PASSWORD

    def login(user):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return login


def pytest_configure(config):
    from django.conf import settings

    # Background tasks run inline in tests, so a webhook's effects are visible when it returns.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Apps may have touched the backends while loading: make them re-read the setting.
    from asgiref.local import Local
    from django_tasks import task_backends

    task_backends._settings = task_backends.settings = task_backends.configure_settings(None)
    task_backends._connections = Local()


@pytest.fixture
def integration_user(db):
    return UserFactory(username="pbx", role=Role.INTEGRATION)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production hashing costs ~0.3 s per password; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    # Browser tests last: Playwright's sync API keeps an event loop running in the main thread for
    # the rest of the session, and tests that use asyncio.run() (the AMI client) must run before it.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    # Tests assert on English messages; the Russian catalog is exercised by the tests that switch.
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _process_state_forgotten():
    """What a process keeps between requests must not outlive the test's database: the live hub's
    reader stops (it must not read while the next test empties the tables), and the routing
    snapshot, remembered tokens and automation's listened events are forgotten (a flush fires no
    signals, so a cached user of the last test would otherwise be routed to in the next)."""
    yield
    from otdel.automation.handlers_rules import _forget as forget_listened_events
    from otdel.live.hub import hub
    from otdel.routing.api.authentication import forget_tokens
    from otdel.routing.snapshot import routing_snapshot_clear

    hub.stop()
    routing_snapshot_clear()
    forget_tokens()
    forget_listened_events()
