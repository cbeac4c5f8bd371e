"""The database cache table (settings.CACHES): shared by every web and worker process."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_scheduledjob")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
