"""Reads for the programs' pages, API and sheets; every customer row starts from `visible_to(user)`.

An account manager sees a program's effectiveness computed over their own customers only: the program's
customers and the comparison group are both the customers they manage (docs/programs.md).

Money is read in the reporting currency (docs/currencies.md): each customer's amounts of a month, and the
ledger's sums of a month and currency, convert at that month's rate before anything is added, so the groups
compare customers of different currencies alike; a missing rate is named, never guessed.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.http import Http404

from customers.models import Customer
from programs.effectiveness import CustomerFigures, Effectiveness, RebateCost, effectiveness
from programs.models import WhatIfJob
from rebates.currencies import missing_rate_reason
from rebates.engine.money import ZERO, ZERO_MONEY
from rebates.engine.periods import add_months
from rebates.engine.words import money
from rebates.models import LedgerEntry, Product, ProductLine, PurchaseLine, RebateAgreement, RebateProgram
from rebates.reporting import RateBook, RateUsed

# The longest period measured: a year, so that it never overlaps its own year before.
MAX_PERIOD_MONTHS = 12


class PeriodError(ValueError):
    def __init__(self, message, field):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    start: date  # first month, first of the month
    end: date  # last month, first of the month

    @property
    def year_before(self) -> "Period":
        return Period(add_months(self.start, -12), add_months(self.end, -12))

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def period_check(start: date, end: date) -> Period:
    """The period from `start` to `end` (months); PeriodError naming the field when it is out of order or
    longer than a year."""
    if end < start:
        raise PeriodError("The period ends before it starts.", "to")
    period = Period(start, end)
    if period.months > MAX_PERIOD_MONTHS:
        raise PeriodError(f"A period is at most {MAX_PERIOD_MONTHS} months, so that it never overlaps its year "
                          f"before.", "to")
    return period


def past_period_check(period: Period, today: date) -> Period:
    """The period, if it has passed: a what-if replays the actual lines of complete months only (PeriodError
    naming `to` otherwise)."""
    last = add_months(date(today.year, today.month, 1), -1)
    if period.end > last:
        raise PeriodError(f"A what-if replays a past period: end it by {last:%Y-%m}, the last complete month.",
                          "to")
    return period


def default_period(today: date) -> Period:
    """This year's months up to the last complete one (in January: last year's twelve)."""
    last = add_months(date(today.year, today.month, 1), -1)
    return Period(date(last.year, 1, 1), last)


def programs_visible(*, user):
    """Every program, with the count of its agreements the user may see (not drafts)."""
    seen = RebateAgreement.objects.visible_to(user).exclude(status=RebateAgreement.Status.DRAFT)
    counts = dict(seen.values("program_id").annotate(n=Count("pk")).values_list("program_id", "n"))
    return [(program, counts.get(program.pk, 0)) for program in RebateProgram.objects.order_by("name")]


def program_find(*, code: str) -> RebateProgram | None:
    """A program by code, or None (programs are not a customer's: every role that reads programs sees each)."""
    return RebateProgram.objects.filter(code=code).first()


def program_get(*, code: str) -> RebateProgram:
    """A program by code; 404 when there is none."""
    program = program_find(code=code)
    if program is None:
        raise Http404("No such program.")
    return program


def program_agreements(*, user, program, period: Period):
    """The program's agreements the user may see whose term meets the period, drafts aside."""
    return _in_period(RebateAgreement.objects.visible_to(user).filter(program=program), period)


def _in_period(agreements, period: Period):
    return (agreements.filter(start_month__lte=period.end, end_month__gte=period.start)
            .exclude(status=RebateAgreement.Status.DRAFT))


def focus_lines(agreements) -> list[ProductLine]:
    """The product lines the agreements cover: the lines they name and the lines of the products they name."""
    named = RebateAgreement.product_lines.through.objects.filter(rebateagreement__in=agreements)
    products = Product.objects.filter(agreements__in=agreements)
    return list(ProductLine.objects.filter(Q(pk__in=named.values("productline_id"))
                                           | Q(pk__in=products.values("product_line_id"))).order_by("name"))


def comparison_customers(*, user, program, period: Period, program_customer_ids):
    """Customers the user may see of the program customers' segments with no agreement of the program whose
    term meets the period (whoever manages it)."""
    segments = Customer.objects.filter(pk__in=program_customer_ids, segment__isnull=False).values("segment_id")
    in_program = _in_period(RebateAgreement.objects.filter(program=program), period).values("customer_id")
    return Customer.objects.visible_to(user).filter(segment_id__in=segments).exclude(pk__in=in_program)


def purchase_figures(customer_ids, *, line_ids, period: Period, rates: RateBook) -> dict[int, CustomerFigures]:
    """Per customer, its purchases in the period and its year before: focus lines' units and amount, and the
    amount of everything. One aggregate query, by month: each month's amount of a customer (its focus lines and
    the rest apart) converts from the customer's currency into the reporting currency at that month's rate
    (`rates`, half-up to the cent) before it is added; a month without its rate makes the customer's amounts
    of that period None (units stay units)."""
    before = period.year_before
    now = ExpressionWrapper(Q(month__gte=period.start), output_field=BooleanField())
    focus = ExpressionWrapper(Q(product__product_line_id__in=line_ids), output_field=BooleanField())
    rows = (PurchaseLine.objects.filter(customer_id__in=customer_ids)
            .filter(Q(month__gte=before.start, month__lte=before.end)
                    | Q(month__gte=period.start, month__lte=period.end))
            .annotate(now=now, focus=focus).values("customer_id", "customer__currency", "month", "now", "focus")
            .annotate(units=Sum("quantity"), amount=Sum("amount")).order_by("customer_id", "month", "focus"))
    sums: dict[int, dict[str, object]] = {
        pk: {"units_now": ZERO, "units_before": ZERO, "focus_now": ZERO_MONEY, "focus_before": ZERO_MONEY,
             "all_now": ZERO_MONEY, "all_before": ZERO_MONEY} for pk in customer_ids}
    for row in rows:
        when = "now" if row["now"] else "before"
        found = sums[row["customer_id"]]
        amount = rates.convert(row["amount"], row["customer__currency"] or settings.DEFAULT_CURRENCY, row["month"])
        found[f"all_{when}"] = _plus(found[f"all_{when}"], amount)
        if row["focus"]:
            found[f"units_{when}"] += row["units"]
            found[f"focus_{when}"] = _plus(found[f"focus_{when}"], amount)
    return {pk: CustomerFigures(**figures) for pk, figures in sums.items()}


def _plus(total, amount):
    return None if total is None or amount is None else total + amount


def rebate_cost(agreements, period: Period, rates: RateBook) -> RebateCost:
    """What the agreements' ledger holds for the period's months: accrued, paid and forfeited (positive), in
    the reporting currency. Read per kind, month and currency of the agreements' customers, each sum converted
    at its month's rate (`rates`, half-up to the cent) before the months are added: never a sum across
    currencies. A figure one of whose months lacks its rate is None."""
    rows = (LedgerEntry.objects.filter(agreement__in=agreements, period__gte=period.start, period__lte=period.end)
            .values("kind", "period", "agreement__customer__currency").annotate(total=Sum("amount"))
            .order_by("period", "agreement__customer__currency", "kind"))
    kinds = LedgerEntry.Kind
    sums = {kind: ZERO_MONEY for kind in kinds.values}
    for row in rows:
        currency = row["agreement__customer__currency"] or settings.DEFAULT_CURRENCY
        sums[row["kind"]] = _plus(sums.get(row["kind"], ZERO_MONEY),
                                  rates.convert(row["total"], currency, row["period"]))
    accrued = ZERO_MONEY
    for kind in (kinds.ACCRUAL, kinds.CATCH_UP, kinds.ADJUSTMENT):
        accrued = _plus(accrued, sums[kind])
    return RebateCost(accrued=accrued, paid=None if sums[kinds.PAYOUT] is None else -sums[kinds.PAYOUT] + ZERO_MONEY,
                      forfeited=None if sums[kinds.FORFEITURE] is None else -sums[kinds.FORFEITURE] + ZERO_MONEY)


@dataclass(frozen=True)
class EffectivenessReport:
    program: RebateProgram
    period: Period
    measures: Effectiveness
    focus_lines: tuple[str, ...]
    segments: tuple[str, ...]
    currency: str = ""  # the reporting currency every money figure is in
    rates: tuple[RateUsed, ...] = ()  # the rates used, and lacked (rate None), by month and currency

    @property
    def missing(self) -> tuple[RateUsed, ...]:
        return tuple(rate for rate in self.rates if rate.rate is None)

    @property
    def per_dollar_words(self) -> str:
        return money(self.measures.cost_per_incremental_dollar, 4, self.currency or settings.REPORTING_CURRENCY)

    @property
    def rates_words(self) -> tuple[str, ...]:
        """Each rate used, "1 EUR = 1.085 USD (2026-03)", and each missing one named."""
        return tuple(missing_rate_reason(rate.currency, rate.to_currency, rate.month) if rate.rate is None
                     else f"1 {rate.currency} = {rate.rate.normalize():f} {rate.to_currency} ({rate.month:%Y-%m})"
                     for rate in self.rates)

    @property
    def missing_words(self) -> tuple[str, ...]:
        return tuple(missing_rate_reason(rate.currency, rate.to_currency, rate.month) for rate in self.missing)


def effectiveness_read(*, user, program, period: Period) -> EffectivenessReport:
    """The program's effectiveness in the period for what the user may see (see the module's docstring)."""
    agreements = program_agreements(user=user, program=program, period=period)
    program_ids = sorted(set(agreements.values_list("customer_id", flat=True)))
    lines = focus_lines(agreements)
    line_ids = [line.pk for line in lines]
    comparison = list(comparison_customers(user=user, program=program, period=period, program_customer_ids=program_ids)
                      .order_by("pk").values_list("pk", flat=True))
    customers = program_ids + comparison
    currencies = set(Customer.objects.filter(pk__in=customers).values_list("currency", flat=True).distinct())
    rates = RateBook({code or settings.DEFAULT_CURRENCY for code in currencies})
    figures = purchase_figures(customers, line_ids=line_ids, period=period, rates=rates)
    segments = tuple(Customer.objects.filter(pk__in=program_ids, segment__isnull=False)
                     .values_list("segment__name", flat=True).distinct().order_by("segment__name"))
    names = tuple(line.name for line in lines)
    measures = effectiveness([figures[pk] for pk in program_ids], [figures[pk] for pk in comparison],
                             rebate_cost(agreements, period, rates), names)
    return EffectivenessReport(program, period, measures, names, segments, rates.currency, tuple(rates.rates))


def whatif_job_get(*, user, pk) -> WhatIfJob:
    """A what-if the user asked for; 404 for anyone else's."""
    job = WhatIfJob.objects.select_related("program").filter(pk=pk, requested_by=user).first()
    if job is None:
        raise Http404("No such what-if.")
    return job


def whatif_jobs_recent(*, user, program=None, limit=10):
    jobs = WhatIfJob.objects.select_related("program").filter(requested_by=user)
    if program is not None:
        jobs = jobs.filter(program=program)
    return list(jobs.order_by("-created_at", "-pk")[:limit])



@dataclass(frozen=True)
class EnrollmentView:
    """A segment-wide program as its page shows it: the template (None for a program of 1:1 deals only), its
    rule in words, the target segments, and the enrolled agreements the user may see."""

    template: object
    words: str
    segments: list
    agreements: list


def program_enrollment_read(*, user, program) -> EnrollmentView:
    """The program's template terms and its enrolled agreements the user may see (their customers only for an
    account manager), in a few queries however many."""
    from rebates.services.enrollment import template_in_words, template_of

    template = template_of(program)
    agreements = list(RebateAgreement.objects.visible_to(user).filter(program=program, enrolled=True)
                      .select_related("customer", "customer__segment", "rule")
                      .order_by("customer__name", "start_month", "number"))
    return EnrollmentView(template=template, words=template_in_words(template) if template else "",
                          segments=list(program.target_segments.order_by("name")), agreements=agreements)
