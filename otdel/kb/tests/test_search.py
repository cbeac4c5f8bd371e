"""Russian search over the demo regulations and FAQ: inflections, ё/е, several words, stop words, English."""

from __future__ import annotations

import pytest

from otdel.kb import services
from otdel.kb.models import Article, SearchMiss
from otdel.kb.search import search_articles

pytestmark = pytest.mark.django_db

# (query, the article it must find first)
FIRST_HITS = [
    ("договор", "Согласование договора"),
    ("договора", "Согласование договора"),
    ("договоров", "Согласование договора"),
    ("ДОГОВОРАМИ", "Согласование договора"),
    ("звонок", "Скрипт первого звонка"),
    ("звонков", "Скрипт первого звонка"),
    ("звонки", "Скрипт первого звонка"),
    ("счёт", "Счёт и контроль оплаты"),
    ("счет", "Счёт и контроль оплаты"),
    ("счета", "Счёт и контроль оплаты"),
    ("отсрочки платежа", "Работаете ли вы с отсрочкой платежа?"),
    ("доставка москва", "Сколько стоит доставка по Москве?"),
    ("стоимость доставки по Москве", "Сколько стоит доставка по Москве?"),
    ("доставляете в регионы", "Доставляете ли вы в регионы?"),
    ("нецелевых обращений", "Нецелевые обращения: кто это и куда их направлять"),
    ("коммерческих предложений", "Коммерческое предложение: подготовка и отправка"),
    ("гарантии", "Какая гарантия на оборудование?"),
    ("самовывозом", "Можно ли забрать товар самовывозом?"),
    ("эдо", "Работаете ли вы через ЭДО?"),
    ("тендеров", "Тендеры: подготовка заявки"),
    ("сертификатов", "Есть ли сертификаты соответствия на оборудование?"),
    ("как вернуть товар", "Можно ли вернуть товар надлежащего качества?"),
    ("а что делать с браком", "Что делать, если оборудование пришло с браком или повреждённым?"),
    ("повреждённый", "Что делать, если оборудование пришло с браком или повреждённым?"),
    ("поврежденный", "Что делать, если оборудование пришло с браком или повреждённым?"),
    ("скидку за объем", "Можно ли получить скидку за объём?"),
    ("передача клиента в исполнение", "Передача клиента в отдел исполнения"),
    ("квалификация бюджет", "Квалификация клиента: вопросы по BANT"),
    ("shipping", "Do you ship outside Russia?"),
    ("ships", "Do you ship outside Russia?"),
]


@pytest.mark.parametrize(("query", "expected"), FIRST_HITS)
def test_query_finds_the_article_first(kb_demo, query, expected):
    hits, _terms = search_articles(query)
    assert hits, f"nothing found for {query!r}"
    assert hits[0].article.title == expected, [h.article.title for h in hits[:3]]


def test_search_api_answers_the_contract_shape_with_marked_snippets(kb_demo, manager, api_for):
    response = api_for(manager).get("/api/v1/kb/search", {"q": "договоров"})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert set(first) == {"id", "kind", "title", "snippet", "score"}
    assert first["title"] == "Согласование договора"
    assert first["kind"] == "regulation"
    assert "<mark>" in first["snippet"]
    assert "<mark>Договор</mark>" in first["snippet"] or "<mark>договор</mark>" in first["snippet"]


def test_title_weighs_more_than_the_body(head):
    services.article_create(
        actor=head,
        title="Общие правила",
        body="Гарантия, гарантия и ещё раз гарантия: про гарантию спрашивают часто.",
        status="published",
    )
    services.article_create(actor=head, title="Гарантия", body="Срок — 12 месяцев.", status="published")
    hits, _terms = search_articles("гарантия")
    assert [h.article.title for h in hits] == ["Гарантия", "Общие правила"]


def test_yo_and_ye_are_the_same_letter_in_text_and_query(head):
    services.article_create(actor=head, title="Ёлочные игрушки", body="Отчёт за квартал", status="published")
    for query in ("елочные", "ёлочных", "отчет", "отчёта"):
        hits, _terms = search_articles(query)
        assert [h.article.title for h in hits] == ["Ёлочные игрушки"], query


def test_snippet_escapes_the_text_and_marks_only_hits(head):
    services.article_create(
        actor=head, title="Скрипты", body="Не вставляйте <b>теги</b> в договор & счёт.", status="published"
    )
    hits, _terms = search_articles("договор")
    assert "<b>" not in hits[0].snippet
    assert "&lt;b&gt;" in hits[0].snippet
    assert "<mark>договор</mark>" in hits[0].snippet


