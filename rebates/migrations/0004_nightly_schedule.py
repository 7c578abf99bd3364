"""The nightly accrual run as a django-celery-beat entry (see config/beat_entries.py)."""

from django.db import migrations

from config.beat_entries import nightly_entry

create, remove = nightly_entry(
    name="Nightly accrual run", task="rebates.tasks.nightly_accrual_run", hour=2,
    description="Books the difference between what each agreement earned and its ledger.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0003_accrual_chunks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
