"""Serializers of the CRM API: output shapes (related records as ids, plus their names) and inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from otdel.accounts.models import User
from otdel.api.base import ScopedPrimaryKeyRelatedField
from otdel.comms.models import Direction
from otdel.core.identity import IdentityKind, format_phone
from otdel.crm.custom import custom_out, definitions, entity_of
from otdel.crm.models import (
    Channel,
    Company,
    Contact,
    CustomField,
    Deal,
    Identity,
    Lead,
    LeadSource,
    LostReason,
    Note,
    Pipeline,
    Stage,
    Verdict,
)


def _name(user: User | None) -> str | None:
    return user.get_full_name() if user is not None else None


def _user_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    """A user id; any active user may be given a record (users are not row-scoped)."""
    return serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True, **kwargs
    )


def _contact_field(**kwargs: Any) -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(queryset=Contact.objects.filter(merged_into__isnull=True), **kwargs)


VERSION_HELP = "The version you read; a stale one is refused with 409 (code stale_version)"
CUSTOM_HELP = (
    'Custom fields defined in settings: {"<code>": value}. Text, url and list: a string; number: a '
    'number; money: a decimal string; date: "YYYY-MM-DD"; multi_list: a list of options; checkbox: '
    "true/false; user: a user id. On change only the codes sent change; null clears one."
)


@extend_schema_field(
    {"type": "object", "additionalProperties": True, "description": CUSTOM_HELP}  # type: ignore[arg-type]
)
class CustomValuesField(serializers.Field):
    """``record.custom`` as the API shows it: the active fields' values (definitions read once per response)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record: Any) -> dict[str, Any]:
        request = self.context.get("request") if isinstance(self.context, dict) else None
        return custom_out(record, definitions(entity_of(record), request=request))


def _custom_input() -> serializers.DictField:
    return serializers.DictField(required=False, help_text=CUSTOM_HELP)


# --- output ----------------------------------------------------------------------------------


class IdentitySerializer(serializers.ModelSerializer):
    display = serializers.CharField(source="display_value", read_only=True, help_text="Formatted for people")

    class Meta:
        model = Identity
        fields = ["kind", "value", "display", "is_primary"]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True, default=None, allow_null=True)
    responsible_name = serializers.SerializerMethodField()
    identities = IdentitySerializer(many=True, read_only=True)
    custom = CustomValuesField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "full_name",
            "company",
            "company_name",
            "position",
            "responsible",
            "responsible_name",
            "non_target",
            "non_target_reason",
            "identities",
            "comment",
            "merged_into",
            "custom",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_responsible_name(self, obj: Contact) -> str | None:
        return _name(obj.responsible)


_DATETIME = serializers.DateTimeField(read_only=True)
_CONTACT_COLUMNS = (
    "id",
    "full_name",
    "company_id",
    "company__name",
    "position",
    "responsible_id",
    "responsible__full_name",
    "responsible__first_name",
    "responsible__last_name",
    "responsible__username",
    "non_target",
    "non_target_reason",
    "comment",
    "merged_into_id",
    "custom",
    "version",
    "created_at",
    "updated_at",
)


def _user_name(full_name: str, first_name: str, last_name: str, username: str) -> str:
    """``User.get_full_name()`` from the columns: the full name, else first and last, else the login."""
    return full_name or f"{first_name} {last_name}".strip() or username


