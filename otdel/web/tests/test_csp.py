"""The Content-Security-Policy allows scripts from Otdel's own files only (docs/security.md): the
header on every kind of page, the pages themselves, and every template and script in the tree."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from otdel.accounts.tests.factories import PASSWORD
from otdel.comms.tests.webforms.test_webforms_api import purpose, queue, webform  # noqa: F401
from otdel.settings import BASE_DIR

OTDEL = BASE_DIR / "otdel"

# --- what counts as a script that is not a file ---------------------------------------------------

JSON_TYPES = {"application/json", "application/ld+json"}


class _InlineScripts(HTMLParser):
    """Collects, from a rendered page, whatever a script-src of 'self' alone would refuse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not values.get("src") and (values.get("type") or "") not in JSON_TYPES:
            self.found.append("<script> without src")


def inline_scripts_in_page(html: str) -> list[str]:
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return parser.found


# Template syntax is cut out first ({% include ... with one="x" %} is not an attribute); what is
# inside {% if %} blocks stays, so a handler there is still found.
_TEMPLATE_SYNTAX = re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TEMPLATE_RULES = {
    "inline event handler (on...=)": re.compile(r"""(?<![\w-])on[a-z]+\s*=\s*["'{]""", re.I),
    "hx-on": re.compile(r"(?<![\w-])(?:data-)?hx-on", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-vars or js: values (need eval)": re.compile(r"""hx-vars|hx-vals\s*=\s*["']\s*js:""", re.I),
    "hx-trigger filter [...] (needs eval)": re.compile(r"""hx-trigger\s*=\s*"[^"]*\w\[""", re.I),
}
_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


def template_problems(text: str) -> list[str]:
    text = _TEMPLATE_SYNTAX.sub(" ", text)
    found = [name for name, rule in _TEMPLATE_RULES.items() if rule.search(text)]
    for match in _SCRIPT_TAG.finditer(text):
        attributes = match.group(1)
        if re.search(r"\bsrc\s*=", attributes):
            continue
        if re.search(r"""\btype\s*=\s*["']application/(ld\+)?json["']""", attributes):
            continue
        found.append("<script> without src")
    return found


_JS_RULES = {
    "eval": re.compile(r"(?<![\w.])eval\s*\("),
    "new Function": re.compile(r"\bnew\s+Function\s*\(|(?<![\w.])Function\s*\(\s*[\"'`]"),
    "string timer": re.compile(r"\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"),
}


def script_problems(text: str) -> list[str]:
    return [name for name, rule in _JS_RULES.items() if rule.search(text)]


# --- the rules catch what they should (so the scans below can fail) ------------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        "<form onsubmit=\"return confirm('x')\">",
        "<select name=a\n  onchange='this.form.submit()'>",
        '{% if x %}<button onclick="go()">{% endif %}',
        '<input hx-on:input="x()">',
        '<div data-hx-on--after-request="x()">',
        '<a href="javascript:history.back()">',
        "<script>alert(1)</script>",
        '<script type="text/javascript">x()</script>',
        "<input hx-trigger=\"keyup[key=='Enter']\">",
        "<div hx-vals='js:{a: 1}'>",
    ],
)
def test_the_template_scan_finds_inline_script(snippet):
    assert template_problems(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "<script src=\"{% static 'otdel/otdel.js' %}\"></script>",
        '<script\n  id="x" src="/static/a.js"></script>',
        '<script type="application/json" id="cfg">{}</script>',
        '{% include "x.html" with one="1" only %}',
        '<form data-confirm="{{ question }}"><option value="on">',
        '<input hx-trigger="input changed delay:250ms, search{% if query %}, load{% endif %}">',
    ],
)
def test_the_template_scan_lets_files_and_data_through(snippet):
    assert template_problems(snippet) == []


def test_the_page_scan_finds_inline_script():
    page = '<a href=" JavaScript:x()">a</a><img onerror="x()"><script>1</script><p hx-on:click="y">'
    assert len(inline_scripts_in_page(page)) == 4
    ok = '<script src="/a.js"></script><script type="application/json">{}</script><a href="/x">x</a>'
    assert inline_scripts_in_page(ok) == []


def test_the_script_scan_finds_eval():
    assert script_problems("const f = eval(code);")
    assert script_problems('const f = new Function("a", "return a");')
    assert script_problems("setTimeout('go()', 10);")
    assert script_problems("window.setTimeout(function () {}, 10); retrieval(x); obj.eval(1)") == []


# --- every template and script of Otdel -----------------------------------------------------------


def _templates() -> list[Path]:
    return sorted(p for p in OTDEL.rglob("*.html") if "templates" in p.parts)


def _scripts() -> list[Path]:
    return sorted(p for p in OTDEL.rglob("*.js") if "static" in p.parts and "vendor" not in p.parts)


def test_no_template_needs_inline_script():
    templates = _templates()
    assert len(templates) > 100  # the scan really looked at the templates
    problems = {
        str(path.relative_to(BASE_DIR)): found
        for path in templates
        if (found := template_problems(path.read_text()))
    }
    assert problems == {}, "use the data attributes of otdel/web/static/otdel/otdel.js instead"


def test_no_script_of_ours_evaluates_strings():
    scripts = _scripts()
    assert any(p.name == "otdel.js" for p in scripts)
    problems = {
        str(p.relative_to(BASE_DIR)): found for p in scripts if (found := script_problems(p.read_text()))
    }
    assert problems == {}


# --- the header and the pages ---------------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_factor_page(settings, admin_user):
    """An administrator between the password and the one-time code: the enrolment page."""
    settings.OTDEL_ADMIN_TWO_FACTOR = True
    admin_user.set_password(PASSWORD)
    admin_user.save()
    client = Client()
    assert client.post("/login/", {"username": admin_user.username, "password": PASSWORD}).status_code == 302
    return client, "/login/two-factor/setup/"


@pytest.fixture
def page_to_check(request, manager, admin_user):
    kind = request.param
    if kind == "ui":
        return _signed_in(manager), "/deals/"
    if kind == "contact card":
        from otdel.crm.tests.factories import ContactFactory

        return _signed_in(admin_user), f"/contacts/{ContactFactory(responsible=manager).pk}/"
    if kind == "public form":
        request.getfixturevalue("webform")
        return Client(), "/f/callback"
    if kind == "swagger":
        return Client(), "/api/docs/"
    if kind == "admin login":
        return Client(), "/admin/login/"
    if kind == "admin":
        return _signed_in(admin_user), "/admin/"
    if kind == "login":
        return Client(), "/login/"
    if kind == "two-factor":
        return request.getfixturevalue("two_factor_page")
    raise AssertionError(kind)


PAGES = ["ui", "contact card", "public form", "swagger", "admin login", "admin", "login", "two-factor"]


@pytest.mark.django_db
@pytest.mark.parametrize("page_to_check", PAGES, indirect=True)
def test_pages_allow_scripts_from_files_only_and_need_nothing_else(page_to_check):
    client, url = page_to_check
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert "script-src-attr" not in policy and "script-src-elem" not in policy
    assert inline_scripts_in_page(response.content.decode()) == []


@pytest.mark.django_db
def test_swagger_loads_its_start_up_script_from_a_url(client):
    html = Client().get("/api/docs/").content.decode()
    assert 'src="/api/docs/?script="' in html
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


@pytest.mark.django_db
def test_htmx_may_not_evaluate_code_from_attributes(manager):
    html = _signed_in(manager).get("/deals/").content.decode()
    meta = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", html)
    assert meta and json.loads(meta.group(1))["allowEval"] is False
