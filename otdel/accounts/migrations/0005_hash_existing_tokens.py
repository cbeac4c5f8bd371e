"""Existing plain-text API tokens (Django REST framework's ``authtoken_token``) become hashed ones.

Every key keeps working: a PBX or script configured with it changes nothing. The keys of technical
"integration" accounts (PBXs) never expire; the others get the usual personal-token lifetime from
today. The plain-text rows are deleted afterwards, so no usable key stays in the database.
"""

import datetime
import hashlib

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def hash_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    User = apps.get_model("accounts", "User")
    days = float(getattr(settings, "OTDEL_API_TOKEN_DAYS", 30))
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    roles = dict(User.objects.filter(pk__in=[row[1] for row in rows]).values_list("pk", "role"))
    for key, user_id, created in rows:
        if user_id not in roles:
            continue
        expires = None
        if days > 0 and roles[user_id] != "integration":
            expires = now + datetime.timedelta(days=days)
        token = ApiToken.objects.create(
            user_id=user_id,
            kind="user",
            name="",
            scopes=[],
            key_hash=hashlib.sha256(key.encode()).hexdigest(),
            prefix=key[:10],
            expires_at=expires,
        )
        if isinstance(created, str):
            created = parse_datetime(created)
        if created is not None and timezone.is_naive(created):
            created = timezone.make_aware(created, datetime.timezone.utc)
        if created is not None:
            ApiToken.objects.filter(pk=token.pk).update(created_at=created)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_token")]

    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop)]
