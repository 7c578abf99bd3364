"""What the last whole detection of each product left stored, so the nightly sweep detects again only the
products whose claims or rule changed since."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pricing_signals', '0010_claim_pages_keep_room_for_their_first_check'),
        ('rebates', '0046_balance_upkeep_sums_per_agreement'),
    ]

    operations = [
        migrations.CreateModel(
            name='SweptProduct',
            fields=[
                ('product', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='rebates.product')),
                ('swept_on', models.DateField(help_text='The date its claims were last detected as of.')),
                ('window_days', models.PositiveIntegerField()),
                ('min_customers', models.PositiveIntegerField()),
                ('tolerance_percent', models.DecimalField(decimal_places=3, max_digits=6)),
                ('same_competitor', models.BooleanField()),
                ('claim_count', models.PositiveIntegerField()),
                ('fingerprint', models.BigIntegerField()),
            ],
        ),
    ]
