"""The sweeper that queues again work saved while the broker was down, every 30 seconds, as a
django-celery-beat entry (see config/beat_entries.py and docs/broker-down.md)."""

from django.db import migrations

from config.beat_entries import interval_entry

create, remove = interval_entry(
    name="Waiting work sweeper", task="pricing_signals.tasks.waiting_work_requeue", seconds=30,
    description="Queues again accrual chunks whose worker died and runs, uploads, exports and claim checks "
                "whose message was lost while the broker was down.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("pricing_signals", "0006_claims_check_pending"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
