from django.db import models

from customers.querysets import VisibleToQuerySet


class AgreementQuerySet(VisibleToQuerySet):
    customer_path = "customer"

    def active(self):
        return self.filter(status="active")

    def covering(self, product):
        """Agreements whose scope names the product or its product line."""
        return self.filter(
            models.Q(products=product) | models.Q(product_lines=product.product_line_id)
        ).distinct()


class PurchaseLineQuerySet(VisibleToQuerySet):
    customer_path = "customer"


class LedgerEntryQuerySet(VisibleToQuerySet):
    """Entries are append-only: bulk updates and deletes are refused here as in the database."""

    customer_path = "agreement__customer"

    def update(self, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be changed; book a correcting entry instead.")

    def delete(self):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; book a correcting entry instead.")

    def _raw_delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; book a correcting entry instead.")


class SettlementQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"


class ContractPriceQuerySet(VisibleToQuerySet):
    customer_path = "agreement__customer"


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a booked ledger entry."""
