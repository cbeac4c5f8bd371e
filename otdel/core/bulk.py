"""``bulk_insert``: many new rows of one model in the fewest round trips the database allows.

Django's ``bulk_create`` compiles every value of every row into the statement: on PostgreSQL
(5.2) each column becomes an array literal quoted on the client, which for an import's contacts,
identities, change-log and search rows is most of the import's time. On PostgreSQL this writes
the same rows with ``COPY ... FROM STDIN`` (the values are sent as they are, each adapted once by
psycopg's C dumpers) after taking the new ids from the table's sequence in one query; elsewhere
it is ``bulk_create``.

The rows are the ones ``bulk_create`` would write: ``pre_save`` of every field (``auto_now_add``
and the like), ``get_db_prep_save`` for the types that need it (JSON, ...), related objects' ids
resolved first. Like ``bulk_create`` it sends no signals and calls no ``save()``; afterwards each
object has its ``pk`` and is no longer "adding". A unique or foreign-key violation raises
Django's ``IntegrityError``, as ``bulk_create`` does.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connections, models, router

_M = TypeVar("_M", bound=models.Model)

# Fields whose column takes a plain str, int or bool as it is (psycopg adapts it directly): such a
# value needs no conversion; nor does an aware datetime in a DateTimeField (``auto_now``,
# ``timezone.now()``: Django sends it as it is). Every other value (a lazy translation, a naive
# datetime, a Decimal) and every other field (JSON, ...) goes through ``get_db_prep_save``, as in
# ``bulk_create``.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.BooleanField,
    models.AutoField,
    models.BigAutoField,
)
_PLAIN_VALUES = (str, int, bool, type(None))


def bulk_insert(model: type[_M], objs: Sequence[_M], *, batch_size: int = 1000, ids: bool = True) -> list[_M]:
    """INSERT ``objs`` (new, unsaved instances of ``model``); returns them with their ids set.

    ``ids=False``: the caller does not need the new ids (log rows, index rows): on PostgreSQL the
    table's sequence fills them in the database and the objects keep ``pk`` None, as
    ``bulk_create`` leaves them on a database that cannot return ids."""
    objs = list(objs)
    if not objs:
        return objs
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return model._default_manager.using(alias).bulk_create(objs, batch_size=batch_size)
    opts = model._meta
    pk = opts.pk
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")  # type: ignore[attr-defined]
    auto_pk = isinstance(pk, models.AutoField)
    fields = [f for f in opts.concrete_fields if not (auto_pk and f is pk)]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if auto_pk and (ids or any(obj.pk is not None for obj in objs)):
            missing = [obj for obj in objs if obj.pk is None]
            if missing:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [opts.db_table, pk.column, len(missing)],
                )
                for obj, (new_id,) in zip(missing, cursor.fetchall(), strict=True):
                    setattr(obj, pk.attname, new_id)
            fields = [pk, *fields]
        plain = [_as_is(f) for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        statement = f"COPY {connection.ops.quote_name(opts.db_table)} ({columns}) FROM STDIN"
        for start in range(0, len(objs), batch_size):
            with cursor.cursor.copy(statement) as copy:
                for obj in objs[start : start + batch_size]:
                    copy.write_row(_row(obj, fields, plain, connection))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


_PLAIN, _MOMENT, _DJANGO = "plain", "moment", "django"


def _as_is(field: Any) -> str:
    """How a field's values may go to COPY: plain values as they are, aware moments as they are,
    or through Django."""
    if isinstance(field, models.ForeignKey):  # its value is the target's: an integer id as is
        field = field.target_field
    if isinstance(field, _AS_IS):
        return _PLAIN
    return _MOMENT if isinstance(field, models.DateTimeField) else _DJANGO


def _row(obj: models.Model, fields: list[Any], plain: list[str], connection: Any) -> list[Any]:
    values = []
    for field, as_is in zip(fields, plain, strict=True):
        value = field.pre_save(obj, add=True)
        plain_value = type(value) in _PLAIN_VALUES  # exactly these types: a lazy string is not a str
        aware = type(value) is datetime.datetime and value.tzinfo is not None
        if (as_is == _PLAIN and plain_value) or (as_is == _MOMENT and aware):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, connection=connection))
    return values
