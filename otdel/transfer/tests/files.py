"""Import files shaped like the real thing, built in the tests: amoCRM and Bitrix24 exports in
windows-1251 with ";" (as their CSV exports come), plain CSV and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

AMO_DEALS_HEADER = [
    "ID",
    "Название сделки",
    "Бюджет",
    "Ответственный",
    "Дата создания",
    "Кем создана",
    "Теги",
    "Этап сделки",
    "Воронка",
    "Полное имя контакта",
    "Компания",
    "Рабочий телефон (контакт)",
    "Мобильный телефон (контакт)",
    "Рабочий email (контакт)",
    "Должность (контакт)",
    "Источник трафика",
]
BITRIX_CONTACTS_HEADER = [
    "ID",
    "Обращение",
    "Имя",
    "Отчество",
    "Фамилия",
    "Дата рождения",
    "Должность",
    "Компания",
    "Рабочий телефон",
    "Мобильный телефон",
    "Рабочий e-mail",
    "Частный e-mail",
    "Адрес",
    "Комментарий",
    "Тип контакта",
    "Источник",
    "Ответственный",
    "Дата создания",
]
BITRIX_COMPANIES_HEADER = [
    "ID",
    "Название компании",
    "Тип компании",
    "Сфера деятельности",
    "Рабочий телефон",
    "Рабочий e-mail",
    "Корпоративный сайт",
    "Адрес",
    "ИНН",
    "Комментарий",
    "Ответственный",
]


def csv_bytes(
    rows: list[list[Any]], *, encoding: str = "cp1251", delimiter: str = ";", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def upload(data: bytes, name: str = "export.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def amo_deals(manager_name: str = "Петров Пётр") -> bytes:
    rows = [
        AMO_DEALS_HEADER,
        [
            "101",
            "Поставка станков",
            "1 234 567,89",
            manager_name,
            "01.11.2025 10:00:00",
            "Админ",
            "опт, станки",
            "Переговоры",
            "Основная воронка",
            "Сидоров Алексей",
            "ООО Вектор",
            "+7 (912) 345-67-89",
            "8 916 123-45-67",
            "sidorov@vector.ru",
            "Директор",
            "Яндекс",
        ],
        [
            "102",
            "Запчасти",
            "50000",
            manager_name,
            "02.11.2025 11:00:00",
            "Админ",
            "",
            "Успешно реализовано",
            "Основная воронка",
            "Кузнецова Мария",
            "ООО Вектор",
            "8 (495) 123-45-67 доб. 12",
            "",
            "maria@vector.ru",
            "Бухгалтер",
            "",
        ],
        [
            "103",
            "Ремонт",
            "",
            "Неизвестный Менеджер",
            "03.11.2025 12:00:00",
            "Админ",
            "",
            "Закрыто и не реализовано",
            "Основная воронка",
            "Сидоров Алексей",
            "ООО Вектор",
            "+79123456789",
            "",
            "",
            "",
            "",
        ],
    ]
    return csv_bytes(rows)


def bitrix_contacts(manager_name: str = "Петров Пётр") -> bytes:
    rows = [
        BITRIX_CONTACTS_HEADER,
        [
            "1",
            "г-н",
            "Иван",
            "Петрович",
            "Смирнов",
            "01.02.1980",
            "Закупщик",
            "АО Север",
            "+7 912 000-00-01, 8 495 000-00-02",
            "",
            "smirnov@sever.ru; ivan@mail.ru",
            "",
            "Москва",
            "Постоянный клиент",
            "Клиенты",
            "Звонок",
            manager_name,
            "05.01.2024",
        ],
        [
            "2",
            "г-жа",
            "Анна",
            "",
            "Орлова",
            "",
            "",
            "",
            "",
            "89120000003",
            "orlova@yandex.ru",
            "",
            "",
            "",
            "Клиенты",
            "Веб-сайт",
            "",
            "06.01.2024",
        ],
    ]
    return csv_bytes(rows)
