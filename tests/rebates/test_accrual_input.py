"""The run's own table (rebates.sql.terms.scope_month_store): a full run's one-pass read of the lines holds exactly
the rows the agreements' purchases in scope give when read as every other path reads them (`window_month_rows`):
the customer's own lines and a buying group's members' lines in their membership months, months before the term
for a rule measured against last year only."""

import datetime

import pytest
from django.db import transaction

from customers.models import GroupMembership
from rebates.models import RebateAgreement, RebateRule
from rebates.sql import terms as sql
from rebates.synthetic import generate_synthetic

pytestmark = pytest.mark.django_db

RUN_ID = 987_654


@pytest.fixture
def book():
    generate_synthetic(customers=60, agreements=240, products=20, lines=6000, seed=19, start="2025-01")
    return sorted(RebateAgreement.objects.values_list("pk", flat=True))


def _normalised(rows):
    return sorted((int(pk), month, quantity, amount) for pk, month, quantity, amount in rows)


def _read(agreements, earliest):
    """The agreements' purchases in scope per month read in each one's own window: its term, from `earliest` on
    for a rule measured against last year."""
    last_year = set(RebateRule.objects.filter(baseline="last_year").values_list("agreement_id", flat=True))
    terms = RebateAgreement.objects.filter(pk__in=agreements).values_list("pk", "start_month", "end_month")
    firsts = {pk: earliest if pk in last_year else max(start, earliest) for pk, start, _ in terms}
    return sql.window_month_rows(firsts, latest=max(end for _, _, end in terms))


@pytest.mark.parametrize("earliest", [datetime.date(2024, 1, 1), datetime.date(2025, 7, 1)])
def test_the_run_table_holds_what_the_lines_give_every_agreement(book, earliest):
    last_year = set(RebateRule.objects.filter(baseline="last_year").values_list("agreement_id", flat=True))
    groups = set(RebateAgreement.objects.filter(
        customer_id__in=GroupMembership.objects.values("group_id")).values_list("pk", flat=True))
    assert last_year and groups  # the book has both kinds of agreement this read treats apart

    sql.scope_month_store(run_id=RUN_ID, agreement_ids=book, earliest=earliest)
    try:
        stored = _normalised(sql.scope_month_stored_rows(run_id=RUN_ID, agreement_ids=book))
    finally:
        sql.scope_month_drop(run_id=RUN_ID)
    read = _normalised(_read(book, earliest))

    assert stored == read
    with_rows = {pk for pk, *_ in stored}
    assert with_rows & last_year and with_rows & groups
    starts = dict(RebateAgreement.objects.values_list("pk", "start_month"))
    # Months before the term: only a rule measured against last year has them, from `earliest` on.
    before = {pk for pk, month, *_ in stored if month < starts[pk]}
    assert before and before <= last_year
    assert min(month for _, month, *_ in stored) >= earliest


@pytest.mark.django_db(transaction=True)
def test_the_run_table_filled_by_two_connections_holds_the_same_rows(monkeypatch):
    # Committed, so the second connection reads the same book; half the agreements each.
    generate_synthetic(customers=60, agreements=240, products=20, lines=6000, seed=19, start="2025-01")
    agreements = sorted(RebateAgreement.objects.values_list("pk", flat=True))
    earliest = datetime.date(2024, 1, 1)
    read = _normalised(_read(agreements, earliest))

    monkeypatch.setattr(sql, "STORE_SPLIT_MIN", 2)
    try:
        # Twice: a preparation delivered again finds the table of the first and replaces it.
        for _ in range(2):
            with transaction.atomic():
                sql.scope_month_store(run_id=RUN_ID, agreement_ids=agreements, earliest=earliest)
                stored = _normalised(sql.scope_month_stored_rows(run_id=RUN_ID, agreement_ids=agreements))
            assert stored == read
        # A preparation rolled back leaves the second connection's half; the next one starts afresh.
        with pytest.raises(RuntimeError), transaction.atomic():
            sql.scope_month_store(run_id=RUN_ID, agreement_ids=agreements, earliest=earliest)
            raise RuntimeError("preparation failed")
        with transaction.atomic():
            sql.scope_month_store(run_id=RUN_ID, agreement_ids=agreements, earliest=earliest)
        assert _normalised(sql.scope_month_stored_rows(run_id=RUN_ID, agreement_ids=agreements)) == read
    finally:
        sql.scope_month_drop(run_id=RUN_ID)
    assert not sql.run_input_exists(run_id=RUN_ID)
