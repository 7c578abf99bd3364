"""Every minute, the operations checks raise and clear the alerts, as a django-celery-beat entry editable in
the admin (see config/beat_entries.py)."""

from django.db import migrations

from config.beat_entries import interval_entry

create, remove = interval_entry(
    name="Operations check", task="operations.tasks.operations_check", seconds=60,
    description="Notes that a worker is alive, raises an alert for a failed or stale run, ledger drift, a "
                "backed-up queue, a stuck export or import or a broker outage, and clears it when it goes.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
