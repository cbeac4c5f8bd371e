"""Demo data: a believable Russian sales department to try Otdel on (``manage.py load_demo``).

Everything is built from a fixed random seed, so two runs on empty databases give the same
people, companies, deals and leads (dates are counted back from the day of the run). Records are
written through the services, so phones and e-mails are normalized and the change log is filled,
then their timestamps are moved back over six months in a few bulk updates so reports make sense.

E-mail addresses and websites use the reserved ``.example`` domain: a demo installation with
outgoing mail configured must never write to real people.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from otdel.accounts import services as account_services
from otdel.accounts.models import Department, Role, User
from otdel.automation.handlers import notify_inbound
from otdel.comms.models import CallState, CallStatus, Direction, Interaction, InteractionKind
from otdel.core.events import InteractionReceived
from otdel.core.identity import normalize_identity
from otdel.core.models import ObjectChange
from otdel.crm import services
from otdel.crm.models import (
    Company,
    Contact,
    Deal,
    Identity,
    Lead,
    LeadSource,
    LostReason,
    NonTargetReason,
    Note,
    Pipeline,
    Stage,
    Verdict,
)
from otdel.routing import services as routing_services
from otdel.routing.models import Queue, RoutingSettings
from otdel.routing.triage import lead_triage

DEMO_PASSWORD = "demo12345"
DEMO_SEED = 20240917
DEMO_DEPARTMENT = "Отдел продаж"
DEMO_QUEUE = "sales"  # the automation demo's SLA hands an unanswered form lead to this queue
HISTORY_DAYS = 182


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- the department ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    title: str  # the job title shown in the login table
    work_start: datetime.time = datetime.time(9, 0)
    work_end: datetime.time = datetime.time(18, 0)
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    in_department: bool = False


USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Смирнов Алексей Викторович", Role.ADMIN, "Администратор"),
    DemoUser(
        "orlova",
        "Орлова Марина Сергеевна",
        Role.HEAD_OF_SALES,
        "Руководитель отдела продаж",
        in_department=True,
    ),
    DemoUser(
        "ivanov", "Иванов Дмитрий Андреевич", Role.SALES_MANAGER, "Менеджер по продажам", in_department=True
    ),
    DemoUser(
        "kuznetsova",
        "Кузнецова Ольга Игоревна",
        Role.SALES_MANAGER,
        "Менеджер по продажам",
        in_department=True,
    ),
    DemoUser(
        "sokolov",
        "Соколов Артём Павлович",
        Role.SALES_MANAGER,
        "Менеджер по продажам",
        work_start=datetime.time(10, 0),
        work_end=datetime.time(19, 0),
        in_department=True,
    ),
    DemoUser(
        "popova", "Попова Екатерина Олеговна", Role.SALES_MANAGER, "Менеджер по продажам", in_department=True
    ),
    DemoUser(
        "lebedev", "Лебедев Никита Романович", Role.SALES_MANAGER, "Менеджер по тендерам", in_department=True
    ),
    DemoUser("vasilyeva", "Васильева Анна Петровна", Role.OFFICE_MANAGER, "Офис-менеджер"),
    DemoUser(
        "morozova",
        "Морозова Юлия Сергеевна",
        Role.CALL_CENTER,
        "Оператор колл-центра",
        work_start=datetime.time(8, 0),
        work_end=datetime.time(20, 0),
        work_days=(0, 1, 2, 3, 4, 5),
    ),
    DemoUser("novikov", "Новиков Павел Андреевич", Role.APPROVER, "Юрист (согласование договоров)"),
)

# How the work is shared between the managers: the first ones carry more of it.
MANAGER_WEIGHTS = (1.25, 1.1, 1.0, 0.9, 0.8)

# --- pipelines and reasons -----------------------------------------------------------------------

# (name, kind, probability %, colour, weight among open deals)
SALES_STAGES = (
    ("Новая заявка", Stage.Kind.OPEN, 10, "#6c757d", 30),
    ("Квалификация", Stage.Kind.OPEN, 20, "#0dcaf0", 24),
    ("Коммерческое предложение", Stage.Kind.OPEN, 40, "#0d6efd", 19),
    ("Переговоры", Stage.Kind.OPEN, 60, "#6610f2", 15),
    ("Счёт выставлен", Stage.Kind.OPEN, 80, "#fd7e14", 12),
    ("Успешно", Stage.Kind.WON, 100, "#198754", 0),
    ("Проиграна", Stage.Kind.LOST, 0, "#dc3545", 0),
)
TENDER_STAGES = (
    ("Новый тендер", Stage.Kind.OPEN, 10, "#6c757d", 35),
    ("Подготовка заявки", Stage.Kind.OPEN, 30, "#0d6efd", 30),
    ("Заявка подана", Stage.Kind.OPEN, 50, "#6610f2", 20),
    ("Торги", Stage.Kind.OPEN, 70, "#fd7e14", 15),
    ("Контракт заключён", Stage.Kind.WON, 100, "#198754", 0),
    ("Не выиграли", Stage.Kind.LOST, 0, "#dc3545", 0),
)
# (name, weight among lost deals)
LOST_REASONS = (
    ("Дорого", 30),
    ("Выбрали конкурента", 25),
    ("Нет бюджета", 20),
    ("Не выходит на связь", 15),
    ("Неактуально", 10),
)
LOST_COMMENTS = (
    "У конкурента цена на 12% ниже, сроки те же.",
    "Бюджет перенесли на следующий год.",
    "Три недели не отвечает ни на звонки, ни на письма.",
    "Проект заморожен решением собственника.",
    "Выбрали поставщика, с которым уже работают.",
    "Не устроили условия оплаты: хотят отсрочку 90 дней.",
)

# --- companies -----------------------------------------------------------------------------------

# (city, INN region code, phone area code, street names)
CITIES = (
    ("Москва", "77", "495", ("ул. Тверская", "Варшавское ш.", "ул. Профсоюзная", "Ленинградский пр-т")),
    ("Москва", "77", "499", ("ул. Садовая-Кудринская", "Волгоградский пр-т", "ул. Академика Королёва")),
    ("Санкт-Петербург", "78", "812", ("Невский пр-т", "Московский пр-т", "ул. Садовая", "Лиговский пр-т")),
    ("Екатеринбург", "66", "343", ("ул. Малышева", "пр-т Ленина", "ул. 8 Марта")),
    ("Новосибирск", "54", "383", ("Красный пр-т", "ул. Кирова", "ул. Гоголя")),
    ("Казань", "16", "843", ("ул. Баумана", "пр-т Победы", "ул. Пушкина")),
    ("Нижний Новгород", "52", "831", ("ул. Большая Покровская", "пр-т Гагарина")),
    ("Краснодар", "23", "861", ("ул. Красная", "ул. Северная", "ул. Ставропольская")),
    ("Ростов-на-Дону", "61", "863", ("ул. Большая Садовая", "пр-т Будённовский")),
    ("Самара", "63", "846", ("ул. Куйбышева", "Московское ш.")),
    ("Петрозаводск", "10", "8142", ("пр-т Ленина", "ул. Анохина")),
    ("Тюмень", "72", "3452", ("ул. Республики", "ул. Мельникайте")),
)
INDUSTRIES = (
    "Строительство",
    "Машиностроение",
    "Оптовая торговля",
    "Розничная торговля",
    "Логистика",
    "Пищевое производство",
    "Энергетика",
    "ЖКХ",
    "Сельское хозяйство",
    "Медицина",
    "Гостиничный бизнес",
    "ИТ и телеком",
    "Металлообработка",
    "Деревообработка",
)
NAME_ROOTS = _words(
    """
    Техно Строй Агро Энерго Сибирь Урал Волга Север Нева Балт Пром Гранит Меридиан Атлант Вектор Альфа
    Ресурс Регион Кама Дон Полюс Орион Термо Гидро Мега Эко
    """
)
NAME_TAILS = _words(
    """
    снаб пром сервис трейд комплект строй логистик монтаж инжиниринг систем маш ресурс техника профи
    """
)

# --- people --------------------------------------------------------------------------------------

MALE_FIRST = _words(
    """
    Александр Алексей Андрей Антон Артём Борис Вадим Валерий Виктор Виталий Владимир Вячеслав Геннадий
    Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин Максим Михаил Николай Олег Павел Роман
    Руслан Сергей Станислав Тимур Фёдор Юрий
    """
)
FEMALE_FIRST = _words(
    """
    Алина Алла Анастасия Анна Валентина Вера Виктория Галина Дарья Елена Екатерина Жанна Ирина Кристина
    Ксения Лариса Людмила Марина Мария Надежда Наталья Оксана Ольга Полина Светлана Татьяна Юлия
    """
)
# Patronymics are made from these fathers' names.
# Male patronymics; the female form is made from them (Иванович -> Ивановна).
PATRONYMICS = _words(
    """
    Александрович Алексеевич Андреевич Борисович Викторович Владимирович Геннадьевич Дмитриевич
    Евгеньевич Иванович Игоревич Михайлович Николаевич Олегович Павлович Петрович Сергеевич Юрьевич
    Васильевич Анатольевич Валерьевич Григорьевич Леонидович Фёдорович
    """
)
SURNAMES = _words(
    """
    Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
    Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин
    Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Фролов Александров
    Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов Медведев
    Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров
    Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов Казаков
    Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов Щербаков Назаров
    Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов Пономарёв
    Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев Ермаков
    Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов Малышев
    Панов Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов
    Михеев Скворцов Юдин Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов
    Воронов Аксёнов Софронов Мальцев Логинов Горшков Савин Краснов Майоров Демидов Елисеев Рыбаков
    Сафонов Плотников Дёмин Хохлов Жданов Уваров Рябов Мухин Зуев Островский Вишневский Покровский
    Ковальчук Шевченко Бондаренко Ким Гарипов Хабибуллин Сафин Шарипов
    """
)
POSITIONS = (
    ("Генеральный директор", 8),
    ("Коммерческий директор", 7),
    ("Финансовый директор", 4),
    ("Главный инженер", 7),
    ("Начальник отдела снабжения", 10),
    ("Менеджер по закупкам", 16),
    ("Специалист по закупкам", 10),
    ("Руководитель проекта", 8),
    ("Главный механик", 5),
    ("Главный бухгалтер", 5),
    ("Бухгалтер", 4),
    ("Специалист по тендерам", 5),
    ("Заместитель директора", 5),
    ("Офис-менеджер", 3),
    ("Энергетик", 3),
)
CONTACT_COMMENTS = (
    "ЛПР, решения по закупкам принимает сам.",
    "Предпочитает переписку по почте, звонить после 11:00.",
    "Согласует всё с финансовым директором.",
    "Работали в прошлом году, остались довольны сроками.",
    "Пришёл по рекомендации.",
    "Просит присылать КП в PDF.",
)
MOBILE_CODES = _words(
    """
    903 905 906 909 910 911 912 913 915 916 917 919 921 922 925 926 927 929 950 951 952 953 960 961 962
    964 965 967 977 980 981 985 987 999
    """
)
PERSONAL_MAIL = ("mail.example", "yandex.example", "inbox.example", "bk.example", "gmail.example")

# --- deals, leads, notes -------------------------------------------------------------------------

PRODUCTS = (
    "Поставка насосного оборудования",
    "Поставка компрессоров",
    "Модернизация котельной",
    "Сервисное обслуживание на год",
    "Поставка запчастей",
    "Монтаж системы вентиляции",
    "Поставка электрощитов",
    "Пусконаладочные работы",
    "Поставка дизель-генераторов",
    "Аренда спецтехники",
    "Комплектация объекта",
    "Поставка кабельной продукции",
    "Обучение персонала",
    "Проектирование системы отопления",
    "Поставка трубопроводной арматуры",
    "Техническое перевооружение цеха",
    "Поставка светотехники",
    "Автоматизация насосной станции",
    "Поставка теплообменников",
    "Замена лифтового оборудования",
)
TENDER_PRODUCTS = (
    "Поставка насосов для водоканала",
    "Капитальный ремонт котельной",
    "Поставка оборудования для больницы",
    "Обслуживание инженерных систем",
    "Поставка электротехнической продукции",
    "Модернизация системы освещения",
)
DEAL_NOTES = (
    "Созвонились, клиент просит КП до пятницы.",
    "Отправил коммерческое предложение на почту, жду обратной связи.",
    "Встреча в офисе клиента: обсудили сроки поставки и монтажа.",
    "Клиент сравнивает с предложением конкурента, просит скидку 5%.",
    "Согласовали спецификацию, готовлю договор.",
    "Договор на согласовании у юристов клиента.",
    "Выставлен счёт, оплата обещана до конца месяца.",
    "Получена предоплата 50%.",
    "Уточнили технические требования с главным инженером.",
    "Клиент просит пересчитать с доставкой до объекта.",
    "Перенесли встречу на следующую неделю: директор в командировке.",
    "Отправил образцы и сертификаты соответствия.",
    "Обсудили отсрочку платежа 30 дней — согласовано с руководителем.",
    "Клиент подтвердил бюджет, ждём решения закупочного комитета.",
)
CONTACT_NOTES = (
    "Позвонил сам, интересовался сроками поставки.",
    "Поздравили с днём рождения, отправили открытку.",
    "Попросил добавить в рассылку о новинках.",
    "Сменил должность, теперь отвечает за снабжение.",
    "Удобнее связываться в Telegram.",
    "Был на нашей выставке в марте.",
    "Сказал, что в следующем квартале будет новый объект.",
)
EMAIL_SUBJECTS = (
    "Запрос коммерческого предложения",
    "Уточнение по спецификации",
    "Сроки поставки",
    "Счёт на оплату",
    "Договор: правки юристов",
    "Re: Коммерческое предложение",
    "Сертификаты соответствия",
)
EMAIL_BODIES = (
    "Добрый день! Направляем уточнённую спецификацию, просим пересчитать стоимость.",
    "Подскажите, пожалуйста, реальные сроки поставки при оплате на этой неделе.",
    "Во вложении правки нашего юриста к договору. Посмотрите, пожалуйста.",
    "Спасибо за предложение, руководство рассматривает, вернёмся с ответом.",
    "Пришлите, пожалуйста, счёт на предоплату 50%.",
)
TELEGRAM_TEXTS = (
    "Добрый день! Можно созвониться сегодня после обеда?",
    "Получили КП, спасибо. Есть вопрос по доставке.",
    "Оплату провели, посмотрите, пожалуйста.",
    "Когда будет монтажная бригада на объекте?",
    "Скиньте, пожалуйста, реквизиты ещё раз.",
)
LEAD_COMMENTS = (
    "Прошу перезвонить, интересует поставка насосов для нового объекта.",
    "Нужен расчёт стоимости вентиляции для склада 2000 м².",
    "Есть ли в наличии дизель-генератор 100 кВт? Срок поставки?",
    "Хотим заключить договор на сервисное обслуживание котельной.",
    "Пришлите прайс-лист на трубопроводную арматуру.",
    "Интересует модернизация освещения цеха, нужен выезд специалиста.",
    "Звонок с сайта: просит КП на электрощиты.",
    "Нужна консультация по замене теплообменника.",
    "Запрос цены на кабель ВВГнг 3х2,5, 5 км.",
    "Интересует аренда спецтехники на июнь.",
)
NON_TARGET = (
    # (reason, contact name, position, company, message)
    (
        NonTargetReason.SUPPLIER,
        "Гусева Алина",
        "Менеджер по продажам",
        "ООО «КанцОптТорг»",
        "Предлагаем поставку канцтоваров и бумаги по оптовым ценам.",
    ),
    (
        NonTargetReason.SUPPLIER,
        "Крылов Максим",
        "Региональный представитель",
        "ООО «ПромУпаковка»",
        "Хотим стать вашим поставщиком упаковки, вышлю каталог.",
    ),
    (
        NonTargetReason.SUPPLIER,
        "Савина Оксана",
        "Менеджер",
        "ООО «Клининг Про»",
        "Предлагаем услуги клининга офиса со скидкой 20%.",
    ),
    (
        NonTargetReason.JOB_SEEKER,
        "Зуев Кирилл",
        "",
        "",
        "Ищу работу менеджером по продажам, резюме во вложении.",
    ),
    (
        NonTargetReason.JOB_SEEKER,
        "Белова Дарья",
        "",
        "",
        "Увидела вакансию на hh, хочу узнать подробнее об условиях.",
    ),
    (
        NonTargetReason.SPAM,
        "SEO Продвижение",
        "",
        "",
        "Выведем ваш сайт в ТОП-10 Яндекса за 2 недели, гарантия результата!",
    ),
    (
        NonTargetReason.SPAM,
        "Рассылка Бизнес-Форум",
        "",
        "",
        "Приглашаем на бизнес-форум, осталось 3 места по спеццене.",
    ),
    (
        NonTargetReason.WRONG_NUMBER,
        "Тихонова Людмила",
        "",
        "",
        "Ошиблась номером, искала поликлинику.",
    ),
)
UTM_CAMPAIGNS = ("brand", "nasosy_search", "ventilyaciya_rsya", "generatory_2025", "retargeting")

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _words("a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya"),
        strict=True,
    )
)


def translit(text: str) -> str:
    """Latin letters for e-mail local parts and domains: "Соколов" -> "sokolov"."""
    out = []
    for ch in text.lower():
        if ch in _TRANSLIT:
            out.append("" if _TRANSLIT[ch] == "-" else _TRANSLIT[ch])
        elif ch.isascii() and (ch.isalnum() or ch in "-."):
            out.append(ch)
    return "".join(out)


def inn_control(digits: str, weights: Sequence[int]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def make_inn(rng: random.Random, region: str, *, individual: bool) -> str:
    """An INN with correct check digits: 10 digits for an organization, 12 for a sole trader (ИП)."""
    office = f"{rng.randint(1, 51):02d}"
    if not individual:
        body = region + office + f"{rng.randint(0, 99999):05d}"
        return body + inn_control(body, (2, 4, 10, 3, 5, 9, 4, 6, 8))
    body = region + office + f"{rng.randint(0, 999999):06d}"
    body += inn_control(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
    return body + inn_control(body, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))


def female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-4] + "ская"
    return surname  # Шевченко, Ким, Ковальчук: the same for women


def patronymic(male: str, *, female: bool) -> str:
    return male[:-2] + "на" if female else male  # Иванович -> Ивановна, Юрьевич -> Юрьевна


# --- the builder ---------------------------------------------------------------------------------


@dataclass
class DemoLogin:
    username: str
    password: str | None  # None when the user existed before and kept their password
    title: str
    full_name: str


@dataclass
class DemoResult:
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def database_has_data() -> bool:
    """Whether anyone has started using this database (a lone superuser does not count)."""
    return Contact.objects.exists() or User.objects.filter(is_superuser=False).exists()


def load_demo(
    *, password: str = DEMO_PASSWORD, seed: int = DEMO_SEED, now: datetime.datetime | None = None
) -> DemoResult:
    """Fill the database with the demo department; refuse (ValueError) if it already holds data."""
    if database_has_data():
        raise ValueError("The database already holds data.")
    with transaction.atomic():
        return _DemoBuilder(password=password, seed=seed, now=now or timezone.now()).build()


@dataclass
class _Person:
    surname: str
    first: str
    middle: str
    female: bool

    @property
    def full_name(self) -> str:
        return " ".join(filter(None, [self.surname, self.first, self.middle]))


@dataclass
class _Firm:
    company: Company
    city: tuple[str, str, str, tuple[str, ...]]
    domain: str
    office_phone: str  # area code + local digits, ten in all
    owner: User


class _DemoBuilder:
    def __init__(self, *, password: str, seed: int, now: datetime.datetime) -> None:
        self.rng = random.Random(seed)
        self.password = password
        self.now = now
        self.today = timezone.localtime(now).date()
        self.result = DemoResult()
        self.taken: set[tuple[str, str]] = set()  # normalized identities already given out
        self.names_taken: set[str] = set()
        # Back-dated timestamps, applied in bulk at the end: model -> {pk: (created_at, extra fields)}
        self.dates: dict[type[models.Model], dict[int, dict[str, Any]]] = {}

    # --- helpers ---------------------------------------------------------------------------

    def moment(self, days_ago: float) -> datetime.datetime:
        """A working-hours moment ``days_ago`` days back (weekends are quiet), never in the future."""
        # Every random number is drawn whatever the branch, so the sequence (and so the whole demo)
        # does not depend on the hour the command runs at.
        rng = self.rng
        weekend_work, early = rng.random(), rng.randint(5, 240)
        at = datetime.time(rng.randint(9, 18), rng.randint(0, 59), rng.randint(0, 59))
        day = self.today - datetime.timedelta(days=int(days_ago))
        if day.weekday() >= 5 and weekend_work < 0.85:
            day -= datetime.timedelta(days=day.weekday() - 4)
        value = timezone.make_aware(datetime.datetime.combine(day, at))
        return min(value, self.now - datetime.timedelta(minutes=early))

    def age(self, moment: datetime.datetime) -> int:
        """Whole days from ``moment`` to today."""
        return (self.today - timezone.localtime(moment).date()).days

    def later(self, start: datetime.datetime, min_days: float, max_days: float) -> datetime.datetime:
        """A working-hours moment ``min_days`` to ``max_days`` after ``start``, never before it nor in the future."""
        rng = self.rng
        delta, minute, early = rng.uniform(min_days, max_days), rng.randint(0, 59), rng.randint(1, 30)
        local = timezone.localtime(start + datetime.timedelta(days=delta))
        # Only ever move forward, so the result stays after ``start``.
        if local.hour >= 19:
            local = (local + datetime.timedelta(days=1)).replace(hour=9, minute=minute)
        elif local.hour < 9:
            local = local.replace(hour=9, minute=minute)
        while local.weekday() >= 5:
            local += datetime.timedelta(days=1)
        return max(start, min(local, self.now - datetime.timedelta(minutes=early)))

    def backdate(self, obj: models.Model, when: datetime.datetime, **extra: Any) -> None:
        self.dates.setdefault(type(obj), {})[obj.pk] = {"created_at": when, "updated_at": when, **extra}

    def weighted(self, items: Sequence[Any], weights: Sequence[float]) -> Any:
        return self.rng.choices(items, weights=weights, k=1)[0]

    def person(self, *, female: bool | None = None, with_middle: float = 0.75) -> _Person:
        rng = self.rng
        for _attempt in range(50):
            is_female = rng.random() < 0.45 if female is None else female
            surname = rng.choice(SURNAMES)
            surname = female_surname(surname) if is_female else surname
            first = rng.choice(FEMALE_FIRST if is_female else MALE_FIRST)
            middle = (
                patronymic(rng.choice(PATRONYMICS), female=is_female) if rng.random() < with_middle else ""
            )
            person = _Person(surname, first, middle, is_female)
            if person.full_name not in self.names_taken:
                self.names_taken.add(person.full_name)
                return person
        return person

    def claim(self, kind: str, raw: str) -> bool:
        """Reserve an identity for a new contact; False when invalid or someone has it already."""
        try:
            key = (kind, normalize_identity(kind, raw))
        except ValidationError:
            return False
        if key in self.taken:
            return False
        self.taken.add(key)
        return True

    def mobile(self) -> str:
        """A new Russian mobile, typed the way people type them."""
        rng = self.rng
        while True:
            code = rng.choice(MOBILE_CODES)
            local = f"{rng.randint(0, 9999999):07d}"
            a, b, c = local[:3], local[3:5], local[5:]
            raw = rng.choice(
                (
                    f"8 ({code}) {a}-{b}-{c}",
                    f"+7 {code} {a} {b} {c}",
                    f"8{code}{local}",
                    f"+7({code}){a}-{b}-{c}",
                    f"{code}{local}",
                    f"8-{code}-{a}-{b}-{c}",
                    f"+7{code}{local}",
                    f"7{code}{local}",
                    f"+7 ({code}) {a}-{b}-{c}",
                )
            )
            if self.claim("phone", raw):
                return raw

    def office_line(self, firm: _Firm) -> str | None:
        """The company's office number with this person's extension, in one of the office styles."""
        rng = self.rng
        digits = firm.office_phone
        code_len = len(firm.city[2])
        code, local = digits[:code_len], digits[code_len:]
        grouped = f"{local[:-4]}-{local[-4:-2]}-{local[-2:]}"
        for _attempt in range(10):
            ext = str(rng.randint(10, 350))
            raw = rng.choice(
                (
                    f"8 ({code}) {grouped} доб. {ext}",
                    f"{code} {grouped} доб. {ext}",
                    f"+7 ({code}) {grouped}, доб. {ext}",
                    f"+7 {code} {grouped} ext {ext}",
                    f"8 {code} {grouped} (доб. {ext})",
                )
            )
            if self.claim("phone", raw):
                return raw
        return None

    def email(self, person: _Person, domain: str | None) -> str | None:
        rng = self.rng
        first, last = translit(person.first), translit(person.surname)
        for _attempt in range(10):
            if domain:
                local = rng.choice((f"{first[0]}.{last}", f"{first}.{last}", last, f"{first}{last[0]}"))
            else:
                local = rng.choice(
                    (f"{last}{rng.randint(70, 99)}", f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}")
                )
                domain_used = rng.choice(PERSONAL_MAIL)
            address = f"{local}@{domain or domain_used}"
            # People type addresses in any case, with stray spaces or a mailto: from a signature.
            raw = rng.choice(
                (address, address, address, address.title(), f" {address} ", f"mailto:{address}")
            )
            if self.claim("email", raw):
                return raw
        return None

    # --- the steps --------------------------------------------------------------------------

    def build(self) -> DemoResult:
        self.users()
        self.routing()
        self.pipelines()
        self.companies()
        self.contacts()
        self.deals()
        self.leads()
        self.notes()
        self.timeline()
        self.apply_dates()
        self.result.counts = {
            "users": User.objects.count(),
            "companies": Company.objects.count(),
            "contacts": Contact.objects.filter(merged_into__isnull=True).count(),
            "identities": Identity.objects.count(),
            "deals": Deal.objects.count(),
            "leads": Lead.objects.count(),
            "notes": Note.objects.count(),
            "interactions": Interaction.objects.count(),
        }
        return self.result

    def users(self) -> None:
        existing = {u.username.lower(): u for u in User.objects.all()}
        self.department = Department.objects.filter(name=DEMO_DEPARTMENT).first() or (
            account_services.department_create(actor=None, name=DEMO_DEPARTMENT)
        )
        self.by_role: dict[str, list[User]] = {}
        extension = 100
        for spec in USERS:
            extension += 1
            user = existing.get(spec.username)
            if user is None:
                free = not User.objects.filter(extension=str(extension)).exists()
                user = account_services.user_create(
                    actor=None,
                    username=spec.username,
                    password=self.password,
                    full_name=spec.full_name,
                    email=f"{spec.username}@otdel.example",
                    role=spec.role,
                    department=self.department if spec.in_department else None,
                    extension=str(extension) if free else None,
                    phone=f"+7 9{self.rng.randint(10, 99)} {self.rng.randint(100, 999)}-"
                    f"{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}",
                    language="ru",
                    work_days=list(spec.work_days),
                    work_start=spec.work_start,
                    work_end=spec.work_end,
                )
                self.result.logins.append(DemoLogin(spec.username, self.password, spec.title, spec.full_name))
            else:
                # Someone made this account (say, with createsuperuser) before: keep it and its password.
                self.result.logins.append(DemoLogin(user.username, None, spec.title, user.get_full_name()))
            self.by_role.setdefault(spec.role, []).append(user)
        self.head = self.by_role[Role.HEAD_OF_SALES][0]
        if self.department.head_id is None:
            account_services.department_update(
                actor=None, department=self.department, name=self.department.name, head=self.head
            )
        self.managers = self.by_role[Role.SALES_MANAGER]
        self.triagers = self.by_role[Role.OFFICE_MANAGER] + self.by_role[Role.CALL_CENTER]

    def routing(self) -> None:
        """The department's queue gets new callers, non-target traffic goes to the office manager and
        the head of sales is the last resort: the demo rings salespeople, not the fallback person."""
        queue = Queue.objects.filter(code=DEMO_QUEUE).first() or routing_services.queue_create(
            actor=None, code=DEMO_QUEUE, name=DEMO_DEPARTMENT, members=self.managers
        )
        cfg = RoutingSettings.load()
        routing_services.routing_settings_update(
            actor=None,
            non_target_destination=None
            if (cfg.non_target_user_id or cfg.non_target_queue_id)
            else {"user": self.by_role[Role.OFFICE_MANAGER][0].pk},
            default_queue=None if cfg.default_queue_id else queue.code,
            fallback_user=None if cfg.fallback_user_id else self.head.pk,
        )

    def pipelines(self) -> None:
        # Pipelines, stages and reasons are settings an administrator makes once; they have no
        # service of their own, so the demo writes them as a migration would.
        # get_or_create: a pipeline or reason of the same name made by an administrator is reused.
        self.stage_weights: dict[int, int] = {}
        self.stages: dict[int, list[Stage]] = {}
        has_default = Pipeline.objects.filter(is_default=True).exists()
        made = []
        for order, (name, specs, default) in enumerate(
            (("Продажи", SALES_STAGES, True), ("Тендеры", TENDER_STAGES, False))
        ):
            pipeline, _created = Pipeline.objects.get_or_create(
                name=name, defaults={"order": order, "is_default": default and not has_default}
            )
            for position, (stage_name, kind, probability, color, weight) in enumerate(specs):
                stage, _created = Stage.objects.get_or_create(
                    pipeline=pipeline,
                    name=stage_name,
                    defaults={"kind": kind, "order": position, "probability": probability, "color": color},
                )
                self.stage_weights[stage.pk] = weight
                self.stages.setdefault(pipeline.pk, []).append(stage)
            made.append(pipeline)
        self.sales, self.tenders = made
        self.reasons = [
            LostReason.objects.get_or_create(name=name, defaults={"order": order})[0]
            for order, (name, _w) in enumerate(LOST_REASONS)
        ]
        self.reason_weights = [weight for _name, weight in LOST_REASONS]

    def owner(self) -> User:
        if self.rng.random() < 0.04:
            return self.head
        return self.weighted(self.managers, MANAGER_WEIGHTS[: len(self.managers)])

    def companies(self, count: int = 80) -> None:
        rng = self.rng
        self.firms: list[_Firm] = []
        used_names: set[str] = set()
        used_inns: set[str] = set()
        while len(self.firms) < count:
            city = rng.choice(CITIES)
            kind = self.weighted(("ООО", "АО", "ИП"), (70, 12, 18))
            if kind == "ИП":
                founder = self.person(with_middle=1.0)
                name = f"ИП {founder.full_name}"
                core = translit(founder.surname)
            else:
                root, tail = rng.choice(NAME_ROOTS), rng.choice(NAME_TAILS)
                brand = f"{root}-{tail.capitalize()}" if rng.random() < 0.3 else root + tail
                name = f"{kind} «{brand}»"
                core = translit(brand)
            if name in used_names:
                continue
            inn = make_inn(rng, city[1], individual=kind == "ИП")
            if inn in used_inns:
                continue
            used_names.add(name)
            used_inns.add(inn)
            domain = f"{core}.example"
            local_len = 10 - len(city[2])
            office_phone = (
                city[2]
                + str(rng.randint(2, 5))
                + f"{rng.randint(0, 10 ** (local_len - 1) - 1):0{local_len - 1}d}"
            )
            owner = self.owner()
            created = self.moment(HISTORY_DAYS + rng.uniform(0, 200))
            company = services.company_create(
                actor=owner,
                name=name,
                inn=inn,
                website="" if kind == "ИП" and rng.random() < 0.6 else f"https://{domain}",
                address=f"г. {city[0]}, {rng.choice(city[3])}, д. {rng.randint(1, 120)}"
                + (f", оф. {rng.randint(1, 520)}" if rng.random() < 0.7 else ""),
                industry=rng.choice(INDUSTRIES),
                responsible=owner,
            )
            self.backdate(company, created)
            self.firms.append(_Firm(company, city, domain, office_phone, owner))

    def new_contact(
        self,
        *,
        actor: User | None,
        person: _Person,
        firm: _Firm | None,
        responsible: User | None,
        created: datetime.datetime,
        position: str = "",
        telegram: bool = False,
    ) -> Contact:
        rng = self.rng
        identities: list[tuple[str, str]] = []
        if rng.random() < 0.92:
            identities.append(("phone", self.mobile()))
        if firm is not None and rng.random() < 0.35:
            line = self.office_line(firm)
            if line:
                identities.append(("phone", line))
        if rng.random() < 0.8 or not identities:
            address = self.email(person, firm.domain if firm and rng.random() < 0.85 else None)
            if address:
                identities.append(("email", address))
        if telegram:
            handle = f"{translit(person.first)}_{translit(person.surname)}"
            if self.claim("telegram", handle):
                identities.append(("telegram", rng.choice((handle, "@" + handle))))
        contact = services.contact_create(
            actor=actor,
            full_name=person.full_name,
            identities=identities,
            company=firm.company if firm else None,
            position=position,
            responsible=responsible,
            comment=rng.choice(CONTACT_COMMENTS) if rng.random() < 0.15 else "",
        )
        self.backdate(contact, created)
        return contact

    def contacts(self, clients: int = 280) -> None:
        rng = self.rng
        self.clients: list[tuple[Contact, _Firm | None, datetime.datetime]] = []
        positions = [p for p, _w in POSITIONS]
        position_weights = [w for _p, w in POSITIONS]
        # Every company gets at least one person; the rest spread unevenly, a few private clients.
        plan: list[_Firm | None] = list(self.firms)
        while len(plan) < clients:
            plan.append(
                None
                if rng.random() < 0.08
                else self.weighted(self.firms, [1 + (i % 5) for i in range(len(self.firms))])
            )
        for firm in plan:
            created_company = self.dates[Company][firm.company.pk]["created_at"] if firm else None
            # Most clients were known before the six months shown; some came during them.
            days_ago = (
                rng.uniform(HISTORY_DAYS, HISTORY_DAYS + 150)
                if rng.random() < 0.75
                else rng.uniform(0, HISTORY_DAYS)
            )
            created = self.moment(days_ago)
            if created_company and created < created_company:
                created = self.later(created_company, 0.01, 20)
            owner = firm.owner if firm and rng.random() < 0.9 else self.owner()
            contact = self.new_contact(
                actor=owner,
                person=self.person(),
                firm=firm,
                responsible=owner,
                created=min(created, self.now),
                position=self.weighted(positions, position_weights) if firm else "",
                telegram=rng.random() < 0.1,
            )
            self.clients.append((contact, firm, min(created, self.now)))

    def deal_title(self, firm: _Firm | None, contact: Contact, tender: bool) -> str:
        rng = self.rng
        client = firm.company.name.split("«")[-1].rstrip("»") if firm else contact.full_name.split()[0]
        if firm and firm.company.name.startswith("ИП "):
            client = "ИП " + firm.company.name.split()[1]
        if tender:
            number = f"03{rng.randint(10, 99)}{rng.randint(100000, 999999)}{rng.randint(24, 25)}{rng.randint(0, 999999):06d}"
            return f"Тендер № {number}: {rng.choice(TENDER_PRODUCTS).lower()}"
        return f"{rng.choice(PRODUCTS)} — {client}"

    def amount(self, tender: bool) -> Decimal:
        low, high = (300_000, 5_000_000) if tender else (30_000, 5_000_000)
        value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        step = 1000 if value < 1_000_000 else 10_000
        return Decimal(int(value // step) * step)

    def pick_stage(self, pipeline: Pipeline, age_days: float) -> Stage:
        """Old deals are mostly closed; young ones sit in the early stages."""
        stages = self.stages[pipeline.pk]
        closed_share = min(0.8, age_days / 140)
        if self.rng.random() < closed_share:
            kind = Stage.Kind.WON if self.rng.random() < 0.42 else Stage.Kind.LOST
            return next(s for s in stages if s.kind == kind)
        open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
        # A young deal has had no time to go far down the pipeline.
        reach = max(1, min(len(open_stages), 1 + int(age_days / 6)))
        candidates = open_stages[:reach]
        return self.weighted(candidates, [self.stage_weights[s.pk] for s in candidates])

    def deals(self, count: int = 480) -> None:
        rng = self.rng
        self.deal_log: list[tuple[Deal, datetime.datetime, datetime.datetime | None]] = []
        weights = [1.0 + (i % 7) / 2 for i in range(len(self.clients))]
        for _n in range(count):
            contact, firm, contact_created = self.weighted(self.clients, weights)
            tender = firm is not None and rng.random() < 0.15
            pipeline = self.tenders if tender else self.sales
            created = self.moment(HISTORY_DAYS * rng.random() ** 1.1)
            if created < contact_created:
                created = self.later(contact_created, 0.02, 3)
            age = self.age(created)
            stage = self.pick_stage(pipeline, age)
            responsible = contact.responsible if rng.random() < 0.9 else self.owner()
            if tender:
                responsible = self.managers[-1] if rng.random() < 0.7 else responsible
            lost = stage.kind == Stage.Kind.LOST
            deal = services.deal_create(
                actor=responsible,
                title=self.deal_title(firm, contact, tender),
                pipeline=pipeline,
                stage=stage,
                lost_reason=self.weighted(self.reasons, self.reason_weights) if lost else None,
                contact=contact,
                responsible=responsible,
                amount=self.amount(tender),
                expected_close=(created + datetime.timedelta(days=rng.randint(14, 90))).date(),
            )
            closed = None
            extra: dict[str, Any] = {}
            if stage.is_terminal:
                closed = self.later(created, 2, max(3.0, min(age, 75)))
                extra["closed_at"] = closed
                if lost and rng.random() < 0.5:
                    extra["lost_comment"] = rng.choice(LOST_COMMENTS)
            self.backdate(deal, created, **extra)
            if closed:
                self.dates[Deal][deal.pk]["updated_at"] = closed
            self.deal_log.append((deal, created, closed))

    def leads(self) -> None:
        rng = self.rng
        sources = (
            (LeadSource.FORM, "form"),
            (LeadSource.CALL, "call"),
            (LeadSource.EMAIL, "email"),
            (LeadSource.MESSENGER, "telegram"),
            (LeadSource.MESSENGER, "whatsapp"),
            (LeadSource.REFERRAL, "manual"),
        )
        source_weights = (40, 30, 15, 8, 4, 3)

        def lead_fields(source: str, channel: str) -> dict[str, Any]:
            fields: dict[str, Any] = {"comment": rng.choice(LEAD_COMMENTS)}
            if source == LeadSource.FORM:
                fields.update(
                    utm_source=rng.choice(("yandex", "yandex", "google", "vk")),
                    utm_medium=rng.choice(("cpc", "cpc", "organic")),
                    utm_campaign=rng.choice(UTM_CAMPAIGNS),
                    page_url=f"https://otdel.example/catalog/{rng.choice(('nasosy', 'ventilyaciya', 'generatory', 'kabel'))}",
                )
            return fields

        def triager() -> User:
            return rng.choice(self.triagers)

        # Qualified: each opened a deal (through triage), which then went its way down the pipeline.
        available = [c for c in self.clients if c[0].responsible_id]
        for contact, firm, contact_created in rng.sample(available, 28):
            source, channel = self.weighted(sources, source_weights)
            created = max(self.moment(HISTORY_DAYS * rng.random()), contact_created)
            lead = services.lead_create(
                actor=None, contact=contact, source=source, channel=channel, **lead_fields(source, channel)
            )
            lead = lead_triage(
                actor=triager(),
                lead=lead,
                verdict=Verdict.QUALIFIED,
                pipeline=self.sales,
                responsible=contact.responsible,
                title=self.deal_title(firm, contact, tender=False),
                amount=self.amount(False),
            )
            triaged = created + datetime.timedelta(minutes=rng.randint(3, 90))
            self.backdate(lead, created, triaged_at=min(triaged, self.now))
            deal = lead.deal
            assert deal is not None
            age = self.age(created)
            stage = self.pick_stage(self.sales, age)
            closed = None
            if stage.pk != deal.stage_id:
                lost = stage.kind == Stage.Kind.LOST
                services.deal_move(
                    actor=deal.responsible,
                    deal=deal,
                    stage=stage,
                    lost_reason=self.weighted(self.reasons, self.reason_weights) if lost else None,
                )
            extra: dict[str, Any] = {}
            if stage.is_terminal:
                closed = self.later(triaged, 2, max(3.0, min(age, 75)))
                extra["closed_at"] = closed
            self.backdate(deal, min(triaged, self.now), **extra)
            self.deal_log.append((deal, triaged, closed))

        # Untriaged: the inbox of the last few days, mostly from people we have never seen.
        for index in range(22):
            source, channel = self.weighted(sources[:5], source_weights[:5])
            created = self.now - datetime.timedelta(hours=rng.uniform(0.2, 96))
            if index < 16:
                firm = rng.choice(self.firms) if rng.random() < 0.3 else None
                contact = self.new_contact(
                    actor=None, person=self.person(), firm=firm, responsible=None, created=created
                )
            else:
                contact, _firm, _created = rng.choice(self.clients)  # a repeat inquiry
            lead = services.lead_create(
                actor=None, contact=contact, source=source, channel=channel, **lead_fields(source, channel)
            )
            self.backdate(lead, created)

        # Non-target: suppliers, job seekers, spam, a wrong number. Triaged away from sales.
        for reason, name, position, company, message in NON_TARGET:
            created = self.moment(rng.uniform(1, HISTORY_DAYS))
            surname, first = [*name.split(), ""][:2]
            person = _Person(surname, first, "", False)
            identities = [("phone", self.mobile())]
            if reason in (NonTargetReason.SUPPLIER, NonTargetReason.SPAM):
                address = self.email(person, None)
                if address:
                    identities.append(("email", address))
            contact = services.contact_create(
                actor=None,
                full_name=name,
                identities=identities,
                position=position,
                comment=company,
            )
            self.backdate(contact, created)
            source = LeadSource.EMAIL if reason == NonTargetReason.SPAM else LeadSource.CALL
            lead = services.lead_create(
                actor=None, contact=contact, source=source, channel=source, comment=message
            )
            lead = lead_triage(actor=triager(), lead=lead, verdict=Verdict.NON_TARGET, reason=reason)
            self.backdate(lead, created, triaged_at=created + datetime.timedelta(minutes=rng.randint(2, 30)))

        # Duplicates: a known client wrote from a personal address; triage merged the two.
        for contact, _firm, contact_created in rng.sample(self.clients, 2):
            surname, first = contact.full_name.split()[:2]  # a web form asks for less than the card has
            person = _Person(surname, first, "", surname.endswith("а"))
            created = max(self.moment(rng.uniform(1, 60)), contact_created)
            twin = self.new_contact(actor=None, person=person, firm=None, responsible=None, created=created)
            lead = services.lead_create(
                actor=None,
                contact=twin,
                source=LeadSource.EMAIL,
                channel="email",
                comment=rng.choice(LEAD_COMMENTS),
            )
            lead = lead_triage(actor=triager(), lead=lead, verdict=Verdict.DUPLICATE, duplicate_of=contact)
            self.backdate(lead, created, triaged_at=created + datetime.timedelta(minutes=rng.randint(5, 60)))

    def notes(self) -> None:
        rng = self.rng
        for deal, created, closed in self.deal_log:
            if rng.random() < 0.55:
                end = closed or self.now
                span = max(0.1, (end - created).total_seconds() / 86400)
                for _n in range(rng.randint(1, 3)):
                    note = services.note_create(
                        actor=deal.responsible, body=rng.choice(DEAL_NOTES), deal=deal
                    )
                    self.backdate(note, self.later(created, 0.05, span))
        for contact, _firm, created in self.clients:
            if rng.random() < 0.3:
                note = services.note_create(
                    actor=contact.responsible, body=rng.choice(CONTACT_NOTES), contact=contact
                )
                self.backdate(note, self.later(created, 0.5, max(1.0, (self.now - created).days)))

    def timeline(self) -> None:
        """Calls, e-mails and Telegram messages with the clients of open and recent deals.

        Stored as they would have been ingested (routed to the deal's owner), without the ingest
        side effects: what is older than two days was handled; newer inbound items wait in the
        owner's Inbox, with a notification.
        """
        rng = self.rng
        rows: list[Interaction] = []
        phones = dict(Identity.objects.filter(kind="phone").values_list("contact_id", "value"))
        emails = dict(Identity.objects.filter(kind="email").values_list("contact_id", "value"))
        for deal, created, closed in self.deal_log:
            contact, owner = deal.contact, deal.responsible
            if contact is None or owner is None or rng.random() < 0.4:
                continue
            end = closed or self.now
            span = max(0.1, (end - created).total_seconds() / 86400)
            for k in range(rng.randint(1, 4)):
                at = self.later(created, 0.02, span)
                choice, inbound = rng.random(), rng.random() < 0.6
                row = Interaction(
                    provider="demo",
                    external_id=f"demo-{deal.pk}-{k}",
                    occurred_at=at,
                    contact=contact,
                    deal=deal,
                    user=owner,
                    direction=Direction.IN if inbound else Direction.OUT,
                    routed_to=owner if inbound else None,
                )
                if choice < 0.5 and contact.pk in phones:
                    seconds = rng.randint(40, 900)
                    missed = inbound and rng.random() < 0.15
                    row.kind, row.channel = InteractionKind.CALL, "call"
                    row.status = CallStatus.MISSED if missed else CallStatus.ANSWERED
                    row.call_state = CallState.ENDED
                    row.duration = 0 if missed else seconds
                    extension = owner.extension or ""
                    row.caller = phones[contact.pk] if inbound else extension
                    row.called = extension if inbound else phones[contact.pk]
                    row.extension = extension
                    row.ended_at = at + datetime.timedelta(seconds=row.duration or 30)
                elif choice < 0.8 and contact.pk in emails:
                    row.kind, row.channel = InteractionKind.EMAIL, "email"
                    row.subject = rng.choice(EMAIL_SUBJECTS)
                    row.body = rng.choice(EMAIL_BODIES)
                    row.message_id = f"<demo-{deal.pk}-{k}@otdel.demo>"
                    row.thread_key = row.message_id
                else:
                    row.kind, row.channel = InteractionKind.MESSAGE, "telegram"
                    row.body = rng.choice(TELEGRAM_TEXTS) if inbound else rng.choice(DEAL_NOTES)
                if inbound and self.now - at > datetime.timedelta(days=2):
                    row.handled_by, row.handled_at = (
                        owner,
                        at + datetime.timedelta(minutes=rng.randint(5, 90)),
                    )
                rows.append(row)
        Interaction.objects.bulk_create(rows, batch_size=500)
        for row in rows:
            self.backdate(row, row.occurred_at)
            if row.routed_to is not None and row.handled_at is None:
                notify_inbound(
                    InteractionReceived(interaction_id=row.pk)
                )  # as ingesting it would have, after commit

    def apply_dates(self) -> None:
        """Move creation times back (auto_now_add can't be set on create), and the change log with them."""
        for model, rows in self.dates.items():
            # bulk_update writes the same fields for a whole batch: group rows by the fields they set.
            groups: dict[tuple[str, ...], list[models.Model]] = {}
            for pk, values in rows.items():
                obj = model(pk=pk)
                for name, value in values.items():
                    setattr(obj, name, value)
                groups.setdefault(tuple(sorted(values)), []).append(obj)
            for names, batch in groups.items():
                model._default_manager.bulk_update(batch, list(names), batch_size=250)

        contact_created = Contact.objects.filter(pk=OuterRef("contact_id")).values("created_at")[:1]
        Identity.objects.update(created_at=Subquery(contact_created), updated_at=Subquery(contact_created))

        def log_of(model: type[models.Model]) -> models.QuerySet[ObjectChange]:
            return ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(model))

        def value_of(model: type[models.Model], name: str) -> Subquery:
            return Subquery(model._default_manager.filter(pk=OuterRef("object_id")).values(name)[:1])

        for model in (Company, Contact, Deal, Lead):
            log_of(model).filter(action=ObjectChange.Action.CREATE).update(at=value_of(model, "created_at"))
        log_of(Lead).exclude(action=ObjectChange.Action.CREATE).update(
            at=Coalesce(value_of(Lead, "triaged_at"), value_of(Lead, "created_at"))
        )
        log_of(Deal).exclude(action=ObjectChange.Action.CREATE).update(
            at=Coalesce(value_of(Deal, "closed_at"), value_of(Deal, "created_at"))
        )
        # A contact changes on triage (marked non-target, merged): date it by its latest triaged lead.
        last_triage = Subquery(
            Lead.objects.filter(contact=OuterRef("object_id"), triaged_at__isnull=False)
            .order_by("-triaged_at")
            .values("triaged_at")[:1]
        )
        log_of(Contact).exclude(action=ObjectChange.Action.CREATE).update(
            at=Coalesce(last_triage, value_of(Contact, "created_at"))
        )
