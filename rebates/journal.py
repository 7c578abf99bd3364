"""The general-ledger journal finance posts each month, from the accrual ledger (docs/finance-reports.md).

Each ledger entry of a month posts two lines of equal amount, by its kind, on the accounts its agreement's
program names (`RebateProgram.gl_*`, with the program's cost centre):
- earned (accrual, catch-up, adjustment) of `a` >= 0: debit rebate expense, credit accrued rebate liability;
  a negative one (a credit note lowered what was earned) posts the other way round;
- payout of -p: debit the liability, credit the credit note account (the credit note pays the customer);
- forfeiture of -f: debit the liability, credit rebate expense (the expense is reversed).
So every month's journal balances (debits = credits), and the liability accounts' credits less debits equal
the month's ledger total to the cent. Every read starts from `visible_to(user)`.

Lines are kept apart per currency (an agreement books in its customer's) and carry their amounts in the
reporting currency too (rebates.reporting): each sum converts once, before it is posted, so both sides of a
posting convert alike and the journal balances and reconciles in the reporting currency as well.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum, Value

from rebates.models import EARNED_KINDS, LedgerEntry
from rebates.reporting import RateUsed, in_reporting_currency
from rebates.sql import journal as sql

ZERO = Decimal("0.00")
EXPENSE, LIABILITY, CREDIT_NOTES = "expense", "liability", "credit_notes"
ROLES = {EXPENSE: "Rebate expense", LIABILITY: "Accrued rebate liability", CREDIT_NOTES: "Credit notes"}
KIND_WORDS = dict(LedgerEntry.Kind.choices)


@dataclass(frozen=True)
class Posting:
    """One side of an entry's posting: the account's role, debit or credit, and the amount (never negative)."""

    role: str
    debit: Decimal
    credit: Decimal


def postings(kind: str, amount: Decimal) -> tuple[Posting, Posting]:
    """The two lines a ledger entry of `kind` and `amount` posts (module docstring); pure."""
    size = abs(amount)
    if kind in EARNED_KINDS:
        if amount >= 0:
            return Posting(EXPENSE, size, ZERO), Posting(LIABILITY, ZERO, size)
        return Posting(LIABILITY, size, ZERO), Posting(EXPENSE, ZERO, size)
    if kind == LedgerEntry.Kind.PAYOUT:
        return Posting(LIABILITY, size, ZERO), Posting(CREDIT_NOTES, ZERO, size)
    if kind == LedgerEntry.Kind.FORFEITURE:
        return Posting(LIABILITY, size, ZERO), Posting(EXPENSE, ZERO, size)
    raise ValueError(f"kind: no posting rule for {kind!r}")


@dataclass(frozen=True)
class JournalLine:
    """One line of a month's journal: the account and cost centre, what it is for, its debit and credit, and
    how many ledger entries it sums."""

    month: date
    account: str
    role: str
    cost_centre: str
    kind: str
    debit: Decimal
    credit: Decimal
    entries: int
    # The currency of the agreements it sums, and its debit and credit in the reporting currency (None when
    # a rate it needs is missing).
    currency: str = ""
    reporting_debit: Decimal | None = None
    reporting_credit: Decimal | None = None

    @property
    def role_name(self) -> str:
        return ROLES[self.role]

    @property
    def kind_name(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Journal:
    """The journal of the months from `first` to `last`: its lines and the checks finance signs off."""

    first: date
    last: date
    lines: list[JournalLine]
    ledger_total: Decimal  # the sum of the months' ledger entries
    reporting_currency: str = ""
    rates: tuple[RateUsed, ...] = ()  # the rates used into the reporting currency (missing ones with rate None)

    @property
    def complete(self) -> bool:
        """Every line has its reporting amounts: no rate is missing."""
        return all(rate.rate is not None for rate in self.rates)

    @property
    def reporting_debit(self) -> Decimal | None:
        return sum((line.reporting_debit for line in self.lines), ZERO) if self.complete else None

    @property
    def reporting_credit(self) -> Decimal | None:
        return sum((line.reporting_credit for line in self.lines), ZERO) if self.complete else None

    @property
    def debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def liability_change(self) -> Decimal:
        """Credits less debits on the liability accounts: what the months added to the unpaid rebate."""
        return sum((line.credit - line.debit for line in self.lines if line.role == LIABILITY), ZERO)

    def _by_currency(self, figure) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.currency] = totals.get(line.currency, ZERO) + figure(line)
        return totals

    @property
    def debit_by_currency(self) -> dict[str, Decimal]:
        """The debits per currency of the agreements (the page never adds up different currencies)."""
        return self._by_currency(lambda line: line.debit)

    @property
    def credit_by_currency(self) -> dict[str, Decimal]:
        return self._by_currency(lambda line: line.credit)

    @property
    def liability_change_by_currency(self) -> dict[str, Decimal]:
        return self._by_currency(lambda line: line.credit - line.debit if line.role == LIABILITY else ZERO)

    @property
    def currencies(self) -> list[str]:
        return sorted({line.currency for line in self.lines})

    @property
    def balanced(self) -> bool:
        return self.debit == self.credit

    @property
    def reconciles(self) -> bool:
        """The liability's change equals the ledger's total for the months, to the cent."""
        return self.liability_change == self.ledger_total


def journal(*, user, first: date, last: date) -> Journal:
    """The journal of the months `first`..`last` (first-of-month dates) over the entries the user may see:
    one statement sums the ledger per month, kind, program, currency and sign beside the program's accounts, and
    each sum (not each entry) is posted in Python by `postings`. Lines by month, account, cost centre and kind.

    An entry posts to the program and in the currency it carries, those of its agreement when it was booked
    (an agreement moved to another program posts its later entries to the new program; the months already
    journalled stay as they were posted)."""
    entries = LedgerEntry.objects.visible_to(user).filter(period__gte=first, period__lte=last).order_by()
    # Each entry posts where it was booked (its own program and currency); one booked without them (NULL) posts
    # where its agreement is now, read through the agreement (the ledger's partial index finds those, if any).
    # The first sums are of every entry, unfiltered: the sums of a NULL key, only of such entries, are dropped
    # by the statement. The entries below zero post the other way round: summed apart, from the ledger's partial
    # index of them (a few), rather than as a key or a filtered sum over every entry.
    sums = []
    for where, program, currency in ((Q(), F("program_id"), F("currency")),
                                     (Q(program__isnull=True) | Q(currency__isnull=True), F("agreement__program_id"),
                                      F("agreement__customer__currency"))):
        keyed = entries.filter(where).values("period", "kind", posts_program=program, posts_currency=currency)
        every = keyed.annotate(below=Value(ZERO, output_field=DecimalField()), below_entries=Value(0),
                               total=Sum("amount"), entries=Count("*"))
        below = keyed.filter(amount__lt=0).annotate(below=Sum("amount"), below_entries=Count("*"),
                                                    total=Value(ZERO, output_field=DecimalField()), entries=Value(0))
        sums += [part.values_list("period", "kind", "posts_program", "posts_currency", "below", "below_entries",
                                  "total", "entries") for part in (every, below)]
    rows = sql.journal_rows(sums=sums[0].union(*sums[1:], all=True).query.sql_with_params())
    reported = in_reporting_currency((row[0], row[8], row[2]) for row in rows)
    summed: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, 0, ZERO, ZERO])
    total = ZERO
    for (period, kind, amount, count, expense, liability, credit_notes, centre, currency), in_reporting in zip(
            rows, reported.amounts, strict=True):
        accounts = {EXPENSE: expense, LIABILITY: liability, CREDIT_NOTES: credit_notes}
        total += amount
        reporting = postings(kind, in_reporting if in_reporting is not None else ZERO)
        for posting, reporting_posting in zip(postings(kind, amount), reporting, strict=True):
            line = summed[(period, accounts[posting.role], posting.role, centre, kind, currency)]
            line[0] += posting.debit
            line[1] += posting.credit
            line[2] += count
            line[3] += reporting_posting.debit
            line[4] += reporting_posting.credit
    missing = {(rate.currency, rate.month) for rate in reported.missing}
    lines = [JournalLine(month, account, role, cost_centre, kind, debit, credit, count, currency,
                         *((None, None) if (currency, month) in missing else (reporting_debit, reporting_credit)))
             for (month, account, role, cost_centre, kind, currency),
             (debit, credit, count, reporting_debit, reporting_credit) in summed.items()]
    kinds = list(KIND_WORDS)
    lines.sort(key=lambda line: (line.month, kinds.index(line.kind) if line.kind in kinds else 99,
                                 line.debit == 0, line.account, line.cost_centre, line.currency))
    return Journal(first, last, lines, total, reported.currency, tuple(reported.rates))
