"""The one CRM search (otdel.crm.search): the table of queries, the scope, the index kept in step,
``?q=`` of the lists and the API, and keyset pages. The same table runs on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from otdel.crm import search, services
from otdel.crm.models import Contact, Deal, SearchEntry
from otdel.crm.tests.factories import ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(admin_user, manager, other_manager, pipeline):
    """A small book of clients with the traps of real ones: ё, the same surname in both genders,
    an e-mail in capitals, a company with an INN."""
    romashka = services.company_create(actor=admin_user, name="ООО «Ромашка»", inn="7707083893")
    vector = services.company_create(actor=admin_user, name="АО Вектор-Строй", inn="5408131552")

    def contact(name, *, owner, company=None, position="", identities=()):
        return services.contact_create(
            actor=admin_user,
            full_name=name,
            company=company,
            position=position,
            responsible=owner,
            identities=list(identities),
        )

    kiseleva = contact(
        "Киселёва Анна Петровна",
        owner=manager,
        company=romashka,
        position="Главный бухгалтер",
        identities=[("phone", "+7 967 484-23-34"), ("email", "Anna.Kiseleva@Romashka.ru")],
    )
    smirnova = contact("Смирнова Ольга Игоревна", owner=manager, identities=[("phone", "8 912 000-11-22")])
    smirnov = contact("Смирнов Олег", owner=other_manager, identities=[("phone", "+7 495 777-01-02")])
    olga = contact("Ольга Белова", owner=manager)
    ivanov = contact(
        "Иванов Пётр Сергеевич",
        owner=manager,
        company=vector,
        position="Главный инженер",
        identities=[("phone", "+7 (916) 555-12-34"), ("email", "petr@vector-stroy.ru")],
    )
    stage = pipeline.stages.order_by("order").first()
    deal = services.deal_create(
        actor=admin_user,
        title="Поставка станков ЧПУ",
        pipeline=pipeline,
        stage=stage,
        contact=ivanov,
        company=vector,
        responsible=manager,
        amount="1500000",
    )
    lead = services.lead_create(actor=admin_user, contact=smirnova, source="form", channel="form")
    return SimpleNamespace(
        romashka=romashka,
        vector=vector,
        kiseleva=kiseleva,
        smirnova=smirnova,
        smirnov=smirnov,
        olga=olga,
        ivanov=ivanov,
        deal=deal,
        lead=lead,
    )


# The table: what a person types -> the kind and the record that must come first.
QUERIES = [
    # ё = е, in both directions, and case
    ("Киселева", "contacts", "kiseleva"),
    ("киселёва", "contacts", "kiseleva"),
    ("КИСЕЛЕВА АННА", "contacts", "kiseleva"),
    # word order, prefixes, initials
    ("Ольга Смирнова", "contacts", "smirnova"),
    ("Смирнова Ольга", "contacts", "smirnova"),
    ("смир ольг", "contacts", "smirnova"),
    ("Смирнова О.", "contacts", "smirnova"),
    ("Смирнова О. И.", "contacts", "smirnova"),
    ("О. Смирнова", "contacts", "smirnova"),
    ("Смирнов", "contacts", "smirnov"),  # the whole word before the longer "Смирнова"
    ("Смирнов О.", "contacts", "smirnov"),
    ("Ольга", "contacts", "olga"),  # the name first, before "Смирнова Ольга"
    # one typo in a word of 5+ letters: changed, missing, extra, swapped letters
    ("Кисилева", "contacts", "kiseleva"),
    ("Киселва", "contacts", "kiseleva"),
    ("Кисселева", "contacts", "kiseleva"),
    ("Смринова", "contacts", "smirnova"),
    ("Иваонв", "contacts", "ivanov"),
    ("Кисилева Анна", "contacts", "kiseleva"),
    # company, position
    ("ромашка", "companies", "romashka"),
    ("бухгалтер", "contacts", "kiseleva"),
    ("инженер иванов", "contacts", "ivanov"),
    ("вектор строй", "companies", "vector"),
    # partial phones in six formats, with and without separators; full phones in other formats
    ("484-23-34", "contacts", "kiseleva"),
    ("4842334", "contacts", "kiseleva"),
    ("484 23 34", "contacts", "kiseleva"),
    ("967 484 23 34", "contacts", "kiseleva"),
    ("(967) 484-23-34", "contacts", "kiseleva"),
    ("23-34", "contacts", "kiseleva"),
    ("8 967 484 23 34", "contacts", "kiseleva"),
    ("+79674842334", "contacts", "kiseleva"),
    ("+7 (912) 000-11-22", "contacts", "smirnova"),
    ("1234", "contacts", "ivanov"),
    # e-mails in another case, and a part of one
    ("ANNA.KISELEVA@ROMASHKA.RU", "contacts", "kiseleva"),
    ("Petr@Vector-Stroy.RU", "contacts", "ivanov"),
    ("anna.kiseleva", "contacts", "kiseleva"),
    # INN, whole and its start
    ("7707083893", "companies", "romashka"),
    ("770708", "companies", "romashka"),
    ("5408131552", "companies", "vector"),
    # deals by title, and by the client's name
    ("станки чпу", "deals", "deal"),  # "станки" is one letter from "станко(в)"
    ("чпу фрезер", "deals", None),  # every word must match
    ("поставка чпу", "deals", "deal"),
    ("Иванов", "deals", "deal"),
    # leads by their contact's name or phone
    ("смирнова", "leads", "lead"),
    ("000-11-22", "leads", "lead"),
]


@pytest.mark.parametrize(("typed", "kind", "expected"), QUERIES)
def test_the_query_table(people, admin_user, typed, kind, expected):
    found = search.find(user=admin_user, text=typed, limit=10)
    rows = found.objects[kind]
    if expected is None:
        assert rows == []
    else:
        assert rows, f"{typed!r} found no {kind}"
        assert rows[0] == getattr(people, expected), [str(r) for r in rows]


@pytest.mark.parametrize("typed", ["", " ", "о", "О.", "12", "123", "--"])
def test_too_little_to_search_finds_nothing(people, admin_user, typed):
    assert search.find(user=admin_user, text=typed).total == 0


def test_a_typo_is_not_read_into_a_word_that_exists(people, admin_user):
    # "Белова" exists: it is not also read as a typo of anything else.
    query = search.parse("Белова")
    assert query.terms[0].corrections == []
    assert search.parse("Кисилева").terms[0].corrections == ["киселева"]


def test_matches_are_marked(people, admin_user):
    hits = search.find(user=admin_user, text="киселева ан").groups["contacts"]
    assert str(hits[0].title) == "<mark>Киселёва</mark> <mark>Ан</mark>на Петровна"
    phone = search.find(user=admin_user, text="484-23-34").groups["contacts"][0]
    assert "<mark>484-23-34</mark>" in str(phone.detail)


def test_marking_escapes_html(admin_user):
    contact = services.contact_create(actor=admin_user, full_name="<b>Жуков</b> & сын")
    hit = search.find(user=admin_user, text="жуков").groups["contacts"][0]
    assert hit.pk == contact.pk
    assert str(hit.title) == "&lt;b&gt;<mark>Жуков</mark>&lt;/b&gt; &amp; сын"


# --- scope ---------------------------------------------------------------------------------------


def test_a_salesperson_finds_only_what_they_may_see(people, manager, other_manager, office_manager):
    mine = search.find(user=manager, text="смирнов", limit=10).objects["contacts"]
    assert people.smirnova in mine and people.smirnov not in mine
    assert search.find(user=manager, text="+7 495 777-01-02").objects["contacts"] == []
    assert search.find(user=manager, text="777-01-02").objects["contacts"] == []
    assert search.find(user=other_manager, text="777-01-02").objects["contacts"] == [people.smirnov]
    assert search.find(user=other_manager, text="Поставка").objects["deals"] == []
    assert search.find(user=other_manager, text="смирнова").objects["leads"] == []


def test_a_non_target_contact_is_hidden_from_sales_but_found_by_triage(
    people, admin_user, manager, office_manager
):
    Contact.objects.filter(pk=people.olga.pk).update(non_target=True)  # as lead triage marks it
    assert search.find(user=manager, text="Белова").objects["contacts"] == []
    assert search.find(user=office_manager, text="Белова").objects["contacts"] == [people.olga]


def test_the_api_q_goes_through_the_scope(people, manager, api_for):
    response = api_for(manager).get("/api/v1/contacts", {"q": "Смирнов"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [people.smirnova.pk]


# --- the index follows the records ---------------------------------------------------------------


def test_renames_reach_the_index(people, admin_user):
    services.contact_update(actor=admin_user, contact=people.olga, full_name="Ольга Кравец")
    assert search.find(user=admin_user, text="Кравец").objects["contacts"] == [people.olga]
    assert search.find(user=admin_user, text="Белова").objects["contacts"] == []
    services.company_update(actor=admin_user, company=people.romashka, name="ООО «Лютик»")
    assert search.find(user=admin_user, text="лютик").objects["contacts"] == [people.kiseleva]
    assert search.find(user=admin_user, text="ромашка").objects["companies"] == []


def test_a_new_phone_is_found_and_a_removed_one_is_not(people, admin_user):
    services.identity_add(actor=admin_user, contact=people.olga, kind="phone", value="+7 903 111-22-33")
    assert search.find(user=admin_user, text="111-22-33").objects["contacts"] == [people.olga]
    people.olga.identities.get(kind="phone").delete()
    assert search.find(user=admin_user, text="111-22-33").objects["contacts"] == []
    assert not SearchEntry.objects.filter(kind="phone", digits__startswith="33221").exists()


def test_a_merged_contact_is_found_as_the_survivor(people, admin_user):
    services.contact_merge(actor=admin_user, source=people.olga, target=people.smirnova)
    services.identity_add(actor=admin_user, contact=people.smirnova, kind="email", value="olga@belova.ru")
    assert search.find(user=admin_user, text="olga@belova.ru").objects["contacts"] == [people.smirnova]
    assert people.olga not in search.find(user=admin_user, text="Белова").objects["contacts"]


def test_reindex_rebuilds_what_a_bulk_load_skipped(people, admin_user):
    Contact.objects.bulk_create([Contact(full_name="Загружен Списком")])
    assert search.find(user=admin_user, text="Загружен").objects["contacts"] == []
    search.reindex()
    assert [c.full_name for c in search.find(user=admin_user, text="Загружен").objects["contacts"]] == [
        "Загружен Списком"
    ]
    assert search.find(user=admin_user, text="Киселева").objects["contacts"] == [people.kiseleva]


def test_deleting_a_deal_drops_its_entry(people, admin_user):
    pk = people.deal.pk
    Deal.objects.filter(pk=pk).delete()
    assert not SearchEntry.objects.filter(deal_id=pk).exists()


# --- ?q= of the lists and the API ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "typed", "expected"),
    [
        ("/api/v1/contacts", "Кисилева", "kiseleva"),
        ("/api/v1/contacts", "484-23-34", "kiseleva"),
        ("/api/v1/companies", "7707083893", "romashka"),
        ("/api/v1/deals", "станков", "deal"),
        ("/api/v1/leads", "Смирнова О.", "lead"),
    ],
)
def test_api_lists_take_q(people, admin_user, api_for, path, typed, expected):
    body = api_for(admin_user).get(path, {"q": typed}).json()
    assert body["results"][0]["id"] == getattr(people, expected).pk
    assert body["count"] == len(body["results"])


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [
        ("contact_list", "Кисилева", "Киселёва Анна Петровна"),
        ("company_list", "770708", "ООО «Ромашка»"),
        ("deal_list", "чпу", "Поставка станков ЧПУ"),
        ("lead_list", "000-11-22", "Смирнова Ольга Игоревна"),
    ],
)
def test_web_lists_take_q(people, client, admin_user, name, typed, expected):
    client.force_login(admin_user)
    page = client.get(reverse(name), {"q": typed})
    assert page.status_code == 200
    assert expected in page.content.decode()
    assert expected in str(page.context["page"].rows[0])


def test_top_bar_suggestions(people, client, manager):
    client.force_login(manager)
    page = client.get(reverse("search_suggest"), {"q": "кисилева"}, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "<mark>Киселёва</mark>" in html
    assert 'data-testid="suggest-contacts"' in html
    assert reverse("contact_detail", args=[people.kiseleva.pk]) in html
    assert "Смирнов Олег" not in client.get(reverse("search_suggest"), {"q": "смирнов"}).content.decode()


@pytest.mark.parametrize("typed", ["Иванов", "Смирнова", "Ромашка", "8 916 555 12 34", "555-12-34"])
def test_the_top_bar_loads_only_what_its_hits_show(people, admin_user, typed, django_assert_max_num_queries):
    full = search.find(user=admin_user, text=typed)
    with django_assert_max_num_queries(8):  # the ranking and the load of each kind, nothing per hit
        lean = search.find(user=admin_user, text=typed, hits_only=True)
        shown = [
            (h.kind, h.pk, h.url, str(h.title), str(h.detail))
            for kind in search.KINDS
            for h in lean.groups[kind]
        ]
    assert shown == [
        (h.kind, h.pk, h.url, str(h.title), str(h.detail)) for kind in search.KINDS for h in full.groups[kind]
    ]
    assert shown and lean.counts == full.counts


def test_a_phone_in_the_top_bar_shows_its_people_first_and_the_rest_after(
    people, client, manager, admin_user
):
    client.force_login(manager)
    first = client.get(reverse("search_suggest"), {"q": "8 916 555 12 34"}, HTTP_HX_REQUEST="true")
    html = first.content.decode()
    assert reverse("contact_detail", args=[people.ivanov.pk]) in html
    assert 'data-testid="suggest-deals"' not in html  # the client first: their deals follow
    rest_url = f"{reverse('search_suggest')}?q=8+916+555+12+34&amp;rest=1"
    assert rest_url in html
    rest = client.get(reverse("search_suggest"), {"q": "8 916 555 12 34", "rest": "1"}).content.decode()
    assert reverse("deal_detail", args=[people.deal.pk]) in rest
    assert 'data-testid="suggest-contacts"' not in rest and "suggest-all" not in rest
    # the last digits alike; a phone of a client the salesperson may not see finds nothing at all
    assert (
        'data-testid="suggest-rest"'
        in client.get(reverse("search_suggest"), {"q": "555-12-34"}).content.decode()
    )
    for typed in ("+7 495 777-01-02", "777-01-02"):
        page = client.get(reverse("search_suggest"), {"q": typed}).content.decode()
        assert 'data-testid="search-suggest-empty"' in page
        rest = client.get(reverse("search_suggest"), {"q": typed, "rest": "1"}).content.decode()
        assert "Смирнов Олег" not in rest


def test_a_whole_e_mail_someone_holds_is_answered_by_the_identity_index(people, admin_user):
    held = search.parse("ANNA.KISELEVA@ROMASHKA.RU")
    assert held.terms == [] and held.by_identity and held.contact_ids() == [people.kiseleva.pk]
    # nobody holds this one: it is read as its words, which Киселёва's entry has
    unknown = search.parse("Kiseleva@Romashka.RU")
    assert [t.text for t in unknown.terms] == ["kiseleva", "romashka", "ru"] and not unknown.by_identity
    assert search.find(user=admin_user, text="Kiseleva@Romashka.RU").objects["contacts"] == [people.kiseleva]


def test_search_page_opens_the_card_of_a_single_phone_match(people, client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("search"), {"q": "8 (967) 484-23-34"})
    assert response.status_code == 302
    assert response["Location"] == reverse("contact_detail", args=[people.kiseleva.pk])
    page = client.get(reverse("search"), {"q": "Смирн"})
    assert "<mark>Смирн</mark>ова Ольга Игоревна" in page.content.decode()


# --- keyset pages ------------------------------------------------------------------------------------


def test_cursor_pages_neither_repeat_nor_drop_rows_while_rows_are_inserted(admin_user, api_for):
    for n in range(60):
        ContactFactory(full_name=f"Клиент {n:03d}")
    before = set(Contact.objects.values_list("pk", flat=True))
    api = api_for(admin_user)
    seen: list[int] = []
    response = api.get("/api/v1/contacts", {"page_size": 7}).json()
    inserted = 0
    while True:
        seen += [row["id"] for row in response["results"]]
        # Someone adds clients while we page: before and after the current position.
        ContactFactory(full_name=f"Клиент {inserted:03d}а")
        ContactFactory(full_name="Аaa в начале списка")
        inserted += 1
        if not response["next"]:
            break
        response = api.get(response["next"]).json()
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before <= set(seen), "a row was skipped"


def test_cursor_pages_of_a_search_keep_the_best_first_order(people, admin_user, api_for):
    for n in range(12):
        services.contact_create(actor=admin_user, full_name=f"Смирнова Вера {n}")
    api = api_for(admin_user)
    first = api.get("/api/v1/contacts", {"q": "смирнова", "page_size": 5}).json()
    ids = [row["id"] for row in first["results"]]
    follow = first["next"]
    while follow:
        page = api.get(follow).json()
        ids += [row["id"] for row in page["results"]]
        follow = page["next"]
    everything = [c.pk for c in search.filter_queryset(Contact.objects.all(), "contacts", "смирнова")]
    assert ids == everything and len(ids) == 13


def test_deals_and_leads_page_by_cursor(people, admin_user, api_for, pipeline):
    for _n in range(6):
        DealFactory(pipeline=pipeline)
        LeadFactory()
    api = api_for(admin_user)
    for path in ("/api/v1/deals", "/api/v1/leads", "/api/v1/companies"):
        body = api.get(path, {"page_size": 2}).json()
        ids = [row["id"] for row in body["results"]]
        while body["next"]:
            body = api.get(body["next"]).json()
            ids += [row["id"] for row in body["results"]]
        assert len(ids) == len(set(ids)) >= 2


def test_bad_cursor_and_page_past_the_cap_are_400(admin_user, api_for):
    api = api_for(admin_user)
    response = api.get("/api/v1/contacts", {"cursor": "nonsense"})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]
    response = api.get("/api/v1/contacts", {"page": 9999})
    assert response.status_code == 400
    assert "page" in response.json()["errors"]


def test_counts_stop_at_the_cap(admin_user, monkeypatch):
    for n in range(5):
        ContactFactory(full_name=f"Клиент {n}")
    assert search.count_capped(Contact.objects.all(), cap=3) == (3, True)
    assert search.count_capped(Contact.objects.all(), cap=10) == (5, False)


def test_web_list_pages_by_cursor(admin_user, client):
    for n in range(55):
        ContactFactory(full_name=f"Клиент {n:03d}")
    client.force_login(admin_user)
    first = client.get(reverse("contact_list"))
    page = first.context["page"]
    assert len(page.rows) == 50 and page.next_cursor and page.count == 55
    second = client.get(reverse("contact_list"), {"after": page.next_cursor})
    assert [c.full_name for c in second.context["page"].rows] == [f"Клиент {n:03d}" for n in range(50, 55)]
    # A cursor that is not one shows the first page rather than an error.
    assert client.get(reverse("contact_list"), {"after": "x"}).context["page"].number == 1


def test_the_migration_fills_the_index_as_the_service_writes_it(people):
    """crm 0004 fills the index of an existing database (in SQL on PostgreSQL): the same rows."""
    import importlib

    from django.apps import apps
    from django.db import connection

    from otdel.crm.models import SearchWord

    migration = importlib.import_module("otdel.crm.migrations.0006_search_index")
    ContactFactory(full_name="Ёлкин-Палкин, ООО «Ёж» (№ 5)")
    written = set(
        SearchEntry.objects.values_list("kind", "text", "digits", "contact_id", "company_id", "deal_id")
    )
    words = set(SearchWord.objects.values_list("word", flat=True))
    SearchEntry.objects.all().delete()
    SearchWord.objects.all().delete()
    migration.fill(apps, SimpleNamespace(connection=connection))  # fill uses only the connection
    assert (
        set(SearchEntry.objects.values_list("kind", "text", "digits", "contact_id", "company_id", "deal_id"))
        == written
    )
    assert set(SearchWord.objects.values_list("word", flat=True)) == words


def test_a_search_page_counts_in_its_own_query_up_to_the_probe(admin_user, api_for, monkeypatch):
    from otdel.crm import paging

    for n in range(7):
        services.contact_create(actor=admin_user, full_name=f"Пробов Пётр {n}")
    api = api_for(admin_user)

    def no_second_pass(*args, **kwargs):
        raise AssertionError("counted in a second pass")

    with monkeypatch.context() as patch:
        patch.setattr(paging, "count_capped", no_second_pass)
        for page in (1, 2, 4):
            body = api.get("/api/v1/contacts", {"q": "пробов", "page_size": 2, "page": page}).json()
            assert body["count"] == 7 and body["count_capped"] is False
        # More matches than the probe reads past the page's start: "more than" that many, still
        # without a second pass; the last pages see the end and know the count.
        patch.setattr(paging, "COUNT_PROBE", 3)
        counts = []
        for page in (1, 2, 3, 4):
            body = api.get("/api/v1/contacts", {"q": "пробов", "page_size": 2, "page": page}).json()
            counts.append((body["count"], body["count_capped"], len(body["results"])))
        assert counts == [(3, True, 2), (5, True, 2), (7, False, 2), (7, False, 1)]
    assert api.get("/api/v1/contacts", {"q": "пробов", "page_size": 2, "page": 5}).json()["results"] == []


def test_search_counts_every_match_on_the_pages_and_in_the_top_bar(admin_user, api_for):
    # Counted on the first page and on the last one (there without a second pass), and in the top bar.
    for n in range(7):
        services.contact_create(actor=admin_user, full_name=f"Счётчиков Пётр {n}")
    services.contact_create(actor=admin_user, full_name="Иванов Иван")
    api = api_for(admin_user)
    first = api.get("/api/v1/contacts", {"q": "счетчиков", "page_size": 3}).json()
    assert (first["count"], first["count_capped"], len(first["results"])) == (7, False, 3)
    third = api.get("/api/v1/contacts", {"q": "счетчиков", "page_size": 3, "page": 3}).json()
    assert (third["count"], len(third["results"])) == (7, 1)
    found = search.find(user=admin_user, text="счетчиков", limit=5)
    assert found.counts["contacts"] == (7, False) and len(found.groups["contacts"]) == 5
    assert api.get("/api/v1/contacts", {"q": "нетаких"}).json()["count"] == 0
