"""The claim table keeps only the indexes something reads by: each one more is rebuilt by the first detection
of a bulk import and written by every claim saved."""

import pytest
from django.db import connection

from pricing_signals.models import PriceClaim

pytestmark = pytest.mark.django_db


def test_claims_are_indexed_only_by_what_pages_and_detection_read():
    with connection.cursor() as cursor:
        columns = connection.introspection.get_constraints(cursor, PriceClaim._meta.db_table)
    indexed = sorted(tuple(found["columns"]) for found in columns.values()
                     if found["index"] and not found["primary_key"])
    assert indexed == [("created_at",), ("customer_id", "reported_on"), ("product_id", "reported_on"),
                       ("signal_id",)]


def test_claim_pages_are_filled_to_less_than_half_so_a_first_check_rewrites_claims_in_place():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [PriceClaim._meta.db_table])
        assert cursor.fetchone()[0] == ["fillfactor=45"]
