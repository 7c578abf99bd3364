"""Each accrual run keeps what it booked per currency once it succeeds (its entries never change after that),
so the finance dashboard and the runs' pages read a few stored figures instead of summing the runs' entries.

The runs that succeeded before are given theirs here, summed from their entries by the currency stamped on
each (an entry without one counts in its agreement's customer's currency), as the run's finish step does.
Runs still going on, failed or skipped keep NULL and are read from their entries.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE rebates_accrualrun r SET booked_totals = t.totals
FROM (
    SELECT accrual_run_id, jsonb_object_agg(currency, total::text) AS totals
    FROM (
        SELECT e.accrual_run_id, COALESCE(e.currency, c.currency) AS currency, sum(e.amount) AS total
        FROM rebates_ledgerentry e
        JOIN rebates_accrualrun run ON run.id = e.accrual_run_id AND run.status = 'succeeded'
        JOIN rebates_rebateagreement a ON a.id = e.agreement_id
        JOIN customers_customer c ON c.id = a.customer_id
        GROUP BY 1, 2
    ) per_currency
    GROUP BY 1
) t
WHERE r.id = t.accrual_run_id;
UPDATE rebates_accrualrun SET booked_totals = '{}'::jsonb WHERE status = 'succeeded' AND booked_totals IS NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0042_purchase_index_carries_quantity"),
    ]

    operations = [
        migrations.AddField(
            model_name="accrualrun",
            name="booked_totals",
            field=models.JSONField(
                blank=True, default=None, null=True,
                help_text="What the run booked per currency, stored when it succeeded (amounts as decimal strings)."),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
