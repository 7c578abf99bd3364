from customers.querysets import VisibleToQuerySet


class PriceClaimQuerySet(VisibleToQuerySet):
    customer_path = "customer"
