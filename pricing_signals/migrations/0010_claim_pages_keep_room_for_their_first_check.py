"""Claim pages are filled to 45 %, so the first detection of a bulk import rewrites each claim's status and
signal beside it on its own page (a heap-only update: the indexes on product and customer are left as they
are) rather than moving every claim to a new page. At half, the last few new versions of a page (a
corroborated claim's is some 13 bytes longer) no longer fit. Claims already stored keep their pages until
rewritten."""

from django.db import migrations

TABLE = "pricing_signals_priceclaim"


class Migration(migrations.Migration):

    dependencies = [
        ("pricing_signals", "0009_claims_without_competitor_and_reporter_indexes"),
    ]

    operations = [
        migrations.RunSQL(f"ALTER TABLE {TABLE} SET (fillfactor = 45)",
                          reverse_sql=f"ALTER TABLE {TABLE} RESET (fillfactor)"),
    ]
