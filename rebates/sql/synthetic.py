"""The synthetic data's SQL: planner statistics after a load."""

from django.db import connection


def statistics_refresh(models) -> None:
    """ANALYZE each model's table (a model or an m2m through model), so the planner knows the rows just
    loaded. Returns None."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