def test_only_stop_words_find_nothing_and_are_not_logged(kb_demo, manager, api_for):
    response = api_for(manager).get("/api/v1/kb/search", {"q": "и в на"})
    assert response.json()["results"] == []
    assert not SearchMiss.objects.exists()


def test_every_word_must_match_else_any_word(kb_demo):
    hits, _terms = search_articles("гарантия квазар")
    assert hits[0].article.title == "Какая гарантия на оборудование?"


def test_as_you_type_matches_the_unfinished_word(kb_demo):
    hits, _terms = search_articles("согласование догов", as_you_type=True)
    assert hits[0].article.title == "Согласование договора"


def test_drafts_and_archived_articles_are_not_found(head):
    draft = services.article_create(
        actor=head, title="Черновик про доставку", body="Доставка", status="draft"
    )
    published = services.article_create(actor=head, title="Доставка", body="Курьером", status="published")
    assert [h.article for h in search_articles("доставка")[0]] == [published]
    services.article_update(actor=head, article=published, status="archived")
    assert search_articles("доставка")[0] == []
    services.article_update(actor=head, article=draft, status="published")
    assert [h.article for h in search_articles("доставки")[0]] == [draft]


def test_a_new_version_is_found_by_its_new_words_not_the_old_ones(head):
    article = services.article_create(actor=head, title="Оплата", body="Оплата картой", status="published")
    services.article_update(actor=head, article=article, body="Оплата по счёту")
    assert search_articles("картой")[0] == []
    assert search_articles("счета")[0][0].article == article


def test_searched_and_not_found_is_logged_for_the_owner(kb_demo, manager, head, api_for):
    api_for(manager).get("/api/v1/kb/search", {"q": "Квантовый телепорт"})
    api_for(manager).get("/api/v1/kb/search", {"q": "квантовый  телепорт"})
    miss = SearchMiss.objects.get()
    assert (miss.query, miss.count) == ("квантовый телепорт", 2)
    listed = api_for(head).get("/api/v1/kb/misses").json()["results"]
    assert [m["query"] for m in listed] == ["квантовый телепорт"]
    assert api_for(manager).get("/api/v1/kb/misses").status_code == 403


def test_as_you_type_keeps_only_the_finished_query(db):
    for query in ("телеп", "телепо", "телепорт"):
        services.search_miss_log(query=query, typing=True)
    assert list(SearchMiss.objects.values_list("query", flat=True)) == ["телепорт"]


def test_a_keystroke_that_changes_nothing_is_not_a_second_search(db):
    for query in ("телеп", "телепорт", "телепорт ", "Телепорт", "телепорт м", "телепорт марс"):
        services.search_miss_log(query=query, typing=True)
    assert list(SearchMiss.objects.values_list("query", "count")) == [("телепорт марс", 1)]
    services.search_miss_log(query="телепорт марс")  # the box's own search, not a keystroke
    assert SearchMiss.objects.get().count == 2


def test_manager_does_not_find_a_draft_through_the_api(head, manager, api_for):
    services.article_create(actor=head, title="Доставка (черновик)", body="Доставка", status="draft")
    assert api_for(manager).get("/api/v1/kb/search", {"q": "доставка"}).json()["results"] == []
    assert Article.objects.count() == 1


def test_the_narrowed_queryset_decides_what_is_found(kb_demo, manager, api_for):
    """The reader's queryset (scope, kind, nothing at all) is applied inside the search's own statement."""
    everything = [hit.article.kind for hit in search_articles("доставка")[0]]
    assert {"faq", "regulation"} <= set(everything)
    faq_only, _terms = search_articles("доставка", articles=Article.objects.filter(kind="faq"))
    assert faq_only and {hit.article.kind for hit in faq_only} == {"faq"}
    assert search_articles("доставка", articles=Article.objects.none()) == (
        [],
        search_articles("доставка")[1],
    )
    one = Article.objects.get(title="Сколько стоит доставка по Москве?")
    hits, _terms = search_articles("доставка", articles=Article.objects.exclude(pk=one.pk))
    assert hits and one.pk not in {hit.article.pk for hit in hits}
    response = api_for(manager).get("/api/v1/kb/search", {"q": "доставка", "kind": "faq"})
    assert {row["kind"] for row in response.json()["results"]} == {"faq"}


def test_as_you_type_drops_only_unresolved_beginnings_of_the_query(db):
    services.search_miss_log(query="телефакс")  # not a beginning of the final query
    services.search_miss_log(query="теле")
    SearchMiss.objects.filter(query="теле").update(resolved=True)  # answered by the owner: kept
    for query in ("телеп", "телепорт", "Телепорт  Марс"):
        services.search_miss_log(query=query, typing=True)
    assert sorted(SearchMiss.objects.values_list("query", flat=True)) == ["теле", "телепорт марс", "телефакс"]
