"""Ships the Russian production calendar for 2025-2027 (government transfer decrees).

2025: decree No. 1335 of 04.10.2024; 2026: decree No. 1466 of 24.09.2025. 2027 follows Labour Code
art. 112 (holidays on a weekend move to the next working day) until its decree is published:
the administrator edits the days in the admin ("Production calendar").
"""

import datetime

from django.db import migrations

HOLIDAYS = {
    2025: ["01-01", "01-02", "01-03", "01-06", "01-07", "01-08", "05-01", "05-02", "05-08", "05-09",
           "06-12", "06-13", "11-03", "11-04", "12-31"],
    2026: ["01-01", "01-02", "01-05", "01-06", "01-07", "01-08", "01-09", "02-23", "03-09", "05-01",
           "05-11", "06-12", "11-04", "12-31"],
    2027: ["01-01", "01-04", "01-05", "01-06", "01-07", "01-08", "02-23", "03-08", "05-03", "05-10",
           "06-14", "11-04"],
}
SHORT = {
    2025: ["03-07", "04-30", "05-07", "06-11", "11-01"],
    2026: ["04-30", "05-08", "06-11", "11-03"],
    2027: ["02-22", "03-05", "04-30", "06-11", "11-03", "12-31"],
}
WORKING = {2025: ["11-01"], 2026: [], 2027: []}


def load(apps, schema_editor):
    CalendarDay = apps.get_model("core", "CalendarDay")
    rows = {}
    for kind, table in (("holiday", HOLIDAYS), ("working", WORKING), ("short", SHORT)):
        for year, days in table.items():
            for md in days:
                date = datetime.date.fromisoformat(f"{year}-{md}")
                note = "provisional (Labour Code art. 112)" if year == 2027 else ""
                rows[date] = CalendarDay(date=date, kind=kind, note=note)
    CalendarDay.objects.bulk_create(rows.values(), ignore_conflicts=True)


def unload(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(date__year__in=[2025, 2026, 2027]).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_calendarday")]
    operations = [migrations.RunPython(load, unload)]
