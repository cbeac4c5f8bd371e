"""The setup checklist an administrator sees on an empty database: what is set, what is not, and
where each thing is set. Read-only: counts and the routing settings row, no writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from otdel.accounts.models import Role, User
from otdel.comms.models import Mailbox, TelegramBot, TelephonyProvider, WebForm
from otdel.crm.models import Contact, Deal, Lead, Pipeline, Stage
from otdel.documents.models import LegalEntity
from otdel.routing.models import Queue, QueueMember, RoutingSettings
from otdel.routing.snapshot import routing_snapshot


@dataclass
class Step:
    key: str
    title: str
    done: bool
    detail: str
    url: str
    link: str


@dataclass
class Section:
    title: str
    steps: list[Step] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(step.done for step in self.steps)


def _url(*names: str) -> str:
    """The first of these pages that exists (a page another part of Otdel may name differently)."""
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/"


def checklist() -> list[Section]:
    cfg = RoutingSettings.objects.order_by("pk").first() or RoutingSettings()
    people = User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION)
    sellers = people.filter(role__in=[Role.SALES_MANAGER, Role.HEAD_OF_SALES]).count()
    stages = Stage.objects.filter(pipeline__in=Pipeline.objects.all())
    staffed = Queue.objects.filter(is_active=True, pk__in=QueueMember.objects.values("queue_id"))
    return [
        Section(
            _("Company and users"),
            [
                Step(
                    "company",
                    _("Your company's requisites"),
                    LegalEntity.objects.exists(),
                    _("Name, INN, bank details: they go into invoices and contracts."),
                    _url("documents_requisites"),
                    _("Requisites"),
                ),
                Step(
                    "users",
                    _("Salespeople and the office manager have accounts"),
                    sellers > 0 and people.count() > 1,
                    ngettext(
                        "%(people)s person with an account, %(sellers)s of them sell.",
                        "%(people)s people with accounts, %(sellers)s of them sell.",
                        people.count(),
                    )
                    % {"people": people.count(), "sellers": sellers},
                    _url("user_list"),
                    _("Users"),
                ),
            ],
        ),
        Section(
            _("Pipeline"),
            [
                Step(
                    "pipeline",
                    _("A pipeline with its stages"),
                    stages.exists() and stages.filter(kind=Stage.Kind.OPEN).exists(),
                    _("Pipelines: %(pipelines)s, stages: %(stages)s.")
                    % {"pipelines": Pipeline.objects.count(), "stages": stages.count()},
                    _url("pipeline_settings", "pipeline_list", "crm_pipelines", "kanban"),
                    _("Pipelines"),
                ),
            ],
        ),
        Section(
            _("Queues and routing"),
            [
                Step(
                    "queue",
                    _("A queue of salespeople"),
                    staffed.exists(),
                    _("New callers are shared among its members by round robin or by load."),
                    _url("queue_list"),
                    _("Queues"),
                ),
                Step(
                    "default_queue",
                    _("The default queue"),
                    cfg.default_queue_id is not None,
                    _("Where a new client's call, e-mail, message or form goes."),
                    _url("routing_settings"),
                    _("Routing settings"),
                ),
                Step(
                    "non_target",
                    _("Where non-target traffic goes"),
                    cfg.non_target_user_id is not None or cfg.non_target_queue_id is not None,
                    _("Suppliers, job seekers and spam go to this person or queue instead of sales."),
                    _url("routing_settings"),
                    _("Routing settings"),
                ),
            ],
        ),
        Section(
            _("Channels"),
            [
                Step(
                    "pbx",
                    _("PBX"),
                    TelephonyProvider.objects.filter(is_active=True).exists(),
                    _("Calls on the client's timeline, click-to-call, recordings."),
                    _url("comms_telephony_list"),
                    _("Telephony"),
                ),
                Step(
                    "mailbox",
                    _("Mailbox"),
                    Mailbox.objects.filter(is_active=True).exists(),
                    _("Client e-mails come in and replies go out from Otdel."),
                    _url("comms_mailbox_list"),
                    _("Mailboxes"),
                ),
                Step(
                    "telegram",
                    _("Telegram bot"),
                    TelegramBot.objects.filter(is_active=True).exists(),
                    _("Messages to your bot become leads and conversations."),
                    _url("comms_telegram_list"),
                    _("Telegram"),
                ),
                Step(
                    "form",
                    _("Web form"),
                    WebForm.objects.filter(is_active=True).exists(),
                    _("Requests from your website with 152-FZ consent."),
                    _url("comms_webform_list"),
                    _("Web forms"),
                ),
            ],
        ),
    ]


def fallback_person() -> User | None:
    """Who gets new traffic when routing decides nothing else: the configured fallback person, else the
    first office manager (``RoutingSnapshot.fallback``)."""
    return routing_snapshot(timezone.localdate()).fallback


def routing_unset() -> bool:
    cfg = RoutingSettings.objects.order_by("pk").first()
    return cfg is None or cfg.default_queue_id is None


def database_is_new() -> bool:
    """No clients and no work yet: the administrator starts on the checklist, not on an empty kanban."""
    return not (Contact.objects.exists() or Deal.objects.exists() or Lead.objects.exists())


def needs_setup() -> bool:
    return database_is_new() and not all(section.done for section in checklist())
