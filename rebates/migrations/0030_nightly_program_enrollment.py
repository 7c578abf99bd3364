"""The nightly enrollment of segment-wide programs as a django-celery-beat entry (see config/beat_entries.py),
an hour before the accrual run, so tonight's run accrues the agreements it made or ended."""

from django.db import migrations

from config.beat_entries import nightly_entry

create, remove = nightly_entry(
    name="Nightly program enrollment", task="rebates.tasks.nightly_program_enrollment", hour=1,
    description="Enrolls the customers who joined a segment-wide program's target segments (from next month) "
                "and ends the agreements of those who left (they keep what they earned).",
)


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0029_segment_wide_program_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
