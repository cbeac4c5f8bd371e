"""The search engine's structures over kb_articleindex: an FTS5 table kept by triggers (SQLite) or a
generated tsvector column with a GIN index (PostgreSQL). Both hold lemmas; title weighs more."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE kb_article_fts USING fts5(title_lemmas, body_lemmas, content='kb_articleindex', "
    "content_rowid='article_id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER kb_articleindex_ai AFTER INSERT ON kb_articleindex BEGIN "
    "INSERT INTO kb_article_fts(rowid, title_lemmas, body_lemmas) "
    "VALUES (new.article_id, new.title_lemmas, new.body_lemmas); END",
    "CREATE TRIGGER kb_articleindex_ad AFTER DELETE ON kb_articleindex BEGIN "
    "INSERT INTO kb_article_fts(kb_article_fts, rowid, title_lemmas, body_lemmas) "
    "VALUES ('delete', old.article_id, old.title_lemmas, old.body_lemmas); END",
    "CREATE TRIGGER kb_articleindex_au AFTER UPDATE ON kb_articleindex BEGIN "
    "INSERT INTO kb_article_fts(kb_article_fts, rowid, title_lemmas, body_lemmas) "
    "VALUES ('delete', old.article_id, old.title_lemmas, old.body_lemmas); "
    "INSERT INTO kb_article_fts(rowid, title_lemmas, body_lemmas) "
    "VALUES (new.article_id, new.title_lemmas, new.body_lemmas); END",
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS kb_articleindex_au",
    "DROP TRIGGER IF EXISTS kb_articleindex_ad",
    "DROP TRIGGER IF EXISTS kb_articleindex_ai",
    "DROP TABLE IF EXISTS kb_article_fts",
]
POSTGRES = [
    "ALTER TABLE kb_articleindex ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', coalesce(title_lemmas, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(body_lemmas, '')), 'D')) STORED",
    "CREATE INDEX kb_articleindex_search_gin ON kb_articleindex USING GIN (search_vector)",
]
POSTGRES_UNDO = [
    "DROP INDEX IF EXISTS kb_articleindex_search_gin",
    "ALTER TABLE kb_articleindex DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_UNDO, "postgresql": POSTGRES_UNDO}),
        )
    ]
