"""In PostgreSQL, a trigger refuses UPDATE and DELETE on ledger entries, whoever sends them."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rebates_ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused on entry %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER rebates_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON rebates_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION rebates_ledger_entry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS rebates_ledgerentry_append_only ON rebates_ledgerentry;
DROP FUNCTION IF EXISTS rebates_ledger_entry_append_only();
"""


def create_trigger(apps, schema_editor):
    schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("rebates", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
