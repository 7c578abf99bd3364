"""Each ledger entry carries where the GL journal posts it: its agreement's program and its customer's currency
as they stood when it was booked (docs/finance-reports.md), so the journal sums the ledger without joining every
entry to its agreement and customer.

The entries booked before are given their agreement's program and currency of today here, with the append-only
trigger held off for that one statement. An entry some writer books without them stays NULL and is journalled
through its agreement (the partial index `entry_unstamped` finds those). The journal sums the few entries below
zero (which post the other way round) from a partial index of their own, `entry_below_zero`.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
ALTER TABLE rebates_ledgerentry DISABLE TRIGGER rebates_ledgerentry_append_only;
UPDATE rebates_ledgerentry e SET program_id = a.program_id, currency = c.currency
FROM rebates_rebateagreement a JOIN customers_customer c ON c.id = a.customer_id
WHERE a.id = e.agreement_id AND (e.program_id IS NULL OR e.currency IS NULL);
ALTER TABLE rebates_ledgerentry ENABLE TRIGGER rebates_ledgerentry_append_only;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_customer_currency"),
        ("rebates", "0040_import_batch_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="program",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False,
                                    help_text="The agreement's program when the entry was booked (GL journal).",
                                    null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="rebates.rebateprogram"),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="currency",
            field=models.CharField(blank=True, help_text="The agreement's currency when the entry was booked "
                                                         "(GL journal).", max_length=3, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(condition=models.Q(("program__isnull", True), ("currency__isnull", True),
                                                  _connector="OR"),
                               fields=["period"], name="entry_unstamped"),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(condition=models.Q(("amount__lt", 0)), fields=["period"],
                               include=["kind", "program", "currency", "amount"], name="entry_below_zero"),
        ),
    ]
