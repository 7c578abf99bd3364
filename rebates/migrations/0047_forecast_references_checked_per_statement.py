"""A forecast's references to its accrual run and agreement are checked once per INSERT (or UPDATE) statement.

The nightly outlook stores its forecasts by COPY, a thousand a chunk: the foreign keys checked each row on its
own at commit (a lookup and a row lock per row, two keys a row), about a third of what writing the rows cost.
The statement triggers below check the same thing for all the rows of a statement at once, as the ledger's
(0035): every run and agreement the new rows name exists, locked FOR KEY SHARE as a foreign key locks it, so
none can be deleted before the transaction ends; otherwise the statement fails whole with a
foreign_key_violation. On the other side, a row trigger refuses to delete a run or an agreement that a forecast
names (what the foreign keys' NO ACTION did); deleting one through the application deletes its forecasts first
(the models' CASCADE). The run's own index goes too: the (run, agreement) constraint's index finds a run's rows.
"""

import django.db.models.deletion
from django.db import migrations, models

# Per referenced table: (table, the forecast's column naming it, what it is called in the refusal).
REFERENCED = [("rebates_rebateagreement", "agreement_id", "an agreement"),
              ("rebates_accrualrun", "run_id", "an accrual run")]

CHECK_ONE = """
    SELECT count(DISTINCT {column}) INTO named FROM added;
    SELECT count(*) INTO present FROM (
        SELECT 1 FROM {table} WHERE id IN (SELECT {column} FROM added) FOR KEY SHARE) x;
    IF present <> named THEN
        RAISE EXCEPTION 'a forecast names {called} that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;"""

CHECK_REFERENCES = """
CREATE OR REPLACE FUNCTION rebates_forecast_references() RETURNS trigger AS $$
DECLARE
    named bigint;
    present bigint;
BEGIN""" + "".join(CHECK_ONE.format(table=table, column=column, called=called)
                   for table, column, called in REFERENCED) + """
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER rebates_agreementforecast_references AFTER INSERT ON rebates_agreementforecast
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rebates_forecast_references();
CREATE TRIGGER rebates_agreementforecast_references_update AFTER UPDATE ON rebates_agreementforecast
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rebates_forecast_references();
"""

KEEP_REFERENCED = """
CREATE OR REPLACE FUNCTION {table}_keep_forecasted() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM rebates_agreementforecast WHERE {column} = OLD.id) THEN
        RAISE EXCEPTION 'forecasts name {table} %: delete them first', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {table}_keep_forecasted BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_keep_forecasted();
"""

CREATE = CHECK_REFERENCES + "".join(KEEP_REFERENCED.format(table=table, column=column)
                                    for table, column, _ in REFERENCED)

DROP = """
DROP TRIGGER IF EXISTS rebates_agreementforecast_references ON rebates_agreementforecast;
DROP TRIGGER IF EXISTS rebates_agreementforecast_references_update ON rebates_agreementforecast;
DROP FUNCTION IF EXISTS rebates_forecast_references();
""" + "".join(f"""
DROP TRIGGER IF EXISTS {table}_keep_forecasted ON {table};
DROP FUNCTION IF EXISTS {table}_keep_forecasted();
""" for table, _, _ in REFERENCED)


def create_triggers(apps, schema_editor):
    schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('rebates', '0046_balance_upkeep_sums_per_agreement'),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AlterField(
            model_name='agreementforecast',
            name='agreement',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='forecasts', to='rebates.rebateagreement'),
        ),
        migrations.AlterField(
            model_name='agreementforecast',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='forecasts', to='rebates.accrualrun'),
        ),
    ]
