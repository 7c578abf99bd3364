"""The nightly accrual check as a django-celery-beat entry (see config/beat_entries.py), after the run."""

from django.db import migrations

from config.beat_entries import nightly_entry

create, remove = nightly_entry(
    name="Nightly accrual check", task="rebates.tasks.nightly_accrual_check", hour=4,
    description="Recomputes a random sample of agreements in full, books nothing, and records any difference "
                "from the ledger as an alert.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0011_ledger_refuses_truncate"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
