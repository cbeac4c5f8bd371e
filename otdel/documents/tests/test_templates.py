"""Uploading templates: what a template uses is listed; unknown variables, broken tags, non-DOCX,
macros, zip bombs and endless loops are refused with a message that names the problem."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from otdel.documents import rendering
from otdel.documents.models import DocumentTemplate
from otdel.documents.tests.conftest import DEMO
from otdel.documents.tests.docx_support import docx_bytes, with_macros, zip_bomb

V1 = "/api/v1"
pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "t.docx", **fields):
    payload = {"file": SimpleUploadedFile(name, data), "name": "Счёт", "kind": "invoice", **fields}
    return client.post(f"{V1}/document-templates", payload, format="multipart")


def test_a_good_template_lists_the_variables_it_uses(api_for, admin_user, numbering):
    data = docx_bytes(
        "Счёт № {{ document.number }} от {{ document.date }}",
        "{{ client.name }}, ИНН {{ client.inn }}",
        "{% if client.kpp %}КПП {{ client.kpp }}{% endif %}",
        table_loop=True,
    )
    response = upload(api_for(admin_user), data, numbering="invoice")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["variables"] == [
        "client.inn",
        "client.kpp",
        "client.name",
        "document.date",
        "document.number",
        "items[].name",
        "items[].total",
    ]
    assert body["numbering"] == "invoice"
    assert DocumentTemplate.objects.get(pk=body["id"]).sha256 == body["sha256"]


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO.glob("*.docx")))
def test_the_demo_templates_pass_the_checks(api_for, admin_user, name):
    response = upload(api_for(admin_user), (DEMO / name).read_bytes(), name)
    assert response.status_code == 201, response.json()
    assert "totals.gross_in_words" in response.json()["variables"]


@pytest.mark.parametrize(
    ("lines", "code", "named"),
    [
        (["{{ deal.titel }}"], "unknown_variable", "deal.titel"),
        (["{{ client.nmae }}"], "unknown_variable", "client.nmae"),
        (["{{ customer }}"], "unknown_variable", "customer"),
        (["{{ deal.title }"], "syntax_error", "Broken template tag"),
        (["{% if deal.title %}без конца"], "syntax_error", "Broken template tag"),
    ],
)
def test_bad_templates_are_refused_naming_the_problem(api_for, admin_user, lines, code, named):
    response = upload(api_for(admin_user), docx_bytes(*lines))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert named in body["errors"]["file"][0]
    assert not DocumentTemplate.objects.exists()


def test_an_unknown_item_field_inside_a_table_loop_is_named(api_for, admin_user):
    data = docx_bytes("{%p for item in items %}", "{{ item.nmae }}", "{%p endfor %}")
    response = upload(api_for(admin_user), data)
    assert response.status_code == 400
    assert "items[].nmae" in response.json()["errors"]["file"][0]


def test_not_a_docx_macros_and_zip_bombs_are_refused(api_for, admin_user):
    client = api_for(admin_user)
    response = upload(client, b"%PDF-1.4 not a word file", "t.docx")
    assert (response.status_code, response.json()["code"]) == (400, "not_docx")
    response = upload(client, docx_bytes("x"), "t.pdf")
    assert (response.status_code, response.json()["code"]) == (400, "not_docx")
    response = upload(client, docx_bytes("x"), "t.docm")
    assert (response.status_code, response.json()["code"]) == (400, "macros")
    response = upload(client, with_macros(), "t.docx")
    assert (response.status_code, response.json()["code"]) == (400, "macros")
    response = upload(client, zip_bomb(), "t.docx")
    assert (response.status_code, response.json()["code"]) == (400, "too_large")
    assert not DocumentTemplate.objects.exists()


def test_a_template_that_loops_forever_is_cut_off(settings):
    # Nested loops of the sandbox's maximum range: 10^10 iterations, far beyond any time limit.
    data = docx_bytes("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}")
    with pytest.raises(rendering.TemplateProblem) as problem:
        rendering.render_docx(data, {}, timeout=2)
    assert problem.value.code == "render_timeout"


def test_templates_need_an_administrator(api_for, manager):
    response = upload(api_for(manager), docx_bytes("{{ deal.title }}"))
    assert response.status_code == 403


def test_the_reference_lists_every_variable_with_an_example(api_for, manager):
    rows = api_for(manager).get(f"{V1}/document-templates/reference").json()["results"]
    by_name = {row["variable"]: row for row in rows}
    assert by_name["totals.gross_in_words"]["example"].startswith("Восемьсот восемьдесят три тысячи")
    assert {
        "document.number",
        "deal.title",
        "client.inn",
        "my_company.bik",
        "items[].total",
        "manager.full_name",
    } <= set(by_name)
