"""The ledger's references to its agreement, accrual run and settlement are checked once per INSERT statement.

A foreign key checks each inserted row on its own (a lookup and a row lock per entry, three keys an entry): for
the 200,000 entries of a full run that cost about as much as inserting them. The statement trigger below checks
the same thing for all the rows of an INSERT at once: every agreement, run and settlement the new entries name
exists, locked FOR KEY SHARE as a foreign key locks it, so none can be deleted before the transaction ends;
otherwise the INSERT fails whole with a foreign_key_violation. On the other side, a row trigger refuses to
delete an agreement, run or settlement that the ledger names (what the foreign keys' NO ACTION did), and a
statement trigger refuses to TRUNCATE one of them while the ledger holds entries (a TRUNCATE ... CASCADE used to
reach the ledger through the foreign keys, whose own guard of 0011 refused it).
"""

import django.db.models.deletion
from django.db import migrations, models


# Per referenced table: (table, the entry's column naming it, what it is called in the refusal).
REFERENCED = [("rebates_rebateagreement", "agreement_id", "an agreement"),
              ("rebates_accrualrun", "accrual_run_id", "an accrual run"),
              ("rebates_settlement", "settlement_id", "a settlement")]

# Each referenced table's rows the statement names: locked as a foreign key locks them, and all present.
CHECK_ONE = """
    SELECT count(DISTINCT {column}) INTO named FROM added;
    SELECT count(*) INTO present FROM (
        SELECT 1 FROM {table} WHERE id IN (SELECT {column} FROM added) FOR KEY SHARE) x;
    IF present <> named THEN
        RAISE EXCEPTION 'a ledger entry names {called} that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;"""

CHECK_REFERENCES = """
CREATE OR REPLACE FUNCTION rebates_ledger_references() RETURNS trigger AS $$
DECLARE
    named bigint;
    present bigint;
BEGIN""" + "".join(CHECK_ONE.format(table=table, column=column, called=called)
                   for table, column, called in REFERENCED) + """
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER rebates_ledgerentry_references AFTER INSERT ON rebates_ledgerentry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rebates_ledger_references();
"""

KEEP_REFERENCED = """
CREATE OR REPLACE FUNCTION {table}_keep_ledgered() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM rebates_ledgerentry WHERE {column} = OLD.id) THEN
        RAISE EXCEPTION 'ledger entries name {table} %: it cannot be deleted', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {table}_keep_ledgered BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_keep_ledgered();

CREATE TRIGGER rebates_ledgered_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION rebates_ledgered_no_truncate();
"""

NO_TRUNCATE = """
CREATE OR REPLACE FUNCTION rebates_ledgered_no_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM rebates_ledgerentry) THEN
        RAISE EXCEPTION 'ledger entries are append-only: TRUNCATE refused on %, which the ledger names', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

DROP = """
DROP TRIGGER IF EXISTS rebates_ledgerentry_references ON rebates_ledgerentry;
DROP FUNCTION IF EXISTS rebates_ledger_references();
""" + "".join(f"""
DROP TRIGGER IF EXISTS {table}_keep_ledgered ON {table};
DROP TRIGGER IF EXISTS rebates_ledgered_no_truncate ON {table};
DROP FUNCTION IF EXISTS {table}_keep_ledgered();
""" for table, _, _ in REFERENCED) + "DROP FUNCTION IF EXISTS rebates_ledgered_no_truncate();"

CREATE = CHECK_REFERENCES + NO_TRUNCATE + "".join(KEEP_REFERENCED.format(table=table, column=column) for table, column, _ in REFERENCED)


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('rebates', '0034_units_of_measure'),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AlterField(
            model_name='ledgerentry',
            name='accrual_run',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='rebates.accrualrun'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='agreement',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='rebates.rebateagreement'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='settlement',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='rebates.settlement'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(condition=models.Q(('settlement__isnull', False)), fields=['settlement'], name='entry_settlement'),
        ),
    ]
