"""Customer pages are filled to 30 %, so the nightly value and risk refresh rewrites each customer's figures
beside the old version on its own page (a heap-only update: none of the table's eight indexes is touched,
as none holds a column the refresh writes) rather than moving the customer to a new page and adding an entry
to every index. A customer stored without figures is some 140 bytes and one with its risk reasons in words
two to four times that, so the first refresh needs about twice a page's rows' size free beside them; later
refreshes find the old versions pruned and need about as much again as the rows take. Customers already
stored keep their pages until rewritten."""

from django.db import migrations

TABLE = "customers_customer"


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0008_buying_groups"),
    ]

    operations = [
        migrations.RunSQL(f"ALTER TABLE {TABLE} SET (fillfactor = 30)",
                          reverse_sql=f"ALTER TABLE {TABLE} RESET (fillfactor)"),
    ]
