"""Market signals' raw SQL is in pricing_signals/sql.py only, and no request or task changes the schema."""

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import pricing_signals
from pricing_signals import sql, tasks
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import price_claim_dismiss, signals_detect
from pricing_signals.services.sweep import signals_detect_rebuilding_indexes
from tests.factories import CustomerFactory
from tests.pricing_signals.conftest import YEAR_END, claim_on
from tests.pricing_signals.test_sweep import claim_table_foreign_keys, claim_table_indexes, thousand_clusters

APP = Path(pricing_signals.__file__).parent
RAW_SQL = re.compile(r"\bcursor\s*[.(]|\.execute(many)?\(|copy_(expert|from|to)|mogrify|\.raw\(|RawSQL|\.extra\(")
SCHEMA_CHANGE = re.compile(r"^\s*(CREATE|DROP|ALTER|LOCK|TRUNCATE|REINDEX|CLUSTER|VACUUM)\b", re.IGNORECASE)


def test_only_the_sql_module_of_market_signals_runs_sql_of_its_own():
    found = [f"{path.relative_to(APP)}:{number}: {line.strip()}"
             for path in sorted(APP.rglob("*.py")) if path.name != "sql.py" and "migrations" not in path.parts
             for number, line in enumerate(path.read_text().splitlines(), start=1) if RAW_SQL.search(line)]

    assert found == []


@pytest.mark.django_db
def test_the_sweep_checks_and_dismissals_never_change_the_schema(pricing_manager):
    """Even a sweep that changes every claim (as the first one after a bulk import does) writes through the
    indexes: only the operator's step rebuilds them."""
    product = thousand_clusters(first_day=date(2000, 1, 1))
    indexes, keys = claim_table_indexes(), claim_table_foreign_keys()

    with CaptureQueriesContext(connection) as queries:
        tasks.nightly_signal_sweep.apply().get()
        claim = claim_on(product, CustomerFactory(), date(2026, 11, 20), "10.00")
        tasks.price_claim_check.apply(args=[claim.pk]).get()
        price_claim_dismiss(user=pricing_manager, claim=PriceClaim.objects.filter(product=product).first(),
                            reason="a misread quote")

    assert len(queries) > 10
    assert [query["sql"] for query in queries if SCHEMA_CHANGE.match(query["sql"])] == []
    assert PriceClaim.objects.get(pk=claim.pk).status == "corroborated"  # it joined the cluster of 31 Oct
    assert (claim_table_indexes(), claim_table_foreign_keys()) == (indexes, keys)


@pytest.mark.django_db
def test_the_operators_step_is_what_changes_the_schema():
    thousand_clusters()

    with CaptureQueriesContext(connection) as queries:
        signals_detect_rebuilding_indexes(as_of=YEAR_END)

    assert [query["sql"].split()[0].upper() for query in queries if SCHEMA_CHANGE.match(query["sql"])]


@pytest.mark.django_db
def test_claims_set_writes_each_claims_status_and_signal_batch_by_batch(seed, monkeypatch):
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get().pk
    ids = sorted(PriceClaim.objects.values_list("pk", flat=True))
    monkeypatch.setattr(sql, "UPDATE_BATCH", 2)  # three UPDATEs: 2 + 2 + 1 claims

    sql.claims_set(ids, ["corroborated", "pending", "unsubstantiated", "corroborated", "pending"],
                   [signal, None, None, signal, None])

    assert list(PriceClaim.objects.order_by("pk").values_list("status", "signal_id")) == [
        ("corroborated", signal), ("pending", None), ("unsubstantiated", None), ("corroborated", signal),
        ("pending", None)]
    sql.claims_set(ids[:1], ["pending"], [None])  # one claim, no signal
    assert PriceClaim.objects.filter(pk=ids[0]).values_list("status", "signal_id").get() == ("pending", None)


@pytest.mark.parametrize("dense_span", [10**9, 0])  # set by position in the id range, or joined on the id
def test_claims_set_leaves_the_claims_between_those_it_sets_as_they_were(seed, monkeypatch, dense_span):
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get().pk
    before = list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id"))
    ids = [pk for pk, _, _ in before]
    monkeypatch.setattr(sql, "DENSE_SPAN", dense_span)

    # The first, third and fifth claims, and not the two between them.
    sql.claims_set(ids[::2], ["unsubstantiated", "corroborated", "pending"], [None, signal, None])

    changed = [("unsubstantiated", None), ("corroborated", signal), ("pending", None)]
    expected = [(pk, *values) for pk, values in zip(ids[::2], changed, strict=True)]
    assert list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id")) == sorted(
        [*expected, *before[1::2]])


@pytest.mark.django_db
def test_claims_set_refuses_a_status_outside_the_choices_and_writes_nothing(seed):
    before = list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id"))
    ids = [pk for pk, _, _ in before]

    with pytest.raises(ValueError):
        sql.claims_set(ids[:2], ["pending", "pending'); DROP TABLE x; --"], [None, None])

    assert list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id")) == before


def test_claims_set_writes_every_status_of_the_models_choices():
    assert sorted(sql.WRITTEN_STATUSES) == sorted(PriceClaim.Status.values)


@pytest.mark.django_db
@pytest.mark.parametrize("code", [-1, len(sql.WRITTEN_STATUSES)])
def test_claims_set_coded_refuses_a_code_outside_the_statuses_and_writes_nothing(seed, code):
    before = list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id"))
    ids = np.array([pk for pk, _, _ in before[:2]], dtype=np.int64)

    with pytest.raises(ValueError):
        sql.claims_set_coded(ids, np.array([0, code], dtype=np.int16), np.zeros(2, dtype=np.int64))

    assert list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id")) == before
