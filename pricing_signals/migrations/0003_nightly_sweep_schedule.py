"""The nightly sweep of price claims as a django-celery-beat entry (see config/beat_entries.py)."""

from django.db import migrations

from config.beat_entries import nightly_entry

create, remove = nightly_entry(
    name="Nightly signal sweep", task="pricing_signals.tasks.nightly_signal_sweep", hour=3,
    description="Re-checks every price claim, so claims saved while the queue was down are caught.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("pricing_signals", "0002_global_detection_rule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
