"""Generate a realistic data set for the benchmarks.

Default size (``--scale 1``): 1,000,000 contacts with 1.5 identities each (phones and e-mails),
200,000 deals, 1,000,000 interactions, 20 users in two queues. Phones are generated as people type
them (mixed formats) and stored normalized, exactly as the product stores them.

    .venv/bin/python bench/generate.py --scale 0.1        # on the configured database
    DATABASE_URL=postgres://... .venv/bin/python bench/generate.py
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup

BATCH = 5000


def phone_number(i: int) -> str:
    return f"+79{i:09d}"


# Realistic people and companies, so name search is measured on names (not "Клиент 123"): common
# Russian surnames (with ё, as people write them), first names, patronymics, positions.
SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Федотов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Чернышёв",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
]
SURNAME_ROOTS = [
    "Бел",
    "Чер",
    "Сух",
    "Глад",
    "Жар",
    "Хол",
    "Добр",
    "Мал",
    "Вел",
    "Крут",
    "Лес",
    "Пол",
    "Гор",
    "Рыб",
    "Мед",
    "Лис",
    "Вол",
    "Кот",
    "Бык",
    "Грач",
    "Снег",
    "Дуб",
    "Берез",
    "Лип",
    "Клен",
    "Рож",
    "Ржев",
    "Твер",
    "Суздал",
    "Волог",
    "Тул",
    "Калуж",
    "Брян",
    "Курск",
    "Орлов",
    "Рязан",
    "Пенз",
    "Самар",
    "Сарат",
]
SURNAME_ENDINGS = ["ов", "ев", "ин", "ский", "цкий", "енко", "ых", "аев"]
MALE_NAMES = [
    "Александр",
    "Сергей",
    "Дмитрий",
    "Андрей",
    "Алексей",
    "Максим",
    "Евгений",
    "Иван",
    "Михаил",
    "Артём",
    "Николай",
    "Владимир",
    "Павел",
    "Роман",
    "Денис",
    "Игорь",
    "Олег",
    "Пётр",
    "Юрий",
    "Константин",
    "Виктор",
    "Антон",
    "Илья",
    "Кирилл",
    "Фёдор",
]
FEMALE_NAMES = [
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Анна",
    "Мария",
    "Светлана",
    "Екатерина",
    "Юлия",
    "Марина",
    "Анастасия",
    "Дарья",
    "Людмила",
    "Галина",
    "Ксения",
    "Алёна",
    "Виктория",
    "Надежда",
    "Вера",
    "Любовь",
    "Полина",
    "Оксана",
    "Евгения",
    "Алла",
]
PATRONYMIC_ROOTS = [
    "Александров",
    "Сергеев",
    "Дмитриев",
    "Андреев",
    "Алексеев",
    "Иванов",
    "Михайлов",
    "Николаев",
    "Владимиров",
    "Павлов",
    "Петров",
    "Юрьев",
    "Викторов",
    "Игорев",
    "Олегов",
    "Евгеньев",
    "Анатольев",
    "Борисов",
    "Васильев",
    "Геннадьев",
]
POSITIONS = [
    "Генеральный директор",
    "Коммерческий директор",
    "Менеджер по закупкам",
    "Главный бухгалтер",
    "Инженер",
    "Руководитель отдела снабжения",
    "Юрист",
    "Секретарь",
    "Начальник производства",
    "",
]
COMPANY_WORDS = [
    "Ромашка",
    "Вектор",
    "Альфа",
    "Гранит",
    "Север",
    "Восток",
    "Техно",
    "Строй",
    "Снаб",
    "Торг",
    "Мир",
    "Профи",
    "Лидер",
    "Сфера",
    "Ресурс",
    "Эталон",
    "Монолит",
    "Регион",
    "Импульс",
    "Прогресс",
    "Стандарт",
    "Меридиан",
    "Базис",
    "Капитал",
    "Партнёр",
    "Сервис",
    "Логистик",
    "Энерго",
    "Агро",
    "Пром",
    "Металл",
    "Форма",
    "Дельта",
    "Омега",
    "Аврора",
    "Волна",
    "Полюс",
    "Орион",
    "Титан",
    "Кедр",
]
DEAL_WORDS = ["Поставка", "Монтаж", "Договор поставки", "Сервисное обслуживание", "Аренда", "Проект"]
COMPANY_FORMS = ["ООО", "АО", "ИП", "ПАО", "ООО", "ООО"]


def inn_company(n: int) -> str:
    """A 10-digit INN of an organisation with a correct control digit."""
    body = f"77{n:07d}"
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    return body + str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)


def company_name(i: int, rng: random.Random) -> str:
    a, b = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_WORDS)
    return f"{rng.choice(COMPANY_FORMS)} «{a}{b.lower() if rng.random() < 0.5 else '-' + b} {i % 97 + 1}»"


def person_name(rng: random.Random) -> tuple[str, str]:
    """(full name, position): "Фамилия Имя Отчество" mostly, sometimes "Имя Фамилия"."""
    female = rng.random() < 0.5
    if rng.random() < 0.7:
        surname = rng.choice(SURNAMES)
    else:
        surname = rng.choice(SURNAME_ROOTS) + rng.choice(SURNAME_ENDINGS)
    if female:
        if surname.endswith(("ов", "ев", "ёв", "ин", "ых")):
            surname += "" if surname.endswith("ых") else "а"
        elif surname.endswith(("ский", "цкий")):
            surname = surname[:-2] + "ая"
        first = rng.choice(FEMALE_NAMES)
        patronymic = rng.choice(PATRONYMIC_ROOTS) + "на"
    else:
        first = rng.choice(MALE_NAMES)
        patronymic = rng.choice(PATRONYMIC_ROOTS) + "ич"
    roll = rng.random()
    if roll < 0.6:
        name = f"{surname} {first} {patronymic}"
    elif roll < 0.85:
        name = f"{first} {surname}"
    else:
        name = f"{surname} {first}"
    return name, rng.choice(POSITIONS)


def typed(phone: str, rng: random.Random) -> str:
    d = phone[2:]
    return rng.choice(
        [
            f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
            f"8{d}",
            d,
            f"7{d}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    django_setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from otdel.accounts.models import Role, User
    from otdel.comms.models import Interaction
    from otdel.crm.models import Company, Contact, Deal, Identity, Pipeline, Stage
    from otdel.routing.models import Queue, QueueMember, RoutingSettings

    rng = random.Random(args.seed)
    n_contacts = int(1_000_000 * args.scale)
    n_deals = int(200_000 * args.scale)
    n_interactions = int(1_000_000 * args.scale)
    started = time.perf_counter()
    if Contact.objects.exists():
        from otdel.crm.models import SearchEntry

        if not SearchEntry.objects.exists():  # a data set made before the search index existed
            fill_search_index()
            print(f"search index filled in {time.perf_counter() - started:.0f} s")
            return
        print("The database already has contacts; use an empty one (e.g. OTDEL_DATA_DIR=bench/data).")
        return

    users = []
    for i in range(20):
        role = Role.OFFICE_MANAGER if i == 0 else Role.SALES_MANAGER
        user = User.objects.create(
            username=f"bench{i}",
            full_name=f"Менеджер {i}",
            role=role,
            extension=str(300 + i),
            work_days=list(range(7)),
            work_start=datetime.time(0, 0),
            work_end=datetime.time(23, 59, 59),
        )
        users.append(user)
    integration = User.objects.create(username="bench-pbx", role=Role.INTEGRATION)
    from otdel.accounts.services import user_token_issue

    token = user_token_issue(user=integration)
    sales = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.bulk_create([QueueMember(queue=sales, user=u) for u in users[1:]])
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.fallback_user, cfg.non_target_user = sales, users[0], users[0]
    cfg.save()
    pipeline = Pipeline.objects.create(name="Продажи", is_default=True)
    stages = [
        Stage.objects.create(pipeline=pipeline, name=name, kind=kind, order=k)
        for k, (name, kind) in enumerate(
            [
                ("Новая", "open"),
                ("КП", "open"),
                ("Переговоры", "open"),
                ("Успешно", "won"),
                ("Проиграна", "lost"),
            ]
        )
    ]

    n_companies = max(int(100_000 * args.scale), 1)
    print(f"companies: {n_companies}")
    company_ids: list[int] = []
    for start in range(0, n_companies, BATCH):
        with transaction.atomic():
            batch = []
            for i in range(start, min(start + BATCH, n_companies)):
                name = company_name(i, rng)
                inn = inn_company(i)
                batch.append(Company(name=name, inn=inn, search_text=f"{name} {inn}".lower()))
            company_ids += [c.pk for c in Company.objects.bulk_create(batch)]

    print(f"contacts: {n_contacts}")
    for start in range(0, n_contacts, BATCH):
        with transaction.atomic():
            people = [person_name(rng) for _ in range(start, min(start + BATCH, n_contacts))]
            contacts = Contact.objects.bulk_create(
                [
                    Contact(
                        full_name=name,
                        position=position,
                        search_text=f"{name} {position}".strip().lower(),
                        company_id=company_ids[i % len(company_ids)] if i % 2 == 0 else None,
                        responsible_id=users[1 + i % 19].pk if i % 3 == 0 else None,
                        non_target=i % 50 == 0,
                    )
                    for i, (name, position) in zip(
                        range(start, min(start + BATCH, n_contacts)), people, strict=True
                    )
                ]
            )
            identities = []
            for offset, contact in enumerate(contacts):
                i = start + offset
                identities.append(
                    Identity(contact=contact, kind="phone", value=phone_number(i), is_primary=True)
                )
                if i % 2 == 0:
                    identities.append(Identity(contact=contact, kind="email", value=f"client{i}@example.ru"))
            Identity.objects.bulk_create(identities)
    first_contact = Contact.objects.order_by("id").values_list("id", flat=True).first() or 0

    print(f"deals: {n_deals}")
    now = timezone.now()
    for start in range(0, n_deals, BATCH):
        with transaction.atomic():
            Deal.objects.bulk_create(
                [
                    Deal(
                        title=f"{rng.choice(DEAL_WORDS)} {rng.choice(COMPANY_WORDS)} №{i}",
                        pipeline=pipeline,
                        stage=stages[rng.choice([0, 0, 1, 1, 2, 3, 4])],
                        contact_id=first_contact + rng.randrange(n_contacts),
                        responsible=users[1 + i % 19],
                        amount=rng.randrange(30_000, 5_000_000),
                        position=float(i),
                    )
                    for i in range(start, min(start + BATCH, n_deals))
                ]
            )

    print(f"interactions: {n_interactions}")
    for start in range(0, n_interactions, BATCH):
        with transaction.atomic():
            Interaction.objects.bulk_create(
                [
                    Interaction(
                        kind="call",
                        channel="call",
                        direction="in",
                        provider="bench",
                        external_id=f"b{i}",
                        occurred_at=now - datetime.timedelta(minutes=i),
                        contact_id=first_contact + rng.randrange(n_contacts),
                        call_state=3,
                        status="answered",
                        duration=rng.randrange(10, 600),
                        payload={},
                    )
                    for i in range(start, min(start + BATCH, n_interactions))
                ]
            )
    fill_search_index()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"done in {time.perf_counter() - started:.0f} s; integration token: {token}")
    print("sample caller as typed:", typed(phone_number(rng.randrange(n_contacts)), rng))


def fill_search_index() -> None:
    """The search index of the rows above (bulk inserts send no signals): on PostgreSQL the SQL
    fill of the search migration, elsewhere ``otdel.crm.search.reindex``."""
    import importlib

    from django.db import connection

    from otdel.crm import search
    from otdel.crm.models import SearchEntry

    print("search index")
    SearchEntry.objects.all()._raw_delete(SearchEntry.objects.db)
    if connection.vendor == "postgresql":
        # As the migration does: the entries first, then the trigram indexes (faster than growing them).
        migration = importlib.import_module("otdel.crm.migrations.0006_search_index")
        with connection.schema_editor() as editor:
            migration.drop_trigram_indexes(None, editor)
            with connection.cursor() as cursor:
                for statement in migration.PG_FILL:
                    cursor.execute(statement)
            migration.create_trigram_indexes(None, editor)
    else:
        search.reindex()


if __name__ == "__main__":
    main()
