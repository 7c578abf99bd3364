from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rebates", "0039_settlement_parts"),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="kind",
            field=models.CharField(
                choices=[("purchases", "Purchase lines"), ("memberships", "Buying-group memberships")],
                default="purchases",
                max_length=12,
            ),
        ),
    ]
