"""Reads of buying groups (docs/buying-groups.md): what feeds a group agreement, and its split among members.

A group agreement's volume is its members' purchases in scope in their membership months
(`rebates.terms.group_lines`). Its rebate is paid to the group, or split among the members by their share of
each settlement period's volume (`RebateAgreement.group_payout`): what the ledger holds for the period's
months, divided by `rebates.engine.groups.split_by_share`, so the parts always sum to the period's total.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db.models import Sum

from customers.models import Customer, GroupMembership
from rebates.engine.groups import shares, split_by_share, volume_measured
from rebates.engine.periods import SettlementFrequency, add_months, month_of, period_start
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement
from rebates.terms import agreement_input, agreements_with_terms, group_lines


@dataclass(frozen=True)
class MemberPart:
    member: str  # the member's ERP code
    volume: Decimal  # its volume in the period (units or net amount, as the rule measures)
    share: Fraction  # its share of the period's volume
    amount: Decimal | None  # its part of the period's rebate; None when the group is paid

    @property
    def share_text(self) -> str:
        return f"{self.share.numerator}/{self.share.denominator}"


@dataclass(frozen=True)
class GroupPeriod:
    first: date
    last: date
    earned: Decimal  # what the ledger holds for the period's months
    parts: tuple[MemberPart, ...]


@dataclass(frozen=True)
class GroupStatement:
    split: bool
    measured_in: str  # "units" or "amount"
    # The members' purchases that feed the agreement: (month, member code, units, net amount), by month.
    lines: tuple[tuple[date, str, Decimal, Decimal], ...]
    periods: tuple[GroupPeriod, ...]


def group_statement(agreement: RebateAgreement, *, as_of: date) -> GroupStatement | None:
    """The group part of an agreement's statement up to `as_of`; None when its customer is not a buying group
    (or it has no rule). The caller has checked the user may see the agreement."""
    if not agreement.customer.is_group:
        return None
    found = list(agreements_with_terms([agreement.pk]).filter(rule__isnull=False))
    if not found:
        return None
    read = agreement_input(found[0])
    rule = read.terms.rule
    last = min(month_of(as_of), agreement.end_month)
    if agreement.terminated_on is not None:
        last = min(last, month_of(agreement.terminated_on))
    lines = [line for line in group_lines([read]).get(agreement.pk, []) if agreement.start_month <= line.month <= last]
    kind = rule.kind_class
    units = volume_measured(kind, rule, Decimal(1), Decimal(0)) == 1
    earned: dict[date, Decimal] = defaultdict(Decimal)
    for row in (LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS, concerns__lte=last)
                .values("concerns").annotate(amount=Sum("amount")).order_by()):
        earned[period_start(agreement.start_month, SettlementFrequency(agreement.settlement_frequency),
                            row["concerns"])] += row["amount"]
    volumes: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    frequency = SettlementFrequency(agreement.settlement_frequency)
    for line in lines:
        volumes[period_start(agreement.start_month, frequency, line.month)][line.product] += (
            line.quantity if units else line.amount)
    split = agreement.group_payout == RebateAgreement.GroupPayout.SPLIT
    periods = []
    for first in sorted(set(volumes) | set(earned)):
        period_last = min(add_months(first, frequency.months - 1), last)
        total = earned.get(first, Decimal("0.00"))
        members = dict(sorted(volumes.get(first, {}).items()))
        fractions = shares(members)
        amounts = split_by_share(total, members) if split else {}
        periods.append(GroupPeriod(first, period_last, total, tuple(
            MemberPart(code, members[code], fractions[code], amounts.get(code)) for code in members)))
    return GroupStatement(
        split=split, measured_in="units" if units else "amount",
        lines=tuple((line.month, line.product, line.quantity, line.amount) for line in lines),
        periods=tuple(periods))


@dataclass(frozen=True)
class MemberShare:
    agreement: str  # the group agreement's number
    group: str  # the group's ERP code
    first: date
    last: date
    volume: Decimal
    share: Fraction
    amount: Decimal | None  # None when the group agreement pays the group

    @property
    def share_text(self) -> str:
        return f"{self.share.numerator}/{self.share.denominator}"


def member_shares(customer: Customer, *, as_of: date) -> list[MemberShare]:
    """The customer's share of each agreement of the groups it was a member of, per settlement period up to
    `as_of`: its own volume, share and part (when split). The caller has checked the user may see the customer;
    nothing of the other members is returned."""
    groups = set(GroupMembership.objects.filter(member=customer).values_list("group_id", flat=True))
    result = []
    for agreement in (RebateAgreement.objects.filter(customer_id__in=groups, rule__isnull=False)
                      .select_related("customer").order_by("number")):
        statement = group_statement(agreement, as_of=as_of)
        for period in statement.periods if statement else ():
            for part in period.parts:
                if part.member == customer.code:
                    result.append(MemberShare(agreement.number, agreement.customer.code, period.first, period.last,
                                              part.volume, part.share, part.amount))
    return result



def group_members(group: Customer) -> list[GroupMembership]:
    """The group's memberships (with their members), by first month."""
    return list(GroupMembership.objects.filter(group=group).select_related("member").order_by("joined", "member__code"))


def customer_memberships(customer: Customer) -> list[GroupMembership]:
    """The customer's memberships of groups (with their groups), by first month."""
    return list(GroupMembership.objects.filter(member=customer).select_related("group").order_by("joined"))
