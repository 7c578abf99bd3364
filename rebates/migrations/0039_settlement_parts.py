# A member's part of a split buying-group settlement (docs/buying-groups.md).

import config.constraints
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0008_buying_groups'),
        ('rebates', '0038_group_payout_and_marks'),
    ]

    operations = [
        migrations.CreateModel(
            name='SettlementPart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('volume', models.DecimalField(decimal_places=3, help_text="The member's volume in the settlement's months (units or net amount).", max_digits=18)),
                ('total_volume', models.DecimalField(decimal_places=3, help_text="Every member's volume in the settlement's months.", max_digits=18)),
                ('amount', models.DecimalField(decimal_places=2, help_text='What the settlement pays this member.', max_digits=16)),
                ('payment_reference', models.CharField(help_text="The member's credit note number.", max_length=80)),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='settlement_parts', to='customers.customer')),
                ('settlement', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='parts', to='rebates.settlement')),
            ],
            options={
                'ordering': ['settlement', 'member__code'],
                'constraints': [models.UniqueConstraint(fields=('settlement', 'member'), name='settlement_part_once_per_member'), models.UniqueConstraint(fields=('payment_reference',), name='settlement_part_credit_note_once', violation_error_message="That credit note number is already another member's part."), models.CheckConstraint(condition=models.Q(('payment_reference', ''), _negated=True), name='settlement_part_has_credit_note')],
            },
            bases=(config.constraints.NamedConstraints, models.Model),
        ),
    ]
