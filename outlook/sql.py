"""The outlook's SQL: the nightly write of every changed customer's value and risk in one statement."""

import json
from collections.abc import Sequence

from django.db import connection

from customers.models import Customer


def valuations_write(rows: Sequence[tuple[int, str, str, int, list]]) -> int:
    """Set (value_tier, risk_level, risk_points, risk_reasons) of the customers given as
    (pk, tier, level, points, reasons) in one UPDATE over arrays; returns the number of rows updated."""
    if not rows:
        return 0
    table = connection.ops.quote_name(Customer._meta.db_table)
    ids, tiers, levels, points, reasons = zip(*rows, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET value_tier = v.tier, risk_level = v.level, risk_points = v.points, "
            "risk_reasons = v.reasons::jsonb "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::text[]) "
            "AS v(id, tier, level, points, reasons) WHERE c.id = v.id",
            [list(ids), list(tiers), list(levels), list(points), [json.dumps(r) for r in reasons]])
        return cursor.rowcount
