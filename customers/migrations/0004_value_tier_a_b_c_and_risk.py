from django.db import migrations, models

# The old hand-set tiers, read as the nearest Pareto class until the nightly valuation computes the real one.
OLD_TO_NEW = {"strategic": "A", "key": "A", "standard": "B", "small": "C"}
NEW_TO_OLD = {"A": "key", "B": "standard", "C": "small"}


def tiers_forward(apps, schema_editor):
    customer = apps.get_model("customers", "Customer")
    for old, new in OLD_TO_NEW.items():
        customer.objects.filter(value_tier=old).update(value_tier=new)


def tiers_backward(apps, schema_editor):
    customer = apps.get_model("customers", "Customer")
    for new, old in NEW_TO_OLD.items():
        customer.objects.filter(value_tier=new).update(value_tier=old)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0003_code_url_characters"),
    ]

    operations = [
        migrations.RunPython(tiers_forward, tiers_backward),
        migrations.AlterField(
            model_name="customer",
            name="value_tier",
            field=models.CharField(choices=[("A", "A"), ("B", "B"), ("C", "C")], db_default="C", default="C",
                                   max_length=12),
        ),
        migrations.AddField(
            model_name="customer",
            name="risk_level",
            field=models.CharField(choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")], db_default="low",
                                   default="low", max_length=8),
        ),
        migrations.AddField(
            model_name="customer",
            name="risk_points",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="customer",
            name="risk_reasons",
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
        migrations.AddField(
            model_name="customer",
            name="valued_on",
            field=models.DateField(blank=True, null=True, verbose_name="value and risk as of"),
        ),
    ]