def contact_rows(ids: list[int], *, request: Any = None) -> list[dict[str, Any]]:
    """``ContactSerializer``'s output for the contacts ``ids`` (in that order), from one plain query.

    For list pages and searches (up to 500 rows): the contacts with their company's and responsible's
    names and every identity (a row per identity), read as tuples: no model instances, no per-field
    serializer machinery. The ids come from the page's scoped query of the same request.
    ``test_api.test_plain_contact_rows_are_the_serializers_output`` holds the two shapes equal.
    """
    if not ids:
        return []
    fields = definitions("contact", request=request)
    rows = (
        Contact.objects.filter(pk__in=ids)
        .order_by("pk", "identities__kind", "-identities__is_primary", "identities__id")  # Identity's order
        .values_list(*_CONTACT_COLUMNS, "identities__kind", "identities__value", "identities__is_primary")
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        pk = row[0]
        contact = out.get(pk)
        if contact is None:
            (_pk, full_name, company, company_name, position, responsible, *user) = row[:10]
            (non_target, reason, comment, merged_into, custom, version, created, updated) = row[10:18]
            stored = custom or {}
            contact = out[pk] = {
                "id": pk,
                "full_name": full_name,
                "company": company,
                "company_name": company_name,
                "position": position,
                "responsible": responsible,
                "responsible_name": _user_name(*user) if responsible else None,
                "non_target": non_target,
                "non_target_reason": reason,
                "identities": [],
                "comment": comment,
                "merged_into": merged_into,
                "custom": {f.code: stored[f.code] for f in fields if f.code in stored},
                "version": version,
                "created_at": _DATETIME.to_representation(created),
                "updated_at": _DATETIME.to_representation(updated),
            }
        kind, value, is_primary = row[18:]
        if kind is not None:
            display = format_phone(value) if kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP) else value
            contact["identities"].append(
                {"kind": kind, "value": value, "display": display, "is_primary": is_primary}
            )
    return [out[pk] for pk in ids if pk in out]


class CompanySerializer(serializers.ModelSerializer):
    responsible_name = serializers.SerializerMethodField()
    contact_count = serializers.SerializerMethodField()
    custom = CustomValuesField()

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "inn",
            "website",
            "address",
            "industry",
            "responsible",
            "responsible_name",
            "comment",
            *Company.REQUISITES,
            "contact_count",
            "custom",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_responsible_name(self, obj: Company) -> str | None:
        return _name(obj.responsible)

    def get_contact_count(self, obj: Company) -> int:
        count = getattr(obj, "contact_count", None)  # annotated by the list selector
        return count if count is not None else obj.contacts.count()


def _sla(serializer: serializers.Serializer, **record: Any) -> list[dict[str, Any]] | None:
    """The record's SLA clocks (automation) on ``GET .../{id}``; null in lists (one query per row)."""
    if getattr(serializer.context.get("view"), "action", None) != "retrieve":
        return None
    from otdel.automation.sla import sla_for

    return sla_for(**record)


class LeadSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.full_name", read_only=True)
    responsible_name = serializers.SerializerMethodField()
    sla = serializers.SerializerMethodField(
        help_text='[{"policy", "due_at", "state": running|warned|met|breached, "met_at"}]; on GET /leads/{id}'
    )

    custom = CustomValuesField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "contact",
            "contact_name",
            "source",
            "channel",
            "status",
            "verdict",
            "verdict_reason",
            "responsible",
            "responsible_name",
            "comment",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_content",
            "utm_term",
            "page_url",
            "deal",
            "duplicate_of",
            "triaged_by",
            "triaged_at",
            "custom",
            "version",
            "created_at",
            "updated_at",
            "sla",
        ]
        read_only_fields = fields

    def get_responsible_name(self, obj: Lead) -> str | None:
        return _name(obj.responsible)

    def get_sla(self, obj: Lead) -> list[dict[str, Any]] | None:
        return _sla(self, lead=obj)


class DealSerializer(serializers.ModelSerializer):
    pipeline_name = serializers.CharField(source="pipeline.name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    # A plain string here: the open/won/lost enum is documented once, on the stage's "kind".
    stage_kind = serializers.CharField(source="stage.kind", read_only=True, help_text="open, won or lost")
    contact_name = serializers.CharField(
        source="contact.full_name", read_only=True, default=None, allow_null=True
    )
    company_name = serializers.CharField(source="company.name", read_only=True, default=None, allow_null=True)
    responsible_name = serializers.SerializerMethodField()
    lost_reason_name = serializers.CharField(
        source="lost_reason.name", read_only=True, default=None, allow_null=True
    )
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)
    sla = serializers.SerializerMethodField(
        help_text='[{"policy", "due_at", "state": running|warned|met|breached, "met_at"}]; on GET /deals/{id}'
    )

    custom = CustomValuesField()

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "pipeline",
            "pipeline_name",
            "stage",
            "stage_name",
            "stage_kind",
            "contact",
            "contact_name",
            "company",
            "company_name",
            "responsible",
            "responsible_name",
            "amount",
            "currency",
            "expected_close",
            "closed_at",
            "lost_reason",
            "lost_reason_name",
            "lost_comment",
            "custom_fields",
            "custom",
            "version",
            "created_at",
            "updated_at",
            "sla",
        ]
        read_only_fields = fields

    def get_responsible_name(self, obj: Deal) -> str | None:
        return _name(obj.responsible)

    def get_sla(self, obj: Deal) -> list[dict[str, Any]] | None:
        return _sla(self, deal=obj)


class NoteSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "body", "author", "author_name", "contact", "deal", "company", "created_at"]
        read_only_fields = fields

    def get_author_name(self, obj: Note) -> str | None:
        return _name(obj.author)


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "kind", "probability", "color"]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "order", "is_default", "is_active", "stages"]
        read_only_fields = fields


class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["id", "name", "order", "is_active"]
        read_only_fields = fields


class TimelineItemSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["interaction", "note", "task", "lead"], help_text="What the row is; ids are unique per type"
    )
    id = serializers.IntegerField()
    channel = serializers.CharField(help_text="call, email, telegram, form, note, task, manual…")
    direction = serializers.ChoiceField(choices=Direction.choices)
    at = serializers.DateTimeField()
    status = serializers.CharField(help_text="For calls: answered, missed, busy, failed")
    routed_to = serializers.IntegerField(allow_null=True, help_text="User id")
    summary = serializers.CharField(help_text="For e-mail: the decoded subject first")


class TimelineSerializer(serializers.Serializer):
    results = TimelineItemSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next (older) page; null on the last page")


# --- input -----------------------------------------------------------------------------------


# Named like the output shape, so the request body is "IdentityRequest" and "kind" resolves to one
# enum per choice set in the schema (identity kinds vs stage kinds) instead of a naming collision.
@extend_schema_serializer(component_name="Identity")
class IdentityInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=255, help_text="In any format; stored normalized")


class ContactInputSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=255)
    company = ScopedPrimaryKeyRelatedField(queryset=Company.objects.all(), required=False, allow_null=True)
    position = serializers.CharField(max_length=150, required=False, allow_blank=True)
    responsible = _user_field(help_text="Empty: a salesperson's new contact is theirs")
    comment = serializers.CharField(required=False, allow_blank=True)
    identities = IdentityInputSerializer(
        many=True, required=False, help_text="On change: the full new list (identities left out are removed)"
    )
    custom = _custom_input()
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class ContactMergeInputSerializer(serializers.Serializer):
    into = _contact_field(
        help_text="The contact that stays; this one's identities, leads and deals move to it"
    )


class CompanyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    inn = serializers.CharField(max_length=12, required=False, allow_blank=True)
    website = serializers.CharField(max_length=255, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=120, required=False, allow_blank=True)
    responsible = _user_field()
    comment = serializers.CharField(required=False, allow_blank=True)
    full_name = serializers.CharField(max_length=500, required=False, allow_blank=True)
    kpp = serializers.CharField(max_length=9, required=False, allow_blank=True)
    ogrn = serializers.CharField(max_length=15, required=False, allow_blank=True)
    bank_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    bik = serializers.CharField(max_length=9, required=False, allow_blank=True)
    account = serializers.CharField(max_length=20, required=False, allow_blank=True)
    corr_account = serializers.CharField(max_length=20, required=False, allow_blank=True)
    signatory = serializers.CharField(max_length=255, required=False, allow_blank=True)
    signatory_position = serializers.CharField(max_length=255, required=False, allow_blank=True)
    signatory_basis = serializers.CharField(max_length=255, required=False, allow_blank=True)
    custom = _custom_input()
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class LeadInputSerializer(serializers.Serializer):
    contact = _contact_field()
    # A declared field (the metaclass moves it off the class), not the Field.source attribute.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=LeadSource.choices, default=LeadSource.MANUAL
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.MANUAL)
    comment = serializers.CharField(required=False, allow_blank=True)
    responsible = _user_field(help_text="Empty: the contact's responsible")
    utm_source = serializers.CharField(max_length=255, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=255, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=255, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=255, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=255, required=False, allow_blank=True)
    page_url = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    custom = _custom_input()


class LeadUpdateInputSerializer(serializers.Serializer):
    custom = _custom_input()
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class LeadTriageInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="For non_target: supplier, job_seeker, wrong_number, spam, support, other, or free text",
    )
    duplicate_of = _contact_field(
        required=False, allow_null=True, help_text="For duplicate: the existing contact"
    )
    pipeline = ScopedPrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="For qualified: where the new deal goes (default pipeline if empty)",
    )
    responsible = _user_field(help_text="For qualified: who gets the deal")
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=Decimal("0"),
        error_messages={"min_value": _("The amount cannot be negative.")},
    )


