from django.db import models, transaction
from django.db.models import Q, Sum

from customers.querysets import VisibleToQuerySet
from rebates.scope import covering_q

# The synthetic book (rebates.synthetic, for benchmarks and load tests) names its rows with this prefix: its
# products are test items, never offered for a real customer's claim.
SYNTHETIC_PREFIX = "BK-"


class ProductQuerySet(models.QuerySet):
    def offered(self, *, on, customer=None):
        """The products a price claim may name on day `on`: none discontinued by then (its discontinue date
        is on or before `on`), and no test item (a product of the synthetic book, SKU starting "BK-") unless
        the customer is itself one of the synthetic book's."""
        products = self.filter(Q(discontinued_on__isnull=True) | Q(discontinued_on__gt=on))
        if customer is None or not customer.code.startswith(SYNTHETIC_PREFIX):
            products = products.exclude(sku__startswith=SYNTHETIC_PREFIX)
        return products


class AgreementQuerySet(VisibleToQuerySet):
    customer_path = "customer"

    def active(self):
        return self.filter(status="active")

    def covering(self, product=None, month=None, *, product_id=None, product_line_id=None):
        """Agreements covering the product (a Product, or its id and product line id) in `month`, or in some
        month of their term when None: the scope rule of rebates.scope."""
        if product is not None:
            product_id, product_line_id = product.pk, product.product_line_id
        return self.filter(covering_q(product_ids=[product_id], product_line_ids=[product_line_id], month=month))


class PurchaseLineQuerySet(VisibleToQuerySet):
    customer_path = "customer"


class LedgerEntryQuerySet(VisibleToQuerySet):
    """Entries are append-only: bulk updates and deletes are refused here as in the database."""

    customer_path = "agreement__customer"

    def update(self, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be changed; book a correcting entry instead.")

    def booked_by_run_and_currency(self) -> dict[int, dict]:
        """{run id: {currency: amount}} of these entries that a run booked: summed in the database by the
        currency stamped on each entry (without joining the agreements); an entry written without it counts
        in its agreement's customer's currency."""
        entries = self.filter(accrual_run_id__isnull=False).order_by()
        rows = [*entries.filter(currency__isnull=False).values_list("accrual_run_id", "currency")
                .annotate(total=Sum("amount")),
                *entries.filter(currency__isnull=True).values_list("accrual_run_id", "agreement__customer__currency")
                .annotate(total=Sum("amount"))]
        booked: dict[int, dict] = {}
        for run_id, code, total in rows:
            held = booked.setdefault(run_id, {})
            held[code] = held[code] + total if code in held else total
        return booked

    def bulk_create(self, objs, *args, **kwargs):
        from rebates.models import stamp_entries
        from rebates.period_locks import booking_months

        # As LedgerEntry.save: each entry's `period` is the month it is for; a locked one books in the next open.
        objs = list(objs)
        with transaction.atomic(using=self.db):
            booked_in = booking_months()
            for entry in objs:
                entry.concerns = entry.concerns or entry.period
                entry.period = booked_in(entry.concerns)
            stamp_entries(objs)
            return super().bulk_create(objs, *args, **kwargs)

    def delete(self):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; book a correcting entry instead.")

    def _raw_delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; book a correcting entry instead.")


class SettlementQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"

    def approvable_by(self, user):
        """The settlements `user` may approve now: drafts, and those awaiting a second approval that another
        person gave the first."""
        return self.filter(Q(status="draft") | (Q(status="approving") & ~Q(approved_by=user)))

    def payable_by(self, user):
        """The approved settlements `user` may pay now: those they approved neither time (four eyes)."""
        return self.filter(status="approved").exclude(approved_by=user).exclude(second_approved_by=user)


class ContractPriceQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a booked ledger entry."""


class AgreementBalanceQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"


class AgreementForecastQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"
