"""A full-text index of each post's caption and prompt, on PostgreSQL (social/search.py).

The expression is the one `SearchVector("caption", "prompt", config="simple")` compiles to,
so searches use it. SQLite, the embedded mode, searches with plain substring filters.
"""

from django.db import migrations

INDEX = "post_search_simple"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON feed_post USING gin "
        "(to_tsvector('simple'::regconfig, COALESCE(caption, '') || ' ' || COALESCE(prompt, '')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("feed", "0007_post_has_audio")]

    operations = [migrations.RunPython(create_index, drop_index)]
