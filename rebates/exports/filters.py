"""The codes an accrual export may be filtered by, for the user who asks: the pickers' choices, and the check
that a typed code names something the user may see (a typo answers an error naming the filter, never an
empty sheet)."""

from customers.models import Customer
from rebates.exports.accrual_export import ExportError
from rebates.models import RebateAgreement, RebateProgram

# A picker lists at most this many codes; a code past them is still typed and checked.
PICKER_CHOICES = 2000


class ExportFilterError(ExportError):
    """A filter names nothing the user may export; `field` is the filter's name."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _visible_customers(user):
    return Customer.objects.visible_to(user)


def filter_choices(user) -> dict[str, list[tuple[str, str]]]:
    """Per filter, the (code, label) pairs the user may pick: their customers, agreements and managers, and
    every program; four queries, each capped at PICKER_CHOICES."""
    customers = _visible_customers(user).order_by("code").values_list("code", "name")[:PICKER_CHOICES]
    agreements = (RebateAgreement.objects.visible_to(user).order_by("number")
                  .values_list("number", "customer__name")[:PICKER_CHOICES])
    programs = RebateProgram.objects.order_by("code").values_list("code", "name")[:PICKER_CHOICES]
    managers = (_visible_customers(user).filter(account_manager__isnull=False)
                .order_by("account_manager__username")
                .values_list("account_manager__username", "account_manager__first_name",
                             "account_manager__last_name").distinct()[:PICKER_CHOICES])
    return {
        "customer": [(code, f"{code} · {name}") for code, name in customers],
        "agreement": [(number, f"{number} · {name}") for number, name in agreements],
        "program": [(code, f"{code} · {name}") for code, name in programs],
        "manager": [(username, f"{first} {last}".strip() or username) for username, first, last in managers],
    }


NAMES = {"customer": "customer code", "agreement": "agreement number", "program": "program code",
         "manager": "account manager"}


def check_filter_codes(user, filters: dict, *, among: str = "those you may export", echo: bool = True) -> None:
    """Raise ExportFilterError for the first filter whose code names nothing the user may see (a customer,
    an agreement, a program, a manager of one of their customers). One query per filter given."""
    checks = {
        "customer": lambda code: _visible_customers(user).filter(code=code),
        "agreement": lambda code: RebateAgreement.objects.visible_to(user).filter(number=code),
        # The selector reads a program filter of digits as the program's id.
        "program": lambda code: RebateProgram.objects.filter(**{"pk" if code.isdigit() else "code": code}),
        "manager": lambda code: _visible_customers(user).filter(account_manager__username=code),
    }
    for field, rows in checks.items():
        code = filters.get(field)
        if code in (None, ""):
            continue
        if rows(str(code)).exists():
            continue
        # echo=False for answers that go back into lists read by every role: the message names the filter only.
        named = f"{NAMES[field]} {code!r}" if echo else f"such {NAMES[field]}"
        raise ExportFilterError(field, f"No {named} among {among}; "
                                       f"pick one from the list.")
