"""In PostgreSQL, a statement trigger refuses TRUNCATE of the ledger (the row trigger of 0002 does not fire
for it), whoever sends it, and for a TRUNCATE that reaches the ledger by CASCADE too."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rebates_ledger_entry_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER rebates_ledgerentry_no_truncate
    BEFORE TRUNCATE ON rebates_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION rebates_ledger_entry_no_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS rebates_ledgerentry_no_truncate ON rebates_ledgerentry;
DROP FUNCTION IF EXISTS rebates_ledger_entry_no_truncate();
"""


def create_trigger(apps, schema_editor):
    schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("rebates", "0010_accrual_mark_triggers")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
