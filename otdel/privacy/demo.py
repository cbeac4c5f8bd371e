"""Demo data of the privacy app, on top of the core demo (``manage.py load_demo``): operator details,
two consent purposes with what they cover, consents of a few clients (one withdrawn), subject requests
(one of them overdue) and a breach. Deterministic and idempotent."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from otdel.accounts.models import User
from otdel.crm.models import Contact
from otdel.privacy.models import (
    BreachIncident,
    Consent,
    ConsentMethod,
    LegalBasis,
    PrivacySettings,
    SubjectRequest,
)
from otdel.privacy.register import CONTACT_DETAILS, CORRESPONDENCE, NAME, ONLINE
from otdel.privacy.services import (
    consent_purpose_upsert,
    consent_record,
    purpose_rule_set,
    subject_request_due,
)

PD_TEXT = (
    "Я даю согласие ООО «Отдел» (г. Москва, ул. Примерная, д. 1) на обработку моих персональных данных "
    "(ФИО, телефон, адрес электронной почты, текст обращения) в целях ответа на моё обращение и подготовки "
    "коммерческого предложения. Согласие действует до достижения цели обработки и может быть отозвано "
    "письменным заявлением."
)
ADS_TEXT = (
    "Я даю согласие ООО «Отдел» на получение рекламных и информационных рассылок по электронной почте и "
    "в мессенджерах. Согласие действует 3 года и может быть отозвано в любой момент."
)


@transaction.atomic
def seed_demo() -> None:
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return
    conf = PrivacySettings.load()
    if not conf.operator_name:
        conf.operator_name = "ООО «Отдел»"
        conf.operator_address = "125009, г. Москва, ул. Примерная, д. 1"
        conf.officer = admin
        conf.officer_phone = "+7 495 000-00-00"
        conf.officer_email = "privacy@otdel.example"
        conf.save()
    pd = consent_purpose_upsert(
        actor=admin,
        code="pd-inquiry",
        title="Обработка персональных данных для ответа на обращение",
        text=PD_TEXT,
    ).purpose
    purpose_rule_set(
        actor=admin,
        purpose=pd,
        description="Ответ на заявку, звонки и письма по ней, коммерческое предложение.",
        legal_basis=LegalBasis.CONSENT,
        uses=["inquiry", "call_recording"],
        categories=[NAME, CONTACT_DETAILS, CORRESPONDENCE],
        retention_months=12,
    )
    ads = consent_purpose_upsert(
        actor=admin, code="marketing", title="Рекламные рассылки", text=ADS_TEXT
    ).purpose
    purpose_rule_set(
        actor=admin,
        purpose=ads,
        description="Рассылки о новинках и акциях по e-mail и в Telegram.",
        legal_basis=LegalBasis.CONSENT,
        uses=["marketing_email", "marketing_messages", "analytics"],
        categories=[NAME, CONTACT_DETAILS, ONLINE],
        retention_months=36,
    )
    now = timezone.now().replace(microsecond=0)
    contacts = list(
        Contact.objects.filter(merged_into__isnull=True, identities__isnull=False)
        .distinct()
        .order_by("pk")[:6]
    )
    for n, contact in enumerate(contacts):
        given = now - datetime.timedelta(days=30 + 7 * n)
        for purpose in [pd, ads] if n % 2 == 0 else [pd]:
            if Consent.objects.filter(contact=contact, purpose=purpose).exists():
                continue
            consent = consent_record(
                contact=contact,
                purpose=purpose,
                text=purpose.current_text,  # type: ignore[arg-type]
                given_at=given,
                ip=f"198.51.100.{10 + n}",
                user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0",
                page_url="https://otdel.example/contacts",
                source="form:demo",
                method=ConsentMethod.FORM,
            )
            if n == 2 and purpose == ads:
                Consent.objects.filter(pk=consent.pk).update(
                    withdrawn_at=given + datetime.timedelta(days=10), withdrawal_source="e-mail"
                )
    if contacts and not SubjectRequest.objects.exists():
        received = now - datetime.timedelta(days=3)
        SubjectRequest.objects.create(
            kind=SubjectRequest.Kind.ACCESS,
            contact=contacts[0],
            requester=contacts[0].full_name,
            received_at=received,
            due_at=subject_request_due(received),
            details="Просит сообщить, какие данные о нём хранятся и откуда они получены.",
            responsible=admin,
        )
        late = now - datetime.timedelta(days=30)
        SubjectRequest.objects.create(
            kind=SubjectRequest.Kind.DELETION,
            contact=contacts[-1],
            requester=contacts[-1].full_name,
            received_at=late,
            due_at=subject_request_due(late),
            details="Требует удалить все данные и больше не звонить.",
            responsible=admin,
        )
    if not BreachIncident.objects.exists():
        BreachIncident.objects.create(
            title="Выгрузка контактов отправлена не тому адресату",
            description="Менеджер отправил файл со списком клиентов на внешний адрес по ошибке в автодополнении.",
            affected="ФИО и телефоны 37 клиентов",
            harm="Возможны нежелательные звонки клиентам.",
            measures="Получатель удалил письмо и подтвердил это письменно; автодополнение внешних адресов отключено.",
            found_at=now - datetime.timedelta(hours=5),
            created_by=admin,
        )
