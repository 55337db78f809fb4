"""The database refuses to TRUNCATE the audit log too (PostgreSQL; SQLite has no TRUNCATE).

Django's flush, which the test suite runs between transactional and live-server tests,
empties every table with one TRUNCATE, so the refusal has a way around it: a connection
that has set the session setting `riff.audit_truncate` to `allow` may truncate. Nothing in
Riff sets it; only the tests' connections do (tests/conftest.py). Anybody who can set it
could as well drop the trigger (the table's owner can), so it guards against mistakes and
stray tools, not against the database's owner, just as the UPDATE and DELETE triggers do.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE FUNCTION moderation_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('riff.audit_truncate', true) IS DISTINCT FROM 'allow' THEN
        RAISE EXCEPTION 'The audit log is append-only: TRUNCATE is refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER moderation_audit_no_truncate
    BEFORE TRUNCATE ON moderation_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION moderation_audit_no_truncate();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS moderation_audit_no_truncate ON moderation_auditentry;
DROP FUNCTION IF EXISTS moderation_audit_no_truncate();
"""


def _run(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("moderation", "0004_verifycheck")]

    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
