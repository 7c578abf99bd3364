import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Days between contacts per value tier and risk level: the most valuable customers at the highest risk most
# often. Edited in the admin afterwards.
DEFAULT_CADENCES = {
    ("A", "high"): 14, ("A", "medium"): 30, ("A", "low"): 45,
    ("B", "high"): 30, ("B", "medium"): 60, ("B", "low"): 90,
    ("C", "high"): 60, ("C", "medium"): 90, ("C", "low"): 180,
}


def cadences_create(apps, schema_editor):
    cadence = apps.get_model("customers", "ContactCadence")
    for (tier, level), days in DEFAULT_CADENCES.items():
        cadence.objects.get_or_create(value_tier=tier, risk_level=level, defaults={"days": days})


def cadences_remove(apps, schema_editor):
    apps.get_model("customers", "ContactCadence").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0004_value_tier_a_b_c_and_risk"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactCadence",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value_tier", models.CharField(choices=[("A", "A"), ("B", "B"), ("C", "C")], max_length=12)),
                ("risk_level", models.CharField(choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                                                max_length=8)),
                ("days", models.PositiveSmallIntegerField(verbose_name="days between contacts")),
            ],
            options={
                "ordering": ["value_tier", "risk_level"],
                "constraints": [
                    models.UniqueConstraint(fields=("value_tier", "risk_level"), name="contact_cadence_one_per_cell"),
                    models.CheckConstraint(condition=models.Q(("days__gte", 1)), name="contact_cadence_days_positive"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Contact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("call", "Call"), ("visit", "Visit"), ("email", "Email"),
                                                   ("meeting", "Meeting")], max_length=8)),
                ("note", models.TextField(blank=True, max_length=2000)),
                ("contacted_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("customer", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="contacts",
                                               to="customers.customer")),
                ("manager", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="contacts",
                                              to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-contacted_on", "-pk"],
                "indexes": [models.Index(fields=["customer", "-contacted_on"], name="contact_customer_latest_idx")],
            },
        ),
        migrations.RunPython(cadences_create, cadences_remove),
    ]
