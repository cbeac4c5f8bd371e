"""Users with a role, a department, a phone extension and working hours."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from otdel.core.calendar import is_short_day, is_working_day
from otdel.core.models import TimeStampedModel


class Role(models.TextChoices):
    SALES_MANAGER = "sales_manager", _("Sales manager")
    HEAD_OF_SALES = "head_of_sales", _("Head of sales")
    OFFICE_MANAGER = "office_manager", _("Office manager")
    CALL_CENTER = "call_center", _("Call center operator")
    APPROVER = "approver", _("Approver")
    ADMIN = "admin", _("Administrator")
    # A technical account for a PBX, a website or a script: may post events and ask for routes.
    INTEGRATION = "integration", _("Integration (PBX, scripts)")


SALES_ROLES = {Role.SALES_MANAGER, Role.HEAD_OF_SALES}
TRIAGE_ROLES = {Role.OFFICE_MANAGER, Role.CALL_CENTER}


class Department(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    head = models.ForeignKey(
        "accounts.User",
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday..Friday (datetime.weekday())


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    role = models.CharField(
        _("role"), max_length=32, choices=Role.choices, default=Role.SALES_MANAGER, db_index=True
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    extension = models.CharField(
        _("phone extension"),
        max_length=16,
        null=True,
        blank=True,
        unique=True,
        validators=[RegexValidator(r"^\d{2,8}$", _("An extension is 2 to 8 digits."))],
    )
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    language = models.CharField(
        _("interface language"),
        max_length=8,
        choices=[("ru", "Русский"), ("en", "English")],
        default="ru",
    )
    work_days = models.JSONField(_("working days"), default=default_work_days, blank=True)
    work_start = models.TimeField(_("work starts"), default=datetime.time(9, 0))
    work_end = models.TimeField(_("work ends"), default=datetime.time(18, 0))

    objects: UserManager = UserManager()  # type: ignore[assignment,misc]

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["full_name", "username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.get_username()

    def get_full_name(self) -> str:
        return self.full_name or super().get_full_name() or self.get_username()

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        # Read by the post_save hook in signals.py: a new password revokes the personal API tokens.
        self._password_changed = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.extension == "":
            self.extension = None
        if self.is_superuser and self.role != Role.ADMIN and not self.pk:
            self.role = Role.ADMIN
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_head_of_sales(self) -> bool:
        return self.role == Role.HEAD_OF_SALES

    @property
    def is_sales(self) -> bool:
        return self.role in SALES_ROLES

    @property
    def is_triage(self) -> bool:
        return self.role in TRIAGE_ROLES

    def on_shift(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` (aware, local time) is in this user's working hours: the one
        working-hours rule, by the production calendar (holidays, working Saturdays, an hour less on
        a shortened day). Absences are not read here (callers that hold them check them at once)."""
        day = moment.date()
        if not is_working_day(day, list(self.work_days or [])):
            return False
        end = self.work_end
        if is_short_day(day):
            end = (datetime.datetime.combine(day, end) - datetime.timedelta(hours=1)).time()
        return self.work_start <= moment.time() < end

    def works_at(self, moment: datetime.datetime) -> bool:
        """On shift at ``moment`` and not absent that day."""
        return self.on_shift(moment) and not self.absent_on(moment.date())

    def absent_on(self, day: datetime.date) -> bool:
        return self.absences.filter(start__lte=day, end__gte=day).exists()

    def backup_on(self, day: datetime.date) -> User | None:
        absence = self.absences.filter(start__lte=day, end__gte=day, backup__isnull=False).first()
        return absence.backup if absence is not None else None


class Absence(TimeStampedModel):
    """A vacation, sick leave or trip: the user gets no new traffic; their backup covers for them."""

    class Kind(models.TextChoices):
        VACATION = "vacation", _("Vacation")
        SICK = "sick", _("Sick leave")
        TRIP = "trip", _("Business trip")
        OTHER = "other", _("Other")

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="absences")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.VACATION)
    start = models.DateField(_("from"))
    end = models.DateField(_("to (inclusive)"))
    backup = models.ForeignKey(
        User,
        verbose_name=_("backup person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="covering_absences",
    )
    comment = models.CharField(_("comment"), max_length=255, blank=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        indexes = [models.Index(fields=["user", "start", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="accounts_absence_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"


class TokenScope(models.TextChoices):
    """What an integration token may reach (``otdel/accounts/tokens.py`` maps each to its paths)."""

    TELEPHONY = "telephony", _("Telephony: call events and live routing")
    FORMS = "forms", _("Web forms: forms and their submissions")
    LEADS = "leads", _("Contacts and leads: look up and create")
    READ = "read", _("Read-only API")


class ApiToken(TimeStampedModel):
    """An API token, stored as a SHA-256 hash of the secret (the secret is shown once).

    A *user* token comes from ``POST /api/v1/auth/token`` and acts with its user's full rights until
    it expires, the password changes or the user is switched off. An *integration* token is made by
    an administrator for a PBX or a script: it acts as its user, only on the paths its scopes allow,
    never expires unless told to, and is revoked by hand.
    """

    class Kind(models.TextChoices):
        USER = "user", _("Personal")
        INTEGRATION = "integration", _("Integration")

    user = models.ForeignKey(
        User, verbose_name=_("acts as"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.USER)
    name = models.CharField(_("name"), max_length=120, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, to tell tokens apart in a list (not enough to use one).
    prefix = models.CharField(_("begins with"), max_length=12, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "kind"])]

    def __str__(self) -> str:
        return self.name or f"{self.prefix}…"


class RecoveryCode(models.Model):
    """A one-time code for signing in without the authenticator (a lost phone); kept as a hash."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"])]

    def __str__(self) -> str:
        return f"{self.user}: {'used' if self.used_at else 'unused'}"
