"""The exports' SQL: a read-only snapshot, rows streamed from a server-side cursor, and a job's progress
written through a connection of its own."""

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections

from rebates.models import ExportJob


def snapshot_read_only() -> None:
    """Make the transaction just begun (nothing read in it yet) a read-only view of one moment (REPEATABLE
    READ), without JIT: the sheets' reads are quick and compiling them would cost more than it saves.
    Returns None."""
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SET LOCAL jit = off")


def row_batches(queryset, size: int) -> Iterator[list[tuple]]:
    """The rows of a `values_list` queryset, yielded as lists of at most `size` plain tuples.

    Straight from a server-side (named) cursor as the database returns them (numerics are Decimals already,
    so no per-value conversion), fetched one batch ahead by a thread: the database computes the next batch
    while this one is written. Raises RuntimeError when the query's columns are not the queryset's fields.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        batches = _Prefetch(cursor.cursor, size)
        try:
            first = batches.next()
            # A named cursor describes its columns once it has fetched; the thread reads them before it
            # fetches again (a fetch under way clears them).
            names = batches.names
            if names != tuple(queryset._fields):
                raise RuntimeError(f"the sheet's query selects {names}, not {queryset._fields}")
            batch = first
            while batch:
                yield batch
                batch = batches.next()
        finally:
            batches.stop()


class _Prefetch:
    """Fetches batches from a database cursor in a thread, one batch ahead of the reader. The thread
    waits on the database with the GIL released, so writing and fetching overlap."""

    def __init__(self, cursor, size):
        self.queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.names: tuple[str, ...] | None = None  # the query's columns, read after the first fetch
        self.thread = threading.Thread(target=self._fetch, args=(cursor, size), daemon=True,
                                       name="accrual-sheet-prefetch")
        self.thread.start()

    def _fetch(self, cursor, size):
        try:
            while not self.stopping.is_set():
                batch = cursor.fetchmany(size)
                if self.names is None:
                    self.names = tuple(column.name for column in cursor.description or ())
                self.queue.put(batch)
                if not batch:
                    return
        except BaseException as error:  # handed to the reader, raised there
            self.queue.put(error)

    def next(self) -> list:
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self):
        self.stopping.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()


def sums_by_customer(per_agreement, agreements) -> list[tuple]:
    """Per-agreement figures summed per customer, by customer code, in one query.

    `per_agreement`: a `values` queryset of agreement_id, months, units, eligible, accrued, paid, forfeited,
    unpaid (one row per agreement); `agreements`: a `values` queryset of id, customer_id, customer_code,
    customer_name, manager_name, number_length, program_length, currency. Returns (customer_code,
    customer_name, manager_name, agreements, rows, units, eligible, accrued, paid, forfeited, unpaid,
    longest_number, longest_program, currency) per customer with entries; rows is the sum of the agreements'
    months; currency the customer's (its agreements book in it)."""
    figures_sql, figures_params = per_agreement.query.sql_with_params()
    agreements_sql, agreements_params = agreements.query.sql_with_params()
    sql = f"""
        SELECT a.customer_code, a.customer_name, a.manager_name, COUNT(*), SUM(f.months)::bigint,
               SUM(f.units), SUM(f.eligible), SUM(f.accrued), SUM(f.paid), SUM(f.forfeited), SUM(f.unpaid),
               MAX(a.number_length), MAX(a.program_length), a.currency
        FROM ({figures_sql}) AS f JOIN ({agreements_sql}) AS a ON a.id = f.agreement_id
        GROUP BY a.customer_id, a.customer_code, a.customer_name, a.manager_name, a.currency
        ORDER BY a.customer_code"""
    with connection.cursor() as cursor:
        cursor.execute(sql, (*figures_params, *agreements_params))
        return cursor.fetchall()


_PROGRESS_SQL = f"UPDATE {ExportJob._meta.db_table} SET rows_done = %s, rows_total = %s, progress = %s WHERE id = %s"


@contextmanager
def job_progress_writer():
    """Yields `write(job_id, done, total, percent)`, which stores an export job's progress where pollers see
    it at once: through a second connection, in autocommit, while the rows are read in a transaction of
    their own. The connection is closed on leaving."""
    side = connections.create_connection("default")

    def write(job_id: int, done: int, total: int, percent: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(_PROGRESS_SQL, [done, total, percent, job_id])

    try:
        yield write
    finally:
        side.close()
