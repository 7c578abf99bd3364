"""An agreement that expires (active -> expired, as the nightly close does at its term's end) no longer marks
itself for the next accrual run: both statuses accrue, and the engine reads the term, never the status, so
its expected ledger is the same. Every other change the trigger of 0010_accrual_mark_triggers follows still
marks, a status change into or out of accruing included."""

from django.db import migrations

# The agreement's columns the run reads, status as `status` gives it for a row alias.
COLUMNS = ("customer_id", "start_month", "end_month", "committed_monthly_quantity", "settlement_frequency", None,
           "terminated_on", "terms_changed_at")
# Active and expired agreements accrue alike (rebates.services.accrual.ACCRUING_STATUSES).
ACCRUING = "CASE WHEN {row}.status IN ('active', 'expired') THEN 'accruing' ELSE {row}.status END"
AS_STORED = "{row}.status"


def _function(status):
    def columns(row):
        return ", ".join(status.format(row=row) if column is None else f"{row}.{column}" for column in COLUMNS)

    old, new = columns("o"), columns("n")
    return f"""
CREATE OR REPLACE FUNCTION rebates_rebateagreement_mark_update() RETURNS trigger AS $$
BEGIN
INSERT INTO rebates_accrualmark (reason, agreement_id, xact)
SELECT DISTINCT 'agreement', x.agreement_id, pg_current_xact_id()::text::bigint
FROM (SELECT n.id AS agreement_id FROM old_rows o JOIN new_rows n ON n.id = o.id
      WHERE ({old}) IS DISTINCT FROM ({new})) x
WHERE x.agreement_id IS NOT NULL;
RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):

    dependencies = [("rebates", "0019_purchase_lines_indexed_by_customer_and_product")]

    operations = [
        migrations.RunSQL(_function(ACCRUING), reverse_sql=_function(AS_STORED)),
    ]
