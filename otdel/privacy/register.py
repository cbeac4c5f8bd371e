"""The register of personal data in code: which field of which model holds personal data, of what
category, for which processing purpose; every other field is declared as not personal data.

A test (``tests/test_register.py``) walks every field of every model of every installed ``otdel``
app and fails when one is missing here, so a new field cannot be added without saying what it is.

How an app classifies its models, either here (one ``classify`` block per app, appended at the end
of this file) or in its own ``otdel/<app>/pd_register.py`` holding a ``PD_REGISTER`` dict of the
same shape::

    classify("documents.Document", pd={"title": (FREE_TEXT, SALES)}, not_pd=["number", "status"])

    PD_REGISTER = {"kb.Article": {"pd": {}, "not_pd": ["title", "body"]}}

The same register drives destruction (which values to wipe from the change log) and the processing
register page (the operator's notice to Roskomnadzor).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# --- categories of personal data (as the notice to Roskomnadzor lists them) -----------------------

NAME = "name"
CONTACT_DETAILS = "contact_details"
POSITION = "position"
CORRESPONDENCE = "correspondence"
VOICE = "voice"
FILES = "files"
ONLINE = "online"
FREE_TEXT = "free_text"
EMPLOYEE = "employee"
CREDENTIALS = "credentials"

CATEGORIES: dict[str, Promise] = {
    NAME: _("Surname, first name, patronymic"),
    CONTACT_DETAILS: _("Phone numbers, e-mail addresses, messenger identifiers"),
    POSITION: _("Position and employer"),
    CORRESPONDENCE: _("Content of correspondence, messages and call details"),
    VOICE: _("Recordings of telephone conversations (voice)"),
    FILES: _("Documents and files the person sent or signed"),
    ONLINE: _("IP address, browser, pages visited, advertising tags"),
    FREE_TEXT: _("Other information in comments and notes"),
    EMPLOYEE: _("Employees: name, contact details, work schedule"),
    CREDENTIALS: _("Employees: login and password hash"),
}

# --- processing purposes (what the operator processes personal data for) --------------------------

SALES = "sales"
MARKETING = "marketing"
ANALYTICS = "analytics"
STAFF = "staff"
SECURITY = "security"
REQUESTS = "requests"


@dataclass(frozen=True)
class ProcessingPurpose:
    code: str
    title: Promise
    legal_basis: Promise
    subjects: Promise
    actions: Promise


_ACTIONS = _(
    "collection, recording, systematization, accumulation, storage, clarification, retrieval, use, "
    "blocking, deletion, destruction"
)

PURPOSES: dict[str, ProcessingPurpose] = {
    p.code: p
    for p in [
        ProcessingPurpose(
            SALES,
            _("Handling inquiries, concluding and performing contracts with clients"),
            _("Art. 6 p. 1 pt. 5 of 152-FZ: a contract with the person or steps at their request before it"),
            _("Clients, potential clients and their representatives"),
            _ACTIONS,
        ),
        ProcessingPurpose(
            MARKETING,
            _("Promotion of goods and services (newsletters, offers)"),
            _("Art. 6 p. 1 pt. 1 and art. 15 of 152-FZ: consent of the person"),
            _("Clients and potential clients who gave consent"),
            _ACTIONS,
        ),
        ProcessingPurpose(
            ANALYTICS,
            _("Analytics of advertising channels and website visits"),
            _("Art. 6 p. 1 pt. 1 of 152-FZ: consent of the person"),
            _("Website visitors who submitted a form"),
            _ACTIONS,
        ),
        ProcessingPurpose(
            STAFF,
            _("Organizing the work of the operator's employees in the CRM"),
            _("Art. 6 p. 1 pt. 2 and 5 of 152-FZ; the Labour Code"),
            _("Employees of the operator"),
            _ACTIONS,
        ),
        ProcessingPurpose(
            SECURITY,
            _("Ensuring the security of personal data: change and access logs"),
            _("Art. 6 p. 1 pt. 2, art. 18.1 and 19 of 152-FZ"),
            _("Clients, potential clients, employees"),
            _("recording, storage, use, destruction"),
        ),
        ProcessingPurpose(
            REQUESTS,
            _("Answering requests of personal data subjects and Roskomnadzor"),
            _("Art. 6 p. 1 pt. 2, art. 14, 20, 21 of 152-FZ"),
            _("Persons who sent a request"),
            _ACTIONS,
        ),
    ]
}

# Fields every model has from the core mixins: never personal data.
COMMON_NOT_PD = frozenset({"id", "created_at", "updated_at", "version"})


@dataclass
class ModelEntry:
    pd: dict[str, tuple[str, str]] = field(default_factory=dict)
    not_pd: set[str] = field(default_factory=set)


REGISTER: dict[str, ModelEntry] = {}


def classify(
    model: str, *, pd: dict[str, tuple[str, str]] | None = None, not_pd: list[str] | tuple[str, ...] = ()
) -> None:
    """Declare a model's fields: ``pd`` maps field -> (category, purpose); ``not_pd`` lists the rest."""
    entry = REGISTER.setdefault(model.lower(), ModelEntry())
    for name, (category, purpose) in (pd or {}).items():
        if category not in CATEGORIES or purpose not in PURPOSES:
            raise ValueError(f"{model}.{name}: unknown category {category!r} or purpose {purpose!r}")
        entry.pd[name] = (category, purpose)
    entry.not_pd.update(not_pd)


