"""Demo data of the transfer app: one finished import of a Bitrix24 contact export (windows-1251,
";"), so the import list, its report and the undo button have something to show."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

DEMO_FILE = "demo-bitrix24-contacts.csv"
HEADER = [
    "ID",
    "Обращение",
    "Имя",
    "Отчество",
    "Фамилия",
    "Должность",
    "Компания",
    "Рабочий телефон",
    "Мобильный телефон",
    "Рабочий e-mail",
    "Комментарий",
    "Тип контакта",
    "Источник",
    "Ответственный",
]
ROWS = [
    [
        "11",
        "г-н",
        "Олег",
        "Игоревич",
        "Баранов",
        "Главный инженер",
        "ООО Техносфера",
        "+7 999 100-00-01",
        "",
        "baranov@technosfera.example",
        "",
        "Клиенты",
        "Выставка",
        "",
    ],
    [
        "12",
        "г-жа",
        "Ирина",
        "Сергеевна",
        "Волкова",
        "Снабженец",
        "ООО Техносфера",
        "8 (999) 100-00-02, 8 999 100 00 03",
        "",
        "volkova@technosfera.example",
        "Звонить после 14:00",
        "Клиенты",
        "Звонок",
        "",
    ],
    [
        "13",
        "г-н",
        "Дмитрий",
        "",
        "Гусев",
        "Директор",
        "АО Металлург",
        "",
        "89991000004",
        "gusev@metallurg.example; info@metallurg.example",
        "",
        "Партнёры",
        "Рекомендация",
        "",
    ],
    [
        "14",
        "г-жа",
        "Елена",
        "Павловна",
        "Дроздова",
        "",
        "",
        "+7 999 100 00 05",
        "",
        "",
        "Просила прайс",
        "Клиенты",
        "Веб-сайт",
        "",
    ],
    [
        "15",
        "г-н",
        "Павел",
        "",
        "Ершов",
        "Закупщик",
        "АО Металлург",
        "+7 999 100-00-06 доб. 21",
        "",
        "ershov@metallurg.example",
        "",
        "Клиенты",
        "Звонок",
        "",
    ],
    [
        "16",
        "г-н",
        "Олег",
        "Игоревич",
        "Баранов",
        "Главный инженер",
        "ООО Техносфера",
        "+79991000001",
        "",
        "",
        "Дубль из старой базы",
        "Клиенты",
        "",
        "",
    ],
]


def _file() -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows([HEADER, *ROWS])
    return buffer.getvalue().encode("cp1251")


def seed_demo() -> None:
    """Idempotent: does nothing when the demo import is already there."""
    from otdel.accounts.models import User
    from otdel.transfer import services
    from otdel.transfer.models import ImportJob

    admin = User.objects.filter(username="admin").first()
    if admin is None or ImportJob.objects.filter(file_name=DEMO_FILE).exists():
        return
    job = services.import_create(
        actor=admin, upload=SimpleUploadedFile(DEMO_FILE, _file()), kind="auto", dry_run=False
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    services.import_run(job.pk)
