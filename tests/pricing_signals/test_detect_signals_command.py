"""`manage.py detect_signals` for operators."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from pricing_signals.models import MarketSignal, PriceClaim

pytestmark = pytest.mark.django_db


def detect(*args):
    out = io.StringIO()
    call_command("detect_signals", *args, stdout=out)
    return out.getvalue()


def test_the_command_detects_the_seed_signal_and_says_what_it_did(seed):
    output = detect("--as-of", "2026-12-31")

    assert "5 claims checked, 5 changed; 3 corroborated, 0 pending, 2 unsubstantiated" in output
    assert "1 new" in output and MarketSignal.objects.count() == 1


def test_the_command_twice_changes_nothing_the_second_time(seed):
    detect("--as-of", "2026-12-31")

    assert "5 claims checked, 0 changed" in detect("--as-of", "2026-12-31")


def test_the_command_can_be_limited_to_products(seed, product):
    from tests.factories import ProductFactory

    ProductFactory(sku="OTHER-1")
    assert "0 claims checked" in detect("--as-of", "2026-12-31", "--product", "OTHER-1")
    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"pending"}
    assert "5 claims checked" in detect("--as-of", "2026-12-31", "--product", product.sku)


def test_the_command_leaves_the_claim_indexes_alone_unless_asked(seed):
    from tests.pricing_signals.test_sweep import claim_table_indexes

    before = claim_table_indexes()

    assert "5 claims checked, 5 changed" in detect("--as-of", "2026-12-31")
    assert claim_table_indexes() == before


def test_the_command_rebuilds_the_claim_indexes_when_asked_and_most_claims_change(seed):
    from tests.pricing_signals.test_sweep import claim_table_foreign_keys, claim_table_indexes

    before, keys = claim_table_indexes(), claim_table_foreign_keys()

    output = detect("--as-of", "2026-12-31", "--rebuild-indexes")

    assert "5 claims checked, 5 changed; 3 corroborated, 0 pending, 2 unsubstantiated" in output
    after = claim_table_indexes()
    assert after.keys() == before.keys()
    # Only the index on the signal is rebuilt (a new object): the claims' new versions stay on their pages,
    # so the indexes on product, customer and the checks still to run need no new entries.
    with connection.cursor() as cursor:
        on_signal = [name for name, found in connection.introspection.get_constraints(
            cursor, PriceClaim._meta.db_table).items() if found["index"] and found["columns"] == ["signal_id"]]
    assert len(on_signal) == 1
    assert [name for name in after if after[name] != before[name]] == on_signal
    assert claim_table_foreign_keys() == keys
    assert "5 claims checked, 0 changed" in detect("--as-of", "2026-12-31")


@pytest.mark.parametrize("args, message", [
    (["--product", "NO-SUCH-SKU"], "No product with SKU NO-SUCH-SKU"),
    (["--as-of", "31/12/2026"], "--as-of must be a date"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--queue", "--rebuild-indexes"], "--rebuild-indexes runs here"),
])
def test_the_command_refuses_what_it_cannot_do(db, args, message):
    with pytest.raises(CommandError, match=message):
        detect(*args)