def _autodiscover() -> None:
    """Take ``PD_REGISTER`` from ``otdel/<app>/pd_register.py`` of every installed app that has one."""
    for config in apps.get_app_configs():
        if not config.name.startswith("otdel."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.pd_register")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.pd_register":
                raise
            continue
        for model, spec in getattr(module, "PD_REGISTER", {}).items():
            classify(model, pd=spec.get("pd"), not_pd=spec.get("not_pd", ()))


_discovered = False


def register() -> dict[str, ModelEntry]:
    global _discovered
    if not _discovered:
        _autodiscover()
        _discovered = True
    return REGISTER


def model_fields(model: type[models.Model]) -> list[str]:
    """The names a model's register entry must cover: concrete fields and many-to-many ones."""
    names = [f.name for f in model._meta.concrete_fields]
    names += [f.name for f in model._meta.many_to_many]
    return names


def pd_fields(model: type[models.Model]) -> dict[str, tuple[str, str]]:
    entry = register().get(model._meta.label_lower)
    return dict(entry.pd) if entry else {}


def unclassified() -> list[str]:
    """``app.Model.field`` of every field of an installed otdel app that the register does not know,
    and every register entry naming a field that does not exist."""
    reg = register()
    missing: list[str] = []
    seen: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("otdel."):
            continue
        label = model._meta.label_lower
        seen.add(label)
        entry = reg.get(label, ModelEntry())
        names = model_fields(model)
        for name in names:
            if name not in COMMON_NOT_PD and name not in entry.pd and name not in entry.not_pd:
                missing.append(f"{model._meta.label}.{name}")
        for name in [*entry.pd, *entry.not_pd]:
            if name not in names:
                missing.append(f"{model._meta.label}.{name} (no such field)")
    missing += [f"{label} (no such model)" for label in reg if label not in seen]
    return missing


def processing_register() -> list[dict[str, object]]:
    """Per purpose: its basis, subjects, categories and the fields holding them (for the page)."""
    rows: dict[str, dict[str, object]] = {}
    for label, entry in sorted(register().items()):
        for name, (category, purpose) in sorted(entry.pd.items()):
            row = rows.setdefault(purpose, {"purpose": PURPOSES[purpose], "categories": {}, "fields": []})
            row["categories"][category] = CATEGORIES[category]  # type: ignore[index]
            row["fields"].append((label, name, CATEGORIES[category]))  # type: ignore[attr-defined]
    return [rows[code] for code in PURPOSES if code in rows]


# --- the apps Otdel ships -------------------------------------------------------------------------

classify(
    "core.ObjectChange",
    # Old and new values of every audited record: copies of whatever personal data they held.
    pd={"changes": (FREE_TEXT, SECURITY), "object_repr": (NAME, SECURITY), "user_name": (EMPLOYEE, SECURITY)},
    not_pd=["at", "user", "action", "content_type", "object_id", "message"],
)
classify("core.CalendarDay", not_pd=["date", "kind", "note"])
classify("core.ScheduledJob", not_pd=["name", "next_run_at", "last_enqueued_at"])

classify("accounts.Department", not_pd=["name", "head"])
classify(
    "accounts.User",
    pd={
        "username": (CREDENTIALS, STAFF),
        "password": (CREDENTIALS, STAFF),
        "first_name": (EMPLOYEE, STAFF),
        "last_name": (EMPLOYEE, STAFF),
        "full_name": (EMPLOYEE, STAFF),
        "email": (EMPLOYEE, STAFF),
        "phone": (EMPLOYEE, STAFF),
    },
    not_pd=[
        "last_login",
        "is_superuser",
        "is_staff",
        "is_active",
        "date_joined",
        "role",
        "department",
        "extension",
        "language",
        "work_days",
        "work_start",
        "work_end",
        "groups",
        "user_permissions",
    ],
)
classify(
    "accounts.Absence",
    pd={
        "start": (EMPLOYEE, STAFF),
        "end": (EMPLOYEE, STAFF),
        "kind": (EMPLOYEE, STAFF),
        "comment": (EMPLOYEE, STAFF),
    },
    not_pd=["user", "backup"],
)

classify(
    "crm.Company",
    # A legal entity's requisites are not personal data; comments and the signatory name people.
    pd={"comment": (FREE_TEXT, SALES), "signatory": (NAME, SALES), "signatory_position": (POSITION, SALES)},
    not_pd=[
        "name",
        "inn",
        "website",
        "address",
        "industry",
        "responsible",
        "search_text",
        "full_name",
        "kpp",
        "ogrn",
        "bank_name",
        "bik",
        "account",
        "corr_account",
        "signatory_basis",
    ],
)
classify(
    "crm.Contact",
    pd={
        "full_name": (NAME, SALES),
        "position": (POSITION, SALES),
        "comment": (FREE_TEXT, SALES),
        "search_text": (NAME, SALES),
    },
    not_pd=["company", "responsible", "non_target", "non_target_reason", "merged_into"],
)
classify(
    "crm.Identity",
    pd={"value": (CONTACT_DETAILS, SALES), "label": (FREE_TEXT, SALES)},
    not_pd=["kind", "contact", "is_primary"],
)
classify("crm.Pipeline", not_pd=["name", "order", "is_default", "is_active"])
classify("crm.Stage", not_pd=["pipeline", "name", "order", "kind", "probability", "color"])
classify("crm.LostReason", not_pd=["name", "is_active", "order"])
classify(
    "crm.Lead",
    pd={
        "comment": (CORRESPONDENCE, SALES),
        "verdict_reason": (FREE_TEXT, SALES),
        "utm_source": (ONLINE, ANALYTICS),
        "utm_medium": (ONLINE, ANALYTICS),
        "utm_campaign": (ONLINE, ANALYTICS),
        "utm_content": (ONLINE, ANALYTICS),
        "utm_term": (ONLINE, ANALYTICS),
        "page_url": (ONLINE, ANALYTICS),
    },
    not_pd=[
        "contact",
        "source",
        "channel",
        "status",
        "verdict",
        "triaged_by",
        "triaged_at",
        "responsible",
        "deal",
        "duplicate_of",
    ],
)
classify(
    "crm.Deal",
    pd={"title": (FREE_TEXT, SALES), "lost_comment": (FREE_TEXT, SALES), "custom_fields": (FREE_TEXT, SALES)},
    not_pd=[
        "pipeline",
        "stage",
        "contact",
        "company",
        "responsible",
        "amount",
        "currency",
        "expected_close",
        "closed_at",
        "lost_reason",
        "position",
    ],
)
classify("crm.Note", pd={"body": (FREE_TEXT, SALES)}, not_pd=["author", "contact", "company", "deal"])
classify(
    "crm.Task",
    pd={"title": (FREE_TEXT, SALES), "description": (FREE_TEXT, SALES)},
    not_pd=["kind", "assignee", "due_at", "done_at", "contact", "deal", "lead", "interaction"],
)

classify(
    "routing.Queue",
    not_pd=["code", "name", "strategy", "is_active", "off_hours", "duty_user", "voicemail", "members"],
)
classify("routing.QueueMember", not_pd=["queue", "user", "last_assigned_at", "assigned_count"])
classify(
    "routing.RoutingSettings",
    not_pd=[
        "non_target_user",
        "non_target_queue",
        "default_queue",
        "fallback_user",
        "repeat_rule",
        "callback_minutes",
    ],
)
classify(
    "routing.RoutingDecision",
    pd={"input": (CONTACT_DETAILS, SALES)},
    not_pd=["channel", "contact", "reason", "rule", "user", "queue", "live"],
)
classify(
    "routing.BlockedIdentity",
    pd={"value": (CONTACT_DETAILS, SALES), "comment": (FREE_TEXT, SALES)},
    not_pd=["kind", "reason", "created_by"],
)

classify(
    "comms.Interaction",
    pd={
        "subject": (CORRESPONDENCE, SALES),
        "body": (CORRESPONDENCE, SALES),
        "summary": (CORRESPONDENCE, SALES),
        "caller": (CONTACT_DETAILS, SALES),
        "called": (CONTACT_DETAILS, SALES),
        "recording_url": (VOICE, SALES),
        "recording_file": (VOICE, SALES),
        "message_id": (CORRESPONDENCE, SALES),
        "thread_key": (CORRESPONDENCE, SALES),
        "payload": (CORRESPONDENCE, SALES),
    },
    not_pd=[
        "kind",
        "channel",
        "direction",
        "provider",
        "external_id",
        "occurred_at",
        "contact",
        "identity",
        "deal",
        "lead",
        "user",
        "call_state",
        "status",
        "extension",
        "duration",
        "answered_at",
        "ended_at",
        "routed_to",
        "routed_queue",
        "routing_decision",
        "handled_by",
        "handled_at",
    ],
)
classify(
    "comms.Attachment",
    pd={"file": (FILES, SALES), "filename": (FILES, SALES)},
    not_pd=["interaction", "content_type", "size"],
)
classify(
    "comms.IntakeLog",
    pd={"body": (CORRESPONDENCE, SALES), "headers": (ONLINE, SECURITY), "remote_addr": (ONLINE, SECURITY)},
    not_pd=["provider", "status", "error", "interaction"],
)
classify(
    "comms.TelephonyProvider",
    not_pd=[
        "kind",
        "name",
        "key",
        "is_active",
        "live_routing",
        "api_key",
        "api_secret",
        "api_url",
        "ami_host",
        "ami_port",
        "ami_username",
        "ami_password",
        "originate_context",
        "queue",
        "last_event_at",
        "last_error",
    ],
)
classify("comms.TelephonyLine", not_pd=["provider", "number", "name", "queue"])
classify(
    "comms.Mailbox",
    not_pd=[
        "address",
        "imap_host",
        "imap_port",
        "imap_ssl",
        "username",
        "password",
        "smtp_host",
        "smtp_port",
        "smtp_ssl",
        "smtp_starttls",
        "inbox_folder",
        "sent_folder",
        "queue",
        "is_active",
        "last_sync_at",
        "last_error",
        "last_error_at",
    ],
)
classify("comms.MailFolderCursor", not_pd=["mailbox", "folder", "uidvalidity", "last_uid"])
classify(
    "comms.TelegramBot",
    not_pd=[
        "name",
        "key",
        "token",
        "secret_token",
        "username",
        "api_base_url",
        "queue",
        "is_active",
        "webhook_set_at",
        "last_error",
    ],
)
classify(
    "comms.WebForm",
    not_pd=[
        "slug",
        "name",
        "queue",
        "consent_purposes",
        "fields",
        "title",
        "success_message",
        "allowed_origins",
        "rate_limit_per_minute",
        "is_active",
    ],
)

classify(
    "automation.Notification",
    pd={"title": (NAME, SALES)},
    not_pd=["user", "kind", "url", "contact", "key", "read_at"],
)

classify("privacy.ConsentPurpose", not_pd=["code", "title", "is_active"])
classify("privacy.ConsentText", not_pd=["purpose", "version", "text", "sha256"])
classify(
    "privacy.Consent",
    pd={"ip": (ONLINE, SALES), "user_agent": (ONLINE, SALES), "page_url": (ONLINE, SALES)},
    not_pd=[
        "contact",
        "purpose",
        "text",
        "given_at",
        "source",
        "interaction",
        "method",
        "recorded_by",
        "withdrawn_at",
        "withdrawn_by",
        "withdrawal_source",
    ],
)
classify(
    "privacy.PurposeRule",
    not_pd=["purpose", "description", "legal_basis", "uses", "categories", "retention_months"],
)
classify(
    "privacy.PrivacySettings",
    pd={"officer_phone": (EMPLOYEE, REQUESTS), "officer_email": (EMPLOYEE, REQUESTS)},
    not_pd=[
        "operator_name",
        "operator_address",
        "processor_name",
        "information_system",
        "officer",
        "lead_retention_months",
        "client_retention_months",
        "telegram_consent_purpose",
    ],
)
classify(
    "privacy.ConsentScan",
    pd={"file": (FILES, SALES), "filename": (FILES, SALES)},
    not_pd=["consent", "sha256"],
)
classify(
    "privacy.PDAccessLog",
    pd={"query": (FREE_TEXT, SECURITY), "user_name": (EMPLOYEE, SECURITY), "ip": (ONLINE, SECURITY)},
    not_pd=["at", "user", "action", "contact", "row_count", "path"],
)
classify(
    "privacy.SubjectRequest",
    pd={
        "requester": (NAME, REQUESTS),
        "details": (FREE_TEXT, REQUESTS),
        "answer": (FREE_TEXT, REQUESTS),
        "extension_reason": (FREE_TEXT, REQUESTS),
    },
    not_pd=["kind", "contact", "received_at", "due_at", "extended", "responsible", "status", "answered_at"],
)
classify(
    "privacy.DestructionProposal",
    not_pd=["contact", "reason", "last_activity_at", "status", "decided_by", "decided_at"],
)
classify(
    "privacy.DestructionAct",
    # Order 179 keeps the destroyed person's name in the act (for 3 years), and nothing else.
    pd={
        "subject_name": (NAME, SECURITY),
        "destroyed_by_name": (EMPLOYEE, SECURITY),
        "pdf": (FILES, SECURITY),
    },
    not_pd=[
        "number",
        "contact",
        "operator_name",
        "operator_address",
        "processor_name",
        "destroyed_by",
        "destroyed_by_position",
        "categories",
        "information_system",
        "method",
        "reason",
        "destroyed_at",
        "event_log",
        "keep_until",
    ],
)
classify("privacy.Tombstone", not_pd=["digest", "kind", "act", "seen_again", "last_seen_at"])
classify(
    "privacy.BreachIncident",
    pd={"affected": (FREE_TEXT, SECURITY), "culprits": (EMPLOYEE, SECURITY)},
    not_pd=[
        "title",
        "description",
        "harm",
        "measures",
        "found_at",
        "notice_24h_sent_at",
        "investigation",
        "notice_72h_sent_at",
        "created_by",
    ],
)
# The search index (crm/search.py) repeats names, e-mails and phone digits; destruction rebuilds it.
classify(
    "crm.SearchEntry",
    pd={"text": (NAME, SALES), "digits": (CONTACT_DETAILS, SALES)},
    not_pd=["kind", "contact", "company", "deal", "identity"],
)
classify("crm.SearchWord", pd={"word": (NAME, SALES)})
