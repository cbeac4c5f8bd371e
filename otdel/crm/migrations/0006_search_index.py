"""The search index: pg_trgm GIN indexes on PostgreSQL, an FTS5 trigram table on SQLite, and the
entries of the records that exist already (see otdel/crm/search.py and docs/search.md)."""

from django.db import migrations
from django.db.utils import DatabaseError

KINDS = ("contact", "company", "deal")
FTS = "crm_searchentry_fts"

PG_EXTENSION_HELP = """
Otdel's search needs the PostgreSQL extension pg_trgm (it ships with PostgreSQL), and the database
role Otdel connects as may not create it. Ask someone with the superuser role (or the owner of
the database on PostgreSQL 13+) to run, once:

    psql -d {db} -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm;'

then run `manage.py migrate` again. ({error})
"""

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, content='crm_searchentry', content_rowid='id', "
    "tokenize='trigram')",
    f"CREATE TRIGGER crm_searchentry_fts_ai AFTER INSERT ON crm_searchentry WHEN new.text <> '' BEGIN "
    f"INSERT INTO {FTS}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER crm_searchentry_fts_ad AFTER DELETE ON crm_searchentry WHEN old.text <> '' BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER crm_searchentry_fts_ud AFTER UPDATE ON crm_searchentry WHEN old.text <> '' BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER crm_searchentry_fts_ui AFTER UPDATE ON crm_searchentry WHEN new.text <> '' BEGIN "
    f"INSERT INTO {FTS}(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS crm_searchentry_fts_ai",
    "DROP TRIGGER IF EXISTS crm_searchentry_fts_ad",
    "DROP TRIGGER IF EXISTS crm_searchentry_fts_ud",
    "DROP TRIGGER IF EXISTS crm_searchentry_fts_ui",
    f"DROP TABLE IF EXISTS {FTS}",
]


def prepare(apps, schema_editor):
    """PostgreSQL: the pg_trgm extension (with what to do when this role may not create it);
    SQLite: the FTS5 trigram table and the triggers that keep it in step with the entries."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            if cursor.fetchone() is None:
                try:
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                except DatabaseError as exc:
                    raise RuntimeError(
                        PG_EXTENSION_HELP.format(db=connection.settings_dict["NAME"], error=exc)
                    ) from exc
        elif connection.vendor == "sqlite":
            for statement in SQLITE_CREATE:
                cursor.execute(statement)


def unprepare(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for statement in SQLITE_DROP:
                cursor.execute(statement)


def create_trigram_indexes(apps, schema_editor):
    """PostgreSQL: one GIN trigram index per kind (built after the entries: faster than growing it)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # The rows just written have deferred foreign-key checks pending; PostgreSQL builds no
        # index on a table with pending trigger events, so run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for kind in KINDS:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS crm_search_{kind}_trgm ON crm_searchentry "
                f"USING gin (text gin_trgm_ops) WHERE kind = '{kind}'"
            )
        cursor.execute("ANALYZE crm_searchentry")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for kind in KINDS:
            cursor.execute(f"DROP INDEX IF EXISTS crm_search_{kind}_trgm")


def _words(column):
    """SQL for otdel.crm.search.normalize's words of one column: lower case, ё -> е, runs of
    anything but letters and digits -> one space."""
    return f"regexp_replace(translate(lower(coalesce({column}, '')), 'ё', 'е'), '[^[:alnum:]]+', ' ', 'g')"


def _text(*columns):
    joined = " || ' ' || ".join(_words(c) for c in columns)
    inner = f"btrim(regexp_replace({joined}, ' +', ' ', 'g'))"
    return f"CASE WHEN {inner} = '' THEN '' ELSE ' ' || {inner} || ' ' END"


