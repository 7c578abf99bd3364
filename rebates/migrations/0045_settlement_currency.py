"""Each settlement carries its agreement's currency (its customer's, which cannot change once the customer has
agreements), so finance's settlements waiting sum per currency without joining the agreements and customers.
Existing settlements take it from their agreement's customer; a row written without it later is found by a
partial index and summed through its customer."""

from django.conf import settings
from django.db import migrations, models

BACKFILL = """
UPDATE rebates_settlement s SET currency = c.currency
FROM rebates_rebateagreement a JOIN customers_customer c ON c.id = a.customer_id
WHERE a.id = s.agreement_id AND s.currency IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0008_buying_groups'),
        ('rebates', '0044_agreement_balance_keeps_earned_months'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='settlement',
            name='currency',
            field=models.CharField(blank=True, editable=False, help_text="The agreement's currency, set when the settlement is drafted.", max_length=3, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='settlement',
            index=models.Index(condition=models.Q(('currency__isnull', True)), fields=['status'], name='settlement_no_currency_idx'),
        ),
    ]
