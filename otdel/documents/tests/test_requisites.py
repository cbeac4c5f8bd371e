"""Control digits of INN, OGRN/OGRNIP, BIK and accounts: real valid numbers pass, a changed digit fails."""

import pytest

from otdel.documents.requisites import account_error, inn_error, kpp_error, ogrn_error, requisites_errors

V1 = "/api/v1"


@pytest.mark.parametrize(
    "inn",
    ["7707083893", "7736050003", "7728168971", "7710140679", "500100732259"],
)
def test_real_inns_are_valid(inn):
    assert inn_error(inn) is None


@pytest.mark.parametrize(
    "inn", ["7707083894", "7701234567", "500100732258", "12345", "77070838931", "77O7083893"]
)
def test_wrong_inns_are_refused(inn):
    assert inn_error(inn)


@pytest.mark.parametrize("ogrn", ["1027700132195", "1027700070518", "304500116000157"])
def test_real_ogrns_are_valid(ogrn):
    assert ogrn_error(ogrn) is None


@pytest.mark.parametrize("ogrn", ["1027700132194", "304500116000158", "102770013219"])
def test_wrong_ogrns_are_refused(ogrn):
    assert ogrn_error(ogrn)


def test_accounts_are_checked_against_the_bik():
    # Sberbank (Moscow): BIK 044525225, corr. account 30101810400000000225.
    assert account_error("30101810400000000225", "044525225", correspondent=True) is None
    assert account_error("30101810400000000226", "044525225", correspondent=True)
    assert account_error("40702810200000012345", "044525225") is None
    assert account_error("40702810300000012345", "044525225")
    assert account_error("40702810200000012345", "044525")  # no valid BIK to check against
    assert kpp_error("773601001") is None
    assert kpp_error("77360100") is not None


def test_requisites_errors_name_each_field():
    errors = requisites_errors(
        {"inn": "7707083894", "ogrn": "1027700132195", "bik": "044525225", "account": "40702810300000012345"}
    )
    assert set(errors) == {"inn", "account"}


@pytest.mark.django_db
def test_my_company_api_refuses_a_wrong_inn_naming_the_field(api_for, admin_user):
    response = api_for(admin_user).put(
        f"{V1}/my-company", {"name": "ООО «Отдел»", "inn": "7707083894", "bik": "044525225"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"inn"}
    response = api_for(admin_user).put(
        f"{V1}/my-company",
        {
            "name": "ООО «Отдел»",
            "inn": "7707083893",
            "bik": "044525225",
            "account": "40702810200000012345",
            "corr_account": "30101810400000000225",
            "ogrn": "1027700132195",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["is_default"] is True
    assert api_for(admin_user).get(f"{V1}/my-company").json()["inn"] == "7707083893"


@pytest.mark.django_db
def test_my_company_is_for_administrators(api_for, manager):
    response = api_for(manager).put(f"{V1}/my-company", {"name": "ООО «Отдел»"}, format="json")
    assert response.status_code == 403


@pytest.mark.django_db
def test_company_api_takes_requisites_and_checks_control_digits(api_for, manager):
    client = api_for(manager)
    response = client.post(
        f"{V1}/companies",
        {"name": "ООО «Ромашка»", "inn": "7736050003", "ogrn": "1027700070519"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"ogrn"}
    response = client.post(
        f"{V1}/companies",
        {
            "name": "ООО «Ромашка»",
            "inn": "7736050003",
            "kpp": "772801001",
            "ogrn": "1027700070518",
            "bik": "044525225",
            "account": "40702810200000012345",
            "signatory": "Иванов И. И.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    company = response.json()
    assert (company["kpp"], company["ogrn"], company["signatory"]) == (
        "772801001",
        "1027700070518",
        "Иванов И. И.",
    )
    response = client.patch(
        f"{V1}/companies/{company['id']}", {"account": "40702810300000012345"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"account"}
