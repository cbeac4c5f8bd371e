"""The strict Content-Security-Policy in a real Chromium: the key pages of every role load without a
single refused script, console error or warning, and the behaviours that moved from inline handlers into
otdel.js (confirmations, autosubmit, the picker, copy, row removal, back) still work."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from otdel.accounts import services as account_services
from otdel.accounts.models import Absence, Role
from otdel.accounts.tests.factories import UserFactory
from otdel.comms.tests.webforms.test_webforms_api import purpose, queue, webform  # noqa: F401
from otdel.crm import services as crm_services
from otdel.crm.models import Contact, Deal
from otdel.crm.tests.factories import ContactFactory
from otdel.documents import services as documents_services
from otdel.documents.models import Document
from otdel.documents.tests.conftest import (  # noqa: F401  (a deal with items, an invoice template)
    client_company,
    deal,
    documents_files,
    invoice_template,
    my_company,
    numbering,
    priced_deal,
)
from otdel.privacy import services as privacy_services
from otdel.transfer import services as transfer_services
from otdel.transfer.tests import files

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 15_000

# Reports, from the page itself, whatever the policy refuses and whatever htmx refused to evaluate.
WATCH = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__otdelProblem("CSP refused " + e.effectiveDirective + " " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber);
});
document.addEventListener("htmx:evalDisallowedError", function (e) {
  window.__otdelProblem("htmx refused to evaluate code on " + (e.target && e.target.outerHTML || "").slice(0, 120));
});
"""