PG_FILL = [
    f"""INSERT INTO crm_searchentry (kind, text, digits, company_id)
        SELECT 'company', {_text("name", "inn")}, '', id FROM crm_company""",
    f"""INSERT INTO crm_searchentry (kind, text, digits, contact_id)
        SELECT 'contact', {_text("c.full_name", "c.position", "co.name", "i.others")}, '', c.id
        FROM crm_contact c
        LEFT JOIN crm_company co ON co.id = c.company_id
        LEFT JOIN (
            SELECT contact_id, string_agg(value, ' ' ORDER BY kind, is_primary DESC, id) AS others
            FROM crm_identity WHERE kind NOT IN ('phone', 'whatsapp') GROUP BY contact_id
        ) i ON i.contact_id = c.id""",
    f"""INSERT INTO crm_searchentry (kind, text, digits, deal_id)
        SELECT 'deal', {_text("d.title", "c.full_name", "co.name")}, '', d.id
        FROM crm_deal d
        LEFT JOIN crm_contact c ON c.id = d.contact_id
        LEFT JOIN crm_company co ON co.id = d.company_id""",
    r"""INSERT INTO crm_searchentry (kind, text, digits, identity_id)
        SELECT 'phone', '', left(reverse(regexp_replace(split_part(value, ';', 1), '\D', '', 'g')), 32), id
        FROM crm_identity WHERE kind IN ('phone', 'whatsapp')""",
    """INSERT INTO crm_searchword (word)
        SELECT DISTINCT left(w, 64) FROM crm_searchentry, regexp_split_to_table(btrim(text), ' ') AS w
        WHERE kind <> 'phone' AND length(w) >= 5 AND w ~ '^[[:alpha:]]+$'
        ON CONFLICT DO NOTHING""",
]


def fill(apps, schema_editor):
    """Entries for the records that exist: in SQL on PostgreSQL (a million contacts in a minute or
    two), through otdel.crm.search.normalize elsewhere."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for statement in PG_FILL:
                cursor.execute(statement)
        return
    fill_in_python(apps)


def fill_in_python(apps):
    from otdel.crm.search import TYPO_MIN_LENGTH, normalize, reversed_digits

    Company = apps.get_model("crm", "Company")
    Contact = apps.get_model("crm", "Contact")
    Deal = apps.get_model("crm", "Deal")
    Identity = apps.get_model("crm", "Identity")
    SearchEntry = apps.get_model("crm", "SearchEntry")
    SearchWord = apps.get_model("crm", "SearchWord")
    phone_kinds = ("phone", "whatsapp")
    vocabulary: set[str] = set()
    step = 20000

    def save(rows):
        SearchEntry.objects.bulk_create(rows, batch_size=5000)
        for row in rows:
            vocabulary.update(w for w in row.text.split() if len(w) >= TYPO_MIN_LENGTH and w.isalpha())

    def ranges(model):
        ids = model.objects.order_by("pk").values_list("pk", flat=True)
        last = ids.last() or 0
        return ((start, start + step) for start in range(0, last + 1, step))

    for low, high in ranges(Company):
        rows = Company.objects.filter(pk__gte=low, pk__lt=high).values_list("pk", "name", "inn")
        save([SearchEntry(kind="company", company_id=pk, text=normalize(name, inn)) for pk, name, inn in rows])
    for low, high in ranges(Contact):
        others: dict[int, list[str]] = {}
        for contact_id, value in (
            Identity.objects.filter(contact_id__gte=low, contact_id__lt=high)
            .exclude(kind__in=phone_kinds)
            .values_list("contact_id", "value")
        ):
            others.setdefault(contact_id, []).append(value)
        rows = Contact.objects.filter(pk__gte=low, pk__lt=high).values_list(
            "pk", "full_name", "position", "company__name"
        )
        save(
            [
                SearchEntry(
                    kind="contact", contact_id=pk, text=normalize(name, position, company, *others.get(pk, []))
                )
                for pk, name, position, company in rows
            ]
        )
    for low, high in ranges(Deal):
        rows = Deal.objects.filter(pk__gte=low, pk__lt=high).values_list(
            "pk", "title", "contact__full_name", "company__name"
        )
        save([SearchEntry(kind="deal", deal_id=pk, text=normalize(*texts)) for pk, *texts in rows])
    for low, high in ranges(Identity):
        rows = Identity.objects.filter(pk__gte=low, pk__lt=high, kind__in=phone_kinds).values_list("pk", "value")
        save([SearchEntry(kind="phone", identity_id=pk, digits=reversed_digits(value)[:32]) for pk, value in rows])
    SearchWord.objects.bulk_create(
        [SearchWord(word=w[:64]) for w in sorted(vocabulary)], batch_size=5000, ignore_conflicts=True
    )


def empty(apps, schema_editor):
    apps.get_model("crm", "SearchEntry").objects.all().delete()
    apps.get_model("crm", "SearchWord").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_search")]

    operations = [
        migrations.RunPython(prepare, unprepare, elidable=False),
        migrations.RunPython(fill, empty, elidable=False),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
