"""Custom fields: what a department adds to its deals, contacts, companies and leads.

A record keeps its values in its ``custom`` JSON column as ``{"code": value}``; values are checked
by the field's type here (services call ``custom_apply`` before saving, so the change log records
them with the rest of the record). Each field gets its own expression index when it is defined
(``index_create``), and ``custom_filter`` filters with the very expression the index holds, so a
list filtered by one field reads the index on PostgreSQL and SQLite alike. Why JSON and not value
tables: docs/custom-fields.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, models
from django.db.models import F, Func, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from otdel.crm.models import Company, Contact, CustomField, Deal, Lead

Type = CustomField.Type

MODELS: dict[str, type[models.Model]] = {
    CustomField.Entity.DEAL: Deal,
    CustomField.Entity.CONTACT: Contact,
    CustomField.Entity.COMPANY: Company,
    CustomField.Entity.LEAD: Lead,
}
NUMERIC = {Type.NUMBER, Type.MONEY}
RANGED = {Type.NUMBER, Type.MONEY, Type.DATE}
TEXT_MAX = 1000
OPTION_MAX = 200


def entity_of(model: type[models.Model] | models.Model) -> str:
    """The entity code ("deal", "contact", ...) of a CRM model or record."""
    model_class = model if isinstance(model, type) else type(model)
    for entity, candidate in MODELS.items():
        if candidate is model_class:
            return entity
    raise ValueError(f"{model_class.__name__} has no custom fields")


def definitions(entity: str, *, active_only: bool = True, request: Any = None) -> list[CustomField]:
    """The entity's fields in their order; with ``request``, read once per request (a list's
    filters and every row of its response share them: one query, not one per row)."""
    if request is not None and active_only:
        holder = getattr(request, "_request", request)  # the HttpRequest under DRF's Request
        memo = getattr(holder, "_otdel_custom_fields", None)
        if memo is None:
            memo = holder._otdel_custom_fields = {}
        if entity not in memo:
            memo[entity] = definitions(entity)
        return list(memo[entity])
    fields = CustomField.objects.filter(entity=entity)
    if active_only:
        fields = fields.filter(is_active=True)
    return list(fields.order_by("order", "id"))


# --- the SQL of one field's value: the same text in the index and in the filter ----------------


def _value_sql(column_sql: str, code: str, field_type: str, vendor: str) -> str:
    """The SQL expression of field ``code`` in ``column_sql`` (``code`` is ``[a-z][a-z0-9_]*``).

    Text-like values compare as text (SQLite's ``json_extract`` gives numbers for ids, so it is cast);
    numbers and money as numeric; a multi-list (PostgreSQL) as its JSON array for ``@>``.
    """
    if vendor == "postgresql":
        if field_type == Type.MULTI_LIST:
            return f"({column_sql} -> '{code}')"
        if field_type in NUMERIC:
            return f"(({column_sql} ->> '{code}')::numeric)"
        return f"({column_sql} ->> '{code}')"
    if field_type in NUMERIC:
        return f"CAST(json_extract({column_sql}, '$.{code}') AS NUMERIC)"
    return f"CAST(json_extract({column_sql}, '$.{code}') AS TEXT)"


class CustomValue(Func):
    """``record.custom[code]`` as SQL, for ``alias(...).filter(...)``."""

    def __init__(self, field: CustomField) -> None:
        self.code, self.field_type = field.code, field.type
        output: models.Field
        if field.type in NUMERIC:
            # SQLite compares a NUMERIC cast with a float, not with Decimal's string form.
            output = (
                models.DecimalField(max_digits=30, decimal_places=4)
                if connection.vendor == "postgresql"
                else models.FloatField()
            )
        elif field.type == Type.MULTI_LIST:
            output = models.JSONField()
        else:
            output = models.TextField()
        super().__init__(F("custom"), output_field=output)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column_sql, params = compiler.compile(self.source_expressions[0])
        return _value_sql(column_sql, self.code, self.field_type, connection.vendor), list(params)


def index_name(field: CustomField) -> str:
    return f"crm_cf_{field.pk}"


def index_create(field: CustomField) -> None:
    """The expression index of one field (in the caller's transaction: both databases allow it)."""
    model = MODELS[field.entity]
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name("custom")
    name = connection.ops.quote_name(index_name(field))
    if connection.vendor == "postgresql" and field.type == Type.MULTI_LIST:
        sql = f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({_value_sql(column, field.code, field.type, 'postgresql')})"
    elif connection.vendor == "sqlite" and field.type == Type.MULTI_LIST:
        return  # SQLite indexes no array elements: a multi-list filter scans (docs/custom-fields.md)
    else:
        sql = f"CREATE INDEX IF NOT EXISTS {name} ON {table} (({_value_sql(column, field.code, field.type, connection.vendor)}))"
    with connection.cursor() as cursor:
        cursor.execute(sql)


def index_drop(field: CustomField) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(index_name(field))}")


# --- values ----------------------------------------------------------------------------------


def _error(field: CustomField, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({f"custom.{field.code}": ValidationError(message, code=code)})


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def clean_value(field: CustomField, value: Any) -> Any:
    """``value`` as stored in JSON, or ValidationError naming ``custom.<code>``. Empty -> None."""
    if is_empty(value):
        return None
    kind = field.type
    if kind in (Type.TEXT, Type.URL):
        if not isinstance(value, str):
            raise _error(field, _("Enter text."))
        value = value.strip()
        if len(value) > TEXT_MAX:
            raise _error(field, _("At most %(n)s characters.") % {"n": TEXT_MAX})
        if kind == Type.URL and value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise _error(field, _("Enter a link starting with http:// or https://.")) from None
        return value or None
    if kind in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise _error(field, _("Enter a number."))
        try:
            number = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
        except InvalidOperation:
            raise _error(field, _("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise _error(field, _("Enter a number."))
        if kind == Type.MONEY:
            if number != number.quantize(Decimal("0.01")):
                raise _error(field, _("At most two digits after the decimal point."))
            return str(number.quantize(Decimal("0.01")))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == Type.DATE:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise _error(field, _("Enter a date as YYYY-MM-DD.")) from None
    if kind == Type.LIST:
        if not isinstance(value, str) or value not in field.options:
            raise _error(
                field, _("“%(value)s” is not one of the options.") % {"value": value}, "unknown_option"
            )
        return value
    if kind == Type.MULTI_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _error(field, _("Give a list of options."))
        unknown = [v for v in value if v not in field.options]
        if unknown:
            raise _error(
                field, _("“%(value)s” is not one of the options.") % {"value": unknown[0]}, "unknown_option"
            )
        return [option for option in field.options if option in value] or None
    if kind == Type.CHECKBOX:
        if not isinstance(value, bool):
            raise _error(field, _("Give true or false."))
        return value
    if kind == Type.USER:
        from otdel.accounts.models import User

        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
            raise _error(field, _("Give an employee's id."))
        if not User.objects.filter(pk=int(value), is_active=True).exists():
            raise _error(field, _("There is no active employee with the id %(id)s.") % {"id": value})
        return int(value)
    raise _error(field, _("Unknown field type."))


def custom_apply(record: models.Model, values: Mapping[str, Any] | None, *, creating: bool) -> None:
    """Merge ``values`` (``{"code": value}``, the codes given only) into ``record.custom``.

    Unknown or deactivated codes, values of the wrong type and missing required values are refused
    together, each under ``custom.<code>``; nothing is written when one fails (the caller saves).
    """
    if values is None:
        return  # the system's own records (a lead from a call) are not held to "required"
    if not isinstance(values, Mapping):
        raise ValidationError({"custom": [_("An object of field codes and values.")]})
    fields = {f.code: f for f in definitions(entity_of(record), active_only=False)}
    current = dict(getattr(record, "custom", None) or {})
    errors: dict[str, list[ValidationError]] = {}
    for code, raw in values.items():
        field = fields.get(code)
        if field is None or not field.is_active:
            errors[f"custom.{code}"] = [
                ValidationError(_("There is no field “%(code)s”.") % {"code": code}, code="unknown_field")
            ]
            continue
        try:
            cleaned = clean_value(field, raw)
        except ValidationError as exc:
            errors.update(exc.error_dict)
            continue
        if cleaned is None:
            current.pop(code, None)
        else:
            current[code] = cleaned
    for field in fields.values():
        touched = creating or field.code in values
        if field.is_active and field.required and touched and is_empty(current.get(field.code)):
            if field.type == Type.CHECKBOX:
                continue  # an unticked box is an answer
            errors.setdefault(
                f"custom.{field.code}",
                [ValidationError(_("“%(name)s” is required.") % {"name": field.name}, code="required")],
            )
    if errors:
        raise ValidationError(errors)
    record.custom = current  # type: ignore[attr-defined]


def custom_out(record: models.Model, fields: list[CustomField] | None = None) -> dict[str, Any]:
    """The active fields' values of ``record`` (deactivated ones are kept in the row, not shown)."""
    if fields is None:
        fields = definitions(entity_of(record))
    stored = getattr(record, "custom", None) or {}
    return {f.code: stored[f.code] for f in fields if f.code in stored}


def display_value(field: CustomField, value: Any, users: dict[int, str] | None = None) -> str:
    """A value as people read it on a card or in a list."""
    from django.utils import formats

    if is_empty(value):
        return ""
    if field.type == Type.CHECKBOX:
        return _("Yes") if value else _("No")
    if field.type == Type.MULTI_LIST:
        return ", ".join(str(v) for v in value)
    if field.type == Type.DATE:
        try:
            return formats.date_format(datetime.date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
        except ValueError:
            return str(value)
    if field.type in NUMERIC:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        text = formats.number_format(number, 2 if field.type == Type.MONEY else None, force_grouping=True)
        return f"{text} ₽" if field.type == Type.MONEY else text
    if field.type == Type.USER:
        if users is None:
            from otdel.accounts.models import User

            user = User.objects.filter(pk=value).first()
            return user.get_full_name() if user else f"#{value}"
        return users.get(int(value), f"#{value}")
    return str(value)


# --- filters ----------------------------------------------------------------------------------

LOOKUPS = {"": "exact", "gte": "gte", "lte": "lte"}


def _filter_value(field: CustomField, raw: str) -> Any:
    """A query-string value as the filter compares it (the type the index expression yields)."""
    if field.type == Type.CHECKBOX:
        truth = str(raw).strip().lower() in ("1", "true", "yes", "on")
        if connection.vendor == "postgresql":
            return "true" if truth else "false"
        return "1" if truth else "0"
    if field.type in NUMERIC:
        return clean_value_or_400(field, raw, Decimal if connection.vendor == "postgresql" else float)
    if field.type == Type.DATE:
        return clean_value(field, raw)
    if field.type == Type.USER:
        if not str(raw).strip().isdigit():
            raise _error(field, _("Give an employee's id."))
        return str(int(raw))
    return str(raw)


def clean_value_or_400(field: CustomField, raw: str, kind: type) -> Any:
    try:
        return kind(str(raw).replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise _error(field, _("Enter a number.")) from None


def custom_filter(queryset: QuerySet[Any], params: dict[str, str], request: Any = None) -> QuerySet[Any]:
    """Apply ``{"custom__<code>[__gte|__lte]": value}`` to ``queryset`` (unknown codes -> 400).

    One field is one indexed comparison: ``alias`` holds the same expression as the field's index.
    """
    params = {key: value for key, value in params.items() if value not in (None, "")}
    if not params:
        return queryset
    fields = {f.code: f for f in definitions(entity_of(queryset.model), request=request)}
    for key, raw in params.items():
        if raw in (None, ""):
            continue
        code, _sep, suffix = key[len("custom__") :].partition("__")
        field = fields.get(code)
        if field is None or suffix not in LOOKUPS or (suffix and field.type not in RANGED):
            raise ValidationError(
                {key: [_("There is no field “%(code)s” to filter by.") % {"code": key[8:]}]}
            )
        alias = f"cf_{code}"
        if field.type == Type.MULTI_LIST:
            if str(raw) not in field.options:
                raise _error(field, _("“%(value)s” is not one of the options.") % {"value": raw})
            if connection.vendor == "postgresql":
                queryset = queryset.alias(**{alias: CustomValue(field)}).filter(
                    **{f"{alias}__contains": [raw]}
                )
            else:
                table = connection.ops.quote_name(queryset.model._meta.db_table)
                queryset = queryset.filter(
                    Q(
                        RawSQL(
                            f"EXISTS (SELECT 1 FROM json_each({table}.\"custom\", '$.{code}') WHERE value = %s)",
                            [raw],
                            output_field=models.BooleanField(),
                        )
                    )
                )
            continue
        value = _filter_value(field, raw)
        queryset = queryset.alias(**{alias: CustomValue(field)}).filter(
            **{f"{alias}__{LOOKUPS[suffix]}": value}
        )
    return queryset


def custom_params(data: Any) -> dict[str, str]:
    """The ``custom__...`` parameters of a query string (a QueryDict or a dict)."""
    return {key: data.get(key) for key in data if key.startswith("custom__")}
