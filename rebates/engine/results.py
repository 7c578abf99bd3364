"""What the engine returns for each month: the amounts a ledger should hold and the figures of the sheet."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class MonthResult:
    """One month of an agreement, as the ledger should hold it.

    - `quantity`, `eligible_amount`: the month's net units and net purchase amount in scope (as bought,
      even when the commitment rule keeps them from earning).
    - `accrual`: what the month's own volume earns at the rate in force.
    - `catch_up`: the rest of the rule's earnings booked this month: earlier months of the period restated
      at a newly reached tier, or back-earnings when the minimum is reached.
    - `bonus`: the launch bonus booked this month (its period-to-date amount less what earlier months booked).
    - `amount` = accrual + catch_up + bonus, exactly; `cumulative`: the period's total to date, which is
      the sum of `amount` over the period's months so far.
    - `rate`: the rule's rate in force (money per unit or percent, as the rule's rate unit says), 0 when the
      month earns nothing (minimum not reached, cap already reached, shortfall under the commitment rule);
      `bonus_rate`: the bonus percent in force.
    - `rebate_per_unit`: money per unit at those rates and the month's average price; None when a percent
      applies and the month has no units.
    - `shortfall`: bought less than the committed monthly quantity (flagged with the rule on or off).
    """

    month: date
    period_start: date
    quantity: Decimal
    eligible_amount: Decimal
    accrual: Decimal
    catch_up: Decimal
    bonus: Decimal
    amount: Decimal
    cumulative: Decimal
    rate: Decimal
    bonus_rate: Decimal
    rebate_per_unit: Decimal | None
    shortfall: bool


def is_shortfall(units: Decimal, committed: Decimal | None) -> bool:
    """A shortfall month: its net units (credit notes counted, negative) below the committed monthly quantity.
    The one definition: the engine flags its months with it and every page, API and sheet reads the booked
    months with it (docs/product.md, "Shortfall months")."""
    return committed is not None and committed > 0 and units < committed


_new = object.__new__


def month_result(month, period_start, quantity, eligible_amount, accrual, catch_up, bonus, amount, cumulative, rate,
                 bonus_rate, rebate_per_unit, shortfall) -> MonthResult:
    """MonthResult(...) with the same fields in the same order, built without the frozen dataclass's
    __init__ (one attribute at a time): the engine makes one for every month of every agreement."""
    result = _new(MonthResult)
    result.__dict__.update(
        month=month, period_start=period_start, quantity=quantity, eligible_amount=eligible_amount,
        accrual=accrual, catch_up=catch_up, bonus=bonus, amount=amount, cumulative=cumulative, rate=rate,
        bonus_rate=bonus_rate, rebate_per_unit=rebate_per_unit, shortfall=shortfall,
    )
    return result
