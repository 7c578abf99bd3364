"""Decisions kept as a history (a later one supersedes, the earlier stays), and a signal's price matches
moved to the signal's product now that agreements price each product (rebates 0009).

Each signal decided so far gets its decision as the first row of its history, with the agreements it
matched and its price matches linked to it. A match's price change, which priced the agreement's whole
scope, now names the signal's product: the step of that product on that date (made from the same step
when the product had none).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


BACKFILL = [
    """
    INSERT INTO pricing_signals_signaldecision (signal_id, decision, reason, match_price, match_effective_from,
                                                decided_by_id, decided_at)
    SELECT id, decision, decision_reason, match_price, match_effective_from, decided_by_id,
           COALESCE(decided_at, updated_at)
    FROM pricing_signals_marketsignal
    WHERE decision <> '' AND decided_by_id IS NOT NULL
    """,
    """
    INSERT INTO pricing_signals_signaldecision_agreements (signaldecision_id, rebateagreement_id)
    SELECT d.id, m.rebateagreement_id
    FROM pricing_signals_signaldecision d
    JOIN pricing_signals_marketsignal_matched_agreements m ON m.marketsignal_id = d.signal_id
    """,
    """
    UPDATE pricing_signals_signalpricematch m SET decision_id = d.id
    FROM pricing_signals_signaldecision d WHERE d.signal_id = m.signal_id
    """,
    """
    INSERT INTO rebates_contractprice (agreement_id, product_id, effective_from, net_price, reason, created_by_id,
                                       created_at)
    SELECT cp.agreement_id, s.product_id, cp.effective_from, cp.net_price, cp.reason, cp.created_by_id, cp.created_at
    FROM pricing_signals_signalpricematch m
    JOIN rebates_contractprice cp ON cp.id = m.contract_price_id
    JOIN pricing_signals_marketsignal s ON s.id = m.signal_id
    WHERE cp.product_id <> s.product_id
    ON CONFLICT (agreement_id, product_id, effective_from) DO NOTHING
    """,
    """
    UPDATE pricing_signals_signalpricematch m SET contract_price_id = mine.id
    FROM rebates_contractprice cp, pricing_signals_marketsignal s, rebates_contractprice mine
    WHERE cp.id = m.contract_price_id AND s.id = m.signal_id AND cp.product_id <> s.product_id
      AND mine.agreement_id = cp.agreement_id AND mine.product_id = s.product_id
      AND mine.effective_from = cp.effective_from
    """,
    "SET CONSTRAINTS ALL IMMEDIATE",
]


class Migration(migrations.Migration):

    dependencies = [
        ('pricing_signals', '0007_waiting_work_sweeper_schedule'),
        ('rebates', '0015_contract_prices_per_product'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SignalDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('decision', models.CharField(choices=[('match', 'Match'), ('hold', 'Hold')], max_length=6)),
                ('reason', models.TextField(blank=True)),
                ('match_price', models.DecimalField(blank=True, decimal_places=4, max_digits=14, null=True)),
                ('match_effective_from', models.DateField(blank=True, null=True)),
                ('decided_at', models.DateTimeField()),
                ('agreements', models.ManyToManyField(blank=True, related_name='+', to='rebates.rebateagreement')),
                ('decided_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('signal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='decisions', to='pricing_signals.marketsignal')),
                ('superseded_at', models.DateTimeField(blank=True, null=True)),
                ('superseded_by', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='supersedes', to='pricing_signals.signaldecision')),
            ],
            options={
                'ordering': ['signal', 'decided_at', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='signalpricematch',
            name='decision',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='price_matches', to='pricing_signals.signaldecision'),
        ),
        migrations.AddConstraint(
            model_name='signaldecision',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision', 'match'), _negated=True), models.Q(('match_effective_from__isnull', False), ('match_price__isnull', False)), _connector='OR'), name='decision_match_has_price_and_date'),
        ),
        migrations.AddConstraint(
            model_name='signaldecision',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision', 'hold'), _negated=True), models.Q(('reason', ''), _negated=True), _connector='OR'), name='decision_hold_has_reason'),
        ),
        migrations.AddConstraint(
            model_name='signaldecision',
            constraint=models.UniqueConstraint(condition=models.Q(('superseded_at__isnull', True)), fields=('signal',), name='one_current_decision_per_signal'),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