class Watch:
    """Console errors and warnings, page errors and CSP violations of one Playwright page, page by page."""

    def __init__(self, page, base_url: str) -> None:
        self.page, self.base_url, self.problems = page, base_url, []
        page.on(
            "console",
            lambda message: (
                message.type in ("error", "warning")
                and self.problems.append(f"{message.type}: {message.text}")
            ),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.expose_function("__otdelProblem", lambda text: self.problems.append(text))
        page.add_init_script(WATCH)

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(150)  # let the last reports cross from the page

    def visit(self, path: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.settle()
        self.assert_clean(path)

    def assert_clean(self, where: str, allow: str | None = None) -> None:
        problems, self.problems[:] = list(self.problems), []
        assert [p for p in problems if not (allow and allow in p)] == [], where


@pytest.fixture
def watch(live_server, page):
    page.set_default_timeout(SLOW)
    return Watch(page, live_server.url)


def answer_dialog(page, accept: bool) -> list[str]:
    """The next confirm() is answered; its question is put into the returned list."""
    asked: list[str] = []

    def handle(dialog):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", handle)
    return asked


def test_the_watch_sees_an_inline_handler_refused(watch, login_page, manager):
    login_page(manager)
    watch.visit("/deals/")
    watch.page.evaluate(
        """document.body.insertAdjacentHTML("beforeend",
             '<img src="/static/otdel/favicon.svg" onload="window.inlineRan = true">')"""
    )
    watch.settle()
    assert watch.page.evaluate("window.inlineRan") is None
    assert any("CSP refused script-src-attr" in problem for problem in watch.problems), watch.problems
    watch.problems.clear()


def test_sales_pages_and_their_behaviours(
    watch,
    login_page,
    head,
    manager,
    pipeline,
    priced_deal,  # noqa: F811
    invoice_template,  # noqa: F811
):
    page = watch.page
    contact = priced_deal.contact
    keeper = crm_services.contact_create(
        actor=manager, full_name="Сидорова Анна", identities=[("phone", "+79123456781")], responsible=manager
    )
    document = documents_services.document_create(
        actor=manager, deal=priced_deal, template=invoice_template, format="docx"
    )
    assert Document.objects.get(pk=document.pk).status == "ready"
    login_page(head)
    watch.assert_clean("sign-in")

    # Kanban: choosing a responsible submits the filter at once.
    watch.visit(f"/deals/?pipeline={pipeline.pk}")
    page.get_by_test_id("kanban-filters").locator("select[name=responsible]").select_option(str(manager.pk))
    expect(page).to_have_url(re.compile(rf"responsible={manager.pk}"))
    watch.settle()
    watch.assert_clean("kanban filtered")

    # The deal card and its documents panel: × removes an item row from the form.
    watch.visit(f"/deals/{priced_deal.pk}/")
    block = page.get_by_test_id("deal-documents")
    expect(block.get_by_test_id("item-row")).to_have_count(2)
    block.get_by_test_id("item-row").first.get_by_role("button", name="Remove").click()
    expect(block.get_by_test_id("item-row")).to_have_count(1)
    assert block.get_by_test_id("item-row").locator("input[name=name]").input_value() == (
        "Пусконаладочные работы"
    )
    # An htmx button asks first too: "Cancel" keeps the document, "OK" deletes it.
    row = block.get_by_test_id("document-row")
    asked = answer_dialog(page, accept=False)
    row.get_by_test_id("delete").click()
    page.wait_for_timeout(300)
    alive = Document.objects.filter(pk=document.pk, deleted_at__isnull=True)
    assert asked == ["Delete the document?"] and alive.exists()
    asked = answer_dialog(page, accept=True)
    row.get_by_test_id("delete").click()
    expect(block.get_by_test_id("document-row")).to_have_count(0)
    assert asked == ["Delete the document?"] and not alive.exists()
    watch.assert_clean("deal card")

    # The contact card: the picker finds and picks; the merge asks first, and "Cancel" merges nothing.
    watch.visit(f"/contacts/{contact.pk}/")
    merge = page.get_by_test_id("merge-form")
    search = merge.locator("input[type=search]")
    chosen = merge.locator("input[type=hidden][name=target]")
    search.press_sequentially("Сидорова", delay=20)
    merge.get_by_test_id("pick-result").first.click()
    expect(chosen).to_have_value(str(keeper.pk))
    expect(search).to_have_value(str(keeper))
    expect(merge.get_by_test_id("pick-result")).to_have_count(0)
    asked = answer_dialog(page, accept=False)
    merge.get_by_role("button", name="Merge").click()
    page.wait_for_timeout(300)
    assert asked == [
        "Merge this contact into the chosen one? Its phones, e-mails, leads, deals and notes move there."
    ]
    assert page.url.endswith(f"/contacts/{contact.pk}/")
    assert Contact.objects.filter(pk__in=[contact.pk, keeper.pk]).count() == 2
    search.fill("")  # emptied: nothing is picked any more
    expect(chosen).to_have_value("")
    watch.assert_clean("contact card")

    # The inbox: choosing whose inbox submits at once.
    watch.visit("/inbox/")
    page.locator("#inbox-user").select_option(str(manager.pk))
    expect(page).to_have_url(re.compile(rf"user={manager.pk}"))
    watch.settle()
    watch.assert_clean("inbox")

    # Reports, a drill-down and its back button, the plans page.
    watch.visit("/reports/funnel/")
    expect(page.locator('[data-testid="report-chart"][data-ready="1"]')).to_be_attached()
    page.click('[data-testid="reached-0"]')
    expect(page.get_by_test_id("drill-title")).to_be_visible()
    watch.settle()
    page.locator("[data-history-back]").click()
    expect(page).to_have_url(re.compile(r"/reports/funnel/$"))
    watch.settle()
    watch.assert_clean("reports")
    watch.visit("/reports/plans/")


def test_administration_pages_and_their_behaviours(
    watch,
    login_page,
    admin_user,
    head,
    manager,
    pipeline,
    department,
    webform,  # noqa: F811
):
    page = watch.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=watch.base_url)
    contact = ContactFactory(full_name="Козлов Игорь", responsible=manager)
    request = privacy_services.subject_request_create(
        actor=admin_user,
        kind="deletion",
        contact=contact,
        received_at=datetime.datetime.now(datetime.UTC),
    )
    absence = account_services.absence_create(
        actor=admin_user,
        user=manager,
        start=datetime.date.today() + datetime.timedelta(days=10),
        end=datetime.date.today() + datetime.timedelta(days=12),
    )
    UserFactory(username="petrov", full_name="Петров Пётр", role=Role.SALES_MANAGER, department=department)
    job = transfer_services.import_create(
        actor=admin_user,
        upload=files.upload(files.amo_deals(), "export.csv"),
        kind="auto",
        start=True,
        dry_run=False,
        pipeline=pipeline,
    )
    assert Deal.objects.count() == 3  # the import ran (tasks run inline in tests)
    login_page(admin_user)
    watch.assert_clean("sign-in")

    # A web form's settings: the copy button and the snippet selected on a click.
    watch.visit(f"/settings/channels/forms/{webform.slug}/")
    public_url = page.get_by_test_id("copy-value").first.input_value()
    assert public_url.endswith("/f/callback")
    page.get_by_test_id("copy-button").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == public_url
    snippet = page.get_by_test_id("embed-snippet")
    snippet.click()
    selected = snippet.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)")
    assert selected == snippet.input_value() and "<script" in selected
    watch.assert_clean("web form settings")

    watch.visit("/settings/channels/telephony/")
    watch.visit("/settings/calendar/")

    # Absences: the deletion asks first; "OK" deletes.
    watch.visit(f"/settings/schedules/{manager.pk}/absences/")
    asked = answer_dialog(page, accept=True)
    page.get_by_test_id("absence-delete").click()
    expect(page.get_by_test_id("absence-delete")).to_have_count(0)
    assert asked == ["Delete this absence?"]
    assert not Absence.objects.filter(pk=absence.pk).exists()
    watch.settle()
    watch.assert_clean("absences")

    # Privacy: the pages, and the destruction asks first; "Cancel" destroys nothing.
    for path in ("/privacy/", "/privacy/requests/", "/privacy/proposals/", "/privacy/consents/"):
        watch.visit(path)
    watch.visit(f"/privacy/requests/{request.pk}/")
    destroy = page.locator(f"form[action$='/privacy/contacts/{contact.pk}/destroy/']")
    expect(destroy.locator("input[name=destroy-reason]")).not_to_have_value("")
    asked = answer_dialog(page, accept=False)
    destroy.get_by_role("button", name="Destroy and write the act").click()
    page.wait_for_timeout(300)
    assert len(asked) == 1 and page.url.endswith(f"/privacy/requests/{request.pk}/")
    contact.refresh_from_db()
    assert contact.full_name == "Козлов Игорь"
    watch.assert_clean("privacy request")

    # The import's progress page: the undo asks first; "Cancel" keeps the deals.
    watch.visit(f"/imports/{job.pk}/")
    asked = answer_dialog(page, accept=False)
    page.get_by_test_id("undo").click()
    page.wait_for_timeout(300)
    assert asked == ["Remove what this import created and restore what it changed?"]
    assert Deal.objects.count() == 3
    watch.assert_clean("import")

    # Swagger draws the schema with its start-up script served as a file; the Django admin.
    watch.visit("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Otdel API")
    watch.settle()
    watch.assert_clean("swagger")
    watch.visit("/admin/")


def test_public_pages_and_the_two_factor_enrolment(
    watch,
    login_page,
    admin_user,
    settings,
    webform,  # noqa: F811
):
    page = watch.page
    watch.visit("/f/callback")
    expect(page.locator("form")).not_to_have_count(0)
    watch.visit("/login/")
    watch.visit("/admin/login/")

    settings.OTDEL_ADMIN_TWO_FACTOR = True
    login_page(admin_user)
    assert "/login/two-factor/setup/" in page.url
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    watch.settle()
    # A half-signed-in administrator's page opens no live stream at all (nothing to complain about).
    assert page.evaluate("typeof window.otdelLive") == "undefined"
    watch.assert_clean("two-factor enrolment")
