"""Load what an Excel benchmark needs into the (benchmark's own) database; prints a JSON summary.

python benchmarks/_excel_data.py export ROWS   # the synthetic data and ROWS (agreement, month) ledger rows
python benchmarks/_excel_data.py import        # the synthetic data's customers and products, no purchases
"""

import json
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import django

CUSTOMERS, PRODUCTS, MONTHS = 10_000, 500, 24


def finance_user():
    """The user the benchmarks export and import as: a member of Finance."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from customers.roles import FINANCE

    user = get_user_model().objects.create(username="bench.finance", first_name="Bench", last_name="Finance")
    user.groups.add(Group.objects.get(name=FINANCE))
    return user


def ledger_load(rows, finance):
    """`rows` (agreement, month) groups: an accrual entry per month of each agreement's term (agreements in
    number order), and for every fourth agreement whose term has ended a paid annual settlement."""
    from config import clock
    from rebates.bulk import copy_lines, insert_rows
    from rebates.engine.periods import months_from
    from rebates.models import LedgerEntry, RebateAgreement, Settlement
    from rebates.services.accrual import BOOKING_COLUMNS

    now = clock.now()
    agreements = RebateAgreement.objects.order_by("number").values_list("pk", "start_month", "end_month")
    planned, earned = [], {}
    for pk, start, end in agreements.iterator(chunk_size=5000):
        for month in months_from(start, end):
            if len(planned) == rows:
                break
            cents = 150 + (pk * 7 + month.month * 13) % 4000
            planned.append((pk, month, Decimal(10 + pk % 90), Decimal(cents * 40) / 100, Decimal(cents) / 100))
            earned[pk] = earned.get(pk, Decimal("0")) + Decimal(cents) / 100
        if len(planned) == rows:
            break
    copy_lines(LedgerEntry, (*BOOKING_COLUMNS, "concerns"), (
        f"{pk},{month.isoformat()},accrual,{quantity},{eligible},{amount},,bench:{pk}:{month:%Y-%m},{now.isoformat()},"
        f"{month.isoformat()}\n"
        for pk, month, quantity, eligible, amount in planned))
    ended = [(pk, start, end) for pk, start, end in agreements if pk in earned and pk % 4 == 0
             and end < date(2026, 1, 1)]
    insert_rows(Settlement, ("agreement_id", "period_start", "period_end", "interim", "accrued_total", "adjustments",
                             "already_paid", "amount", "status", "approved_by_id", "approved_at", "paid_by_id",
                             "paid_on", "payment_reference", "created_at"),
                ((pk, start, end, False, earned[pk], Decimal("0"), Decimal("0"), earned[pk], "paid", finance.pk, now,
                  finance.pk, end + timedelta(days=45), f"CN-{pk}", now) for pk, start, end in ended))
    settlements = dict(Settlement.objects.values_list("agreement_id", "pk"))
    copy_lines(LedgerEntry, (*BOOKING_COLUMNS, "settlement_id", "concerns"), (
        f"{pk},{end.isoformat()},payout,0,0,{-earned[pk]},,bench:payout:{pk},{now.isoformat()},{settlements[pk]},"
        f"{end.isoformat()}\n"
        for pk, _start, end in ended))
    return len(planned), len(ended)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.db import connection

    from customers.roles import roles_sync
    from rebates.synthetic import generate_synthetic

    roles_sync()
    finance = finance_user()
    began = time.monotonic()
    what = sys.argv[1]
    if what == "export":
        rows = int(sys.argv[2])
        # 12-month terms: one agreement per 12 rows, and a few purchase lines (the export reads the ledger).
        summary = generate_synthetic(customers=CUSTOMERS, agreements=-(-rows // 12), products=PRODUCTS, months=MONTHS,
                                     lines=20_000)
        groups, paid = ledger_load(rows, finance)
        result = {"agreements": summary.agreements, "rows": groups, "paid_settlements": paid}
    else:
        summary = generate_synthetic(customers=CUSTOMERS, agreements=CUSTOMERS, products=PRODUCTS, months=MONTHS,
                                     lines=0)
        result = {"customers": summary.customers, "products": summary.products}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    result["seconds"] = time.monotonic() - began
    print(json.dumps(result))


if __name__ == "__main__":
    main()
