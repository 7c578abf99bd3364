"""Every 30 seconds, what-ifs whose message or worker was lost are queued again (or failed after three
tries), as a django-celery-beat entry editable in the admin (see config/beat_entries.py)."""

from django.db import migrations

from config.beat_entries import interval_entry

create, remove = interval_entry(
    name="What-if recovery", task="programs.tasks.whatif_jobs_recover", seconds=30,
    description="Queues again what-ifs whose message was lost while the broker was down or whose worker "
                "stopped; fails one whose worker stopped three times.",
)


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
