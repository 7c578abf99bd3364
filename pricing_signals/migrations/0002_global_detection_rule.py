from django.db import migrations


def create_global_rule(apps, schema_editor):
    DetectionRule = apps.get_model("pricing_signals", "DetectionRule")
    if not DetectionRule.objects.filter(product_line__isnull=True).exists():
        DetectionRule.objects.create(window_days=30, min_customers=3, tolerance_percent=2, same_competitor=False)


class Migration(migrations.Migration):
    dependencies = [("pricing_signals", "0001_initial")]

    operations = [migrations.RunPython(create_global_rule, migrations.RunPython.noop)]
