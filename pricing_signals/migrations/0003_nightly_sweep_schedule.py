"""The nightly sweep of price claims as a django-celery-beat entry, editable in the admin.

It lives in the database rather than in CELERY_BEAT_SCHEDULE, which beat would write back over the
administrator's changes every time it starts.
"""

from django.conf import settings
from django.db import migrations

NAME = "Nightly signal sweep"
TASK = "pricing_signals.tasks.nightly_signal_sweep"


def create_entry(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    task_model.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": crontab, "enabled": True,
                  "description": "Re-checks every price claim, so claims saved while the queue was down are caught."},
    )


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pricing_signals", "0002_global_detection_rule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