def _amount_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={"min_value": _("The amount cannot be negative.")},
        **kwargs,
    )


class DealUpdateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    stage = ScopedPrimaryKeyRelatedField(
        queryset=Stage.objects.all(), help_text="A stage of the deal's pipeline"
    )
    contact = _contact_field(required=False, allow_null=True)
    company = ScopedPrimaryKeyRelatedField(queryset=Company.objects.all(), required=False, allow_null=True)
    responsible = _user_field()
    amount = _amount_field(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)
    lost_reason = ScopedPrimaryKeyRelatedField(
        queryset=LostReason.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Required when the stage is a lost one",
    )
    lost_comment = serializers.CharField(required=False, allow_blank=True)
    custom_fields = serializers.DictField(required=False, help_text="Extra columns an import brought")
    custom = _custom_input()
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    def validate_currency(self, value: str) -> str:
        return value.strip().upper()


class DealCreateInputSerializer(DealUpdateInputSerializer):
    pipeline = ScopedPrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Empty: the stage's pipeline, else the default one",
    )
    stage = ScopedPrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, allow_null=True, help_text="Empty: the first open stage"
    )
    # A new deal has no version to check; a lost comment goes with a move (deal_create takes the reason only).
    version = None  # type: ignore[assignment]
    lost_comment = None  # type: ignore[assignment]


class DealMoveInputSerializer(serializers.Serializer):
    stage = ScopedPrimaryKeyRelatedField(
        queryset=Stage.objects.all(), help_text="A stage of the deal's pipeline"
    )
    lost_reason = ScopedPrimaryKeyRelatedField(
        queryset=LostReason.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Required when the stage is a lost one",
    )
    lost_comment = serializers.CharField(required=False, allow_blank=True)
    before = ScopedPrimaryKeyRelatedField(
        queryset=Deal.objects.all(),
        required=False,
        allow_null=True,
        help_text="Place the deal right above this one in the column",
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class NoteInputSerializer(serializers.Serializer):
    body = serializers.CharField()


@extend_schema_serializer(component_name="Stage")
class StageInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Stage.Kind.choices, default=Stage.Kind.OPEN)
    probability = serializers.IntegerField(min_value=0, max_value=100, default=0)
    color = serializers.CharField(max_length=16, required=False, allow_blank=True)


class PipelineInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    order = serializers.IntegerField(min_value=0, required=False)
    is_default = serializers.BooleanField(default=False)
    stages = StageInputSerializer(many=True, help_text="In board order; at least one open stage")


class LostReasonInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    order = serializers.IntegerField(min_value=0, required=False)


@extend_schema_serializer(component_name="StageCreate")
class StageCreateInputSerializer(StageInputSerializer):
    position = serializers.IntegerField(min_value=0, required=False, help_text="0 = first; empty = last")


class StageUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=Stage.Kind.choices, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    color = serializers.CharField(max_length=16, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False, help_text="Move it: 0 = first")


class PipelineUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    order = serializers.IntegerField(min_value=0, required=False)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class StageReorderInputSerializer(serializers.Serializer):
    stages = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every stage id, in the new order"
    )


class CustomFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = [
            "id",
            "entity",
            "code",
            "name",
            "type",
            "options",
            "required",
            "in_list",
            "is_active",
            "order",
        ]
        read_only_fields = fields


class CustomFieldInputSerializer(serializers.Serializer):
    entity = serializers.ChoiceField(choices=CustomField.Entity.choices)
    code = serializers.RegexField(
        r"^[a-z][a-z0-9_]*$", max_length=40, help_text="Latin lower case, digits, _"
    )
    name = serializers.CharField(max_length=120)
    type = serializers.ChoiceField(choices=CustomField.Type.choices)
    options = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, help_text="For list and multi_list"
    )
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]
    in_list = serializers.BooleanField(default=False, help_text="Shown as a column of the list page")
    order = serializers.IntegerField(min_value=0, required=False)


class CustomFieldUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    options = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    in_list = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(
        required=False, help_text="false hides the field and keeps its values"
    )
    order = serializers.IntegerField(min_value=0, required=False)
