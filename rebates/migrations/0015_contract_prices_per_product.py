"""Contract prices per product: today's single price of each agreement (and its history) becomes the price of
each product it priced.

Each price step is kept for every product named in the scope and, for a line in the scope, every product of
the line the customer bought in the term (a line none of whose products was bought keeps the step for every
product of the line, so no agreement loses the price it was given). The step keeps its row (and so a market
signal's link to it) for the first of those products; the others get copies with the same date, price,
reason, author and time. pricing_signals' next migration moves a signal's link to the signal's product.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TARGETS = """
WITH targets AS (
    SELECT sp.rebateagreement_id AS agreement_id, sp.product_id
    FROM rebates_rebateagreement_products sp
    UNION
    SELECT a.id, p.id
    FROM rebates_rebateagreement a
    JOIN rebates_rebateagreement_product_lines sl ON sl.rebateagreement_id = a.id
    JOIN rebates_product p ON p.product_line_id = sl.productline_id
    WHERE EXISTS (SELECT 1 FROM rebates_purchaseline pl
                  WHERE pl.customer_id = a.customer_id AND pl.product_id = p.id AND pl.quantity > 0
                    AND pl.month BETWEEN a.start_month AND a.end_month)
       OR NOT EXISTS (SELECT 1 FROM rebates_purchaseline pl JOIN rebates_product q ON q.id = pl.product_id
                      WHERE pl.customer_id = a.customer_id AND q.product_line_id = sl.productline_id
                        AND pl.quantity > 0 AND pl.month BETWEEN a.start_month AND a.end_month)
)
"""

PER_PRODUCT = [
    # Checked as each statement ends, so no trigger event is left pending for the ALTER TABLE that follows.
    "SET CONSTRAINTS ALL IMMEDIATE",
    TARGETS + """
    UPDATE rebates_contractprice cp SET product_id = first.product_id
    FROM (SELECT agreement_id, min(product_id) AS product_id FROM targets GROUP BY agreement_id) first
    WHERE first.agreement_id = cp.agreement_id AND cp.product_id IS NULL
    """,
    TARGETS + """
    INSERT INTO rebates_contractprice (agreement_id, product_id, effective_from, net_price, reason, created_by_id,
                                       created_at)
    SELECT cp.agreement_id, t.product_id, cp.effective_from, cp.net_price, cp.reason, cp.created_by_id, cp.created_at
    FROM rebates_contractprice cp JOIN targets t ON t.agreement_id = cp.agreement_id
    WHERE t.product_id <> cp.product_id
    """,
    # An agreement whose scope names nothing had a price for nothing.
    "DELETE FROM rebates_contractprice WHERE product_id IS NULL",
]

# Back to one price per agreement and date: the step of the first product priced.
ONE_PER_AGREEMENT = """
DELETE FROM rebates_contractprice cp USING rebates_contractprice kept
WHERE kept.agreement_id = cp.agreement_id AND kept.effective_from = cp.effective_from AND kept.id < cp.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ('rebates', '0014_agreement_interim_frequency_and_termination'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LineDiscount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_from', models.DateField()),
                ('discount_percent', models.DecimalField(decimal_places=3, max_digits=6)),
                ('reason', models.CharField(max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['agreement', 'product_line', 'effective_from'],
            },
        ),
        migrations.AlterModelOptions(
            name='contractprice',
            options={'ordering': ['agreement', 'product', 'effective_from']},
        ),
        migrations.RemoveConstraint(
            model_name='contractprice',
            name='one_contract_price_per_date',
        ),
        migrations.AddField(
            model_name='contractprice',
            name='product',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='contract_prices', to='rebates.product'),
        ),
        migrations.RunSQL(PER_PRODUCT, reverse_sql=ONE_PER_AGREEMENT),
        migrations.AlterField(
            model_name='contractprice',
            name='product',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contract_prices', to='rebates.product'),
        ),
        migrations.AddIndex(
            model_name='contractprice',
            index=models.Index(fields=['product', 'agreement', 'effective_from'], name='contract_price_product_idx'),
        ),
        migrations.AddConstraint(
            model_name='contractprice',
            constraint=models.UniqueConstraint(fields=('agreement', 'product', 'effective_from'), name='one_contract_price_per_product_and_date'),
        ),
        migrations.AddField(
            model_name='linediscount',
            name='agreement',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='line_discounts', to='rebates.rebateagreement'),
        ),
        migrations.AddField(
            model_name='linediscount',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='linediscount',
            name='product_line',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rebates.productline'),
        ),
        migrations.AddConstraint(
            model_name='linediscount',
            constraint=models.UniqueConstraint(fields=('agreement', 'product_line', 'effective_from'), name='one_line_discount_per_line_and_date'),
        ),
        migrations.AddConstraint(
            model_name='linediscount',
            constraint=models.CheckConstraint(condition=models.Q(('discount_percent__gte', 0), ('discount_percent__lt', 100)), name='line_discount_percent_in_range'),
        ),
    ]
