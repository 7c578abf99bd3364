"""django-celery-beat entries (nightly, or every few seconds) created by migrations, so an administrator
can change them in the admin.

They live in the database rather than in CELERY_BEAT_SCHEDULE, which beat would write back over the
administrator's changes every time it starts.
"""

from django.conf import settings


def nightly_entry(*, name, task, hour, description):
    """The (create, remove) pair of RunPython functions for a task run every night at `hour`:00."""

    def create(apps, schema_editor):
        crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
        task_model = apps.get_model("django_celery_beat", "PeriodicTask")
        crontab, _ = crontab_model.objects.get_or_create(
            minute="0", hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        task_model.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "enabled": True, "description": description}
        )

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name, task=task).delete()

    return create, remove


def interval_entry(*, name, task, seconds, description):
    """The (create, remove) pair of RunPython functions for a task run every `seconds` seconds."""

    def create(apps, schema_editor):
        interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
        task_model = apps.get_model("django_celery_beat", "PeriodicTask")
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True, "description": description}
        )

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name, task=task).delete()

    return create, remove
