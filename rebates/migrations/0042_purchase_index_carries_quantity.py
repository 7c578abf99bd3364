# The (customer, product, month) index of purchase lines carries the quantity: the last month each customer
# bought each product (our average prices over every agreement) is read from the index alone, in its order.
# The new index is built before the old one goes, so reads by customer and product keep an index meanwhile.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0008_buying_groups'),
        ('rebates', '0041_ledger_entry_posts_to'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='purchaseline',
            index=models.Index(fields=['customer', 'product', 'month'], include=('quantity',),
                               name='purchase_customer_product_qty'),
        ),
        migrations.RemoveIndex(
            model_name='purchaseline',
            name='rebates_pur_custome_5192b1_idx',
        ),
    ]
