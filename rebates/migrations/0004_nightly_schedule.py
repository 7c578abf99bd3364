"""The nightly accrual run as a django-celery-beat entry, so an administrator can change it in the admin.

It lives in the database rather than in CELERY_BEAT_SCHEDULE, which beat would write back over the
administrator's changes every time it starts.
"""

from django.conf import settings
from django.db import migrations

NAME = "Nightly accrual run"
TASK = "rebates.tasks.nightly_accrual_run"


def create_entry(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    task_model.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": crontab, "enabled": True,
                  "description": "Books the difference between what each agreement earned and its ledger."},
    )


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0003_accrual_chunks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
