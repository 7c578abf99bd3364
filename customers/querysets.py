"""The one visibility rule: an account manager sees only their own customers, and what hangs off them."""

from django.db import models

VIEW_ALL_CUSTOMERS = "customers.view_all_customers"


class VisibleToQuerySet(models.QuerySet):
    """A queryset whose rows belong to a customer, reached through `customer_path`.

    `visible_to(user)` is the only way a page, an API view or an export gets its rows.
    """

    # The lookup from this model to Customer ("" on Customer itself).
    customer_path = "customer"

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_perm(VIEW_ALL_CUSTOMERS):
            return self
        prefix = f"{self.customer_path}__" if self.customer_path else ""
        return self.filter(**{f"{prefix}account_manager": user})


class CustomerQuerySet(VisibleToQuerySet):
    customer_path = ""

    def active(self):
        return self.filter(status="active")
