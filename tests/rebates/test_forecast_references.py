"""A forecast's references (accrual run, agreement) are kept by the database, checked once per statement: a
forecast naming a row that does not exist is refused with the whole statement, a row a forecast names cannot be
deleted in SQL, and deleting a run or an agreement through the application deletes its forecasts (migration
rebates/0047)."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from rebates.models import AccrualRun, AgreementForecast
from rebates.services.outlook import COLUMNS
from rebates.sql.bulk import insert_rows
from tests.factories import AgreementFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 3, 31)
MONTH = datetime.date(2026, 1, 1)


def run():
    return AccrualRun.objects.create(trigger=AccrualRun.Trigger.COMMAND, as_of=AS_OF)


def row(run_id, agreement_id):
    """A forecast as the nightly outlook stores it (COPY of COLUMNS)."""
    return (run_id, agreement_id, AS_OF, MONTH, datetime.date(2026, 12, 1), datetime.date(2027, 1, 1), 10, 100, 1, 1,
            1, "run-rate", "", "", None, None, None, None, None, None, None, None)


@pytest.mark.parametrize("missing", ["agreement", "run"])
def test_a_copy_naming_a_missing_row_is_refused_whole(missing):
    agreement, other, stored_run = AgreementFactory(), AgreementFactory(), run()
    bad = (stored_run.pk, agreement.pk + 1000) if missing == "agreement" else (987654, agreement.pk)
    with pytest.raises(IntegrityError, match=f"names an? {'accrual run' if missing == 'run' else missing}"):
        with transaction.atomic(), connection.wrap_database_errors:
            insert_rows(AgreementForecast, COLUMNS, [row(stored_run.pk, other.pk), row(*bad)])
    assert not AgreementForecast.objects.exists()


def test_an_update_naming_a_missing_agreement_is_refused():
    agreement, stored_run = AgreementFactory(), run()
    insert_rows(AgreementForecast, COLUMNS, [row(stored_run.pk, agreement.pk)])
    with pytest.raises(IntegrityError, match="names an agreement"):
        with transaction.atomic():
            AgreementForecast.objects.update(agreement_id=agreement.pk + 1000)
    assert AgreementForecast.objects.get().agreement_id == agreement.pk


def test_a_copy_naming_existing_rows_is_stored():
    first, second, stored_run = AgreementFactory(), AgreementFactory(), run()
    insert_rows(AgreementForecast, COLUMNS, [row(stored_run.pk, first.pk), row(stored_run.pk, second.pk)])
    assert set(AgreementForecast.objects.filter(run=stored_run).values_list("agreement_id", flat=True)) == {
        first.pk, second.pk}


@pytest.mark.parametrize("named", ["agreement", "run"])
def test_a_row_a_forecast_names_cannot_be_deleted_in_sql(named):
    agreement, stored_run = AgreementFactory(), run()
    insert_rows(AgreementForecast, COLUMNS, [row(stored_run.pk, agreement.pk)])
    target = agreement if named == "agreement" else stored_run
    with pytest.raises(IntegrityError, match="forecasts name"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {type(target)._meta.db_table} WHERE id = %s", [target.pk])
    assert type(target).objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("named", ["agreement", "run"])
def test_deleting_a_run_or_agreement_in_the_application_deletes_its_forecasts(named):
    agreement, kept, stored_run = AgreementFactory(), AgreementFactory(), run()
    insert_rows(AgreementForecast, COLUMNS, [row(stored_run.pk, agreement.pk), row(stored_run.pk, kept.pk)])
    (agreement if named == "agreement" else stored_run).delete()
    left = set(AgreementForecast.objects.values_list("agreement_id", flat=True))
    assert left == ({kept.pk} if named == "agreement" else set())
