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
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement, Settlement, SettlementPart
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
    # What the period's paid settlements paid the member: its own credit notes.
    payments: tuple["MemberPayment", ...] = ()

    @property
    def share_text(self) -> str:
        return f"{self.share.numerator}/{self.share.denominator}"


@dataclass(frozen=True)
class MemberPayment:
    amount: Decimal
    payment_reference: str  # the member's credit note number
    paid_on: date
    through: date  # the last month the settlement pays (an interim payment's, or the period's)
    interim: bool


def member_shares(customer: Customer, *, as_of: date) -> list[MemberShare]:
    """The customer's share of each agreement of the groups it was a member of, per settlement period up to
    `as_of`: its own volume, share and part (when split). The caller has checked the user may see the customer;
    nothing of the other members is returned."""
    groups = set(GroupMembership.objects.filter(member=customer).values_list("group_id", flat=True))
    if not groups:
        return []
    paid: dict[tuple[str, date], list[MemberPayment]] = defaultdict(list)
    for part in reversed(member_payouts(customer)):
        settlement = part.settlement
        paid[settlement.agreement.number, settlement.period_start].append(MemberPayment(
            part.amount, part.payment_reference, settlement.paid_on, settlement.period_end, settlement.interim))
    result = []
    for agreement in (RebateAgreement.objects.filter(customer_id__in=groups, rule__isnull=False)
                      .select_related("customer").order_by("number")):
        statement = group_statement(agreement, as_of=as_of)
        for period in statement.periods if statement else ():
            for part in period.parts:
                if part.member == customer.code:
                    result.append(MemberShare(agreement.number, agreement.customer.code, period.first, period.last,
                                              part.volume, part.share, part.amount,
                                              tuple(paid.get((agreement.number, period.first), ()))))
    return result


# --- a split settlement paid to each member ------------------------------------------------------------


@dataclass(frozen=True)
class PayoutPart:
    """A member's part of a settlement of a split group agreement: stored once the settlement is paid (with its
    credit note), computed before."""

    member_id: int
    member: str  # the member's ERP code
    name: str
    volume: Decimal  # its volume in the settlement's months (units or net amount, as the rule measures)
    total_volume: Decimal  # every member's volume in those months
    amount: Decimal  # what the settlement pays it
    payment_reference: str = ""  # its credit note number, once paid

    @property
    def share(self) -> Fraction:
        if self.total_volume <= 0:
            return Fraction(0)
        return Fraction(max(self.volume, Decimal(0))) / Fraction(self.total_volume)

    @property
    def share_text(self) -> str:
        return f"{self.share.numerator}/{self.share.denominator}"


def pays_members(agreement: RebateAgreement) -> bool:
    """Whether the agreement's settlements are paid to each member (a group agreement split among them)."""
    return agreement.group_payout == RebateAgreement.GroupPayout.SPLIT and agreement.customer.is_group


def settlement_parts(settlement: Settlement) -> list[PayoutPart]:
    """Each member's part of the settlement: the stored parts of a paid one, those `settlement_split` gives
    for one not paid yet; empty when the settlement pays the agreement's customer."""
    if not pays_members(settlement.agreement):
        return []
    if settlement.status == Settlement.Status.PAID:
        return [PayoutPart(p.member_id, p.member.code, p.member.name, p.volume, p.total_volume, p.amount,
                           p.payment_reference)
                for p in SettlementPart.objects.filter(settlement=settlement).select_related("member")
                .order_by("member__code")]
    return settlement_split(settlement)


def settlement_split(settlement: Settlement) -> list[PayoutPart]:
    """What paying the settlement of a split group agreement gives each member, by member code; empty for any
    other agreement, and when the settlement pays nothing.

    Each member gets its share of the settlement period's rebate to date (what this settlement pays plus what
    earlier interim payments of the period gave the members), by its volume in the settlement's months while a
    member (`split_by_share`: largest remainder on cents), less what those interim payments gave it. So the
    parts sum to the settlement's amount exactly, and a member's parts of a period's payments add up to its
    share of the period. A member that left during the period has its volume of its membership months. When no
    member bought in those months (the group's own lines, or adjustments only), the group is paid the whole.
    """
    agreement = settlement.agreement
    if not pays_members(agreement) or settlement.amount == 0:
        return []
    volumes_of = _member_volumes(agreement)
    given: dict[int, Decimal] = defaultdict(Decimal)
    earlier = (Settlement.objects.filter(agreement=agreement, period_start=settlement.period_start, interim=True,
                                         period_end__lt=settlement.period_end)
               .exclude(status=Settlement.Status.FORFEITED).exclude(pk=settlement.pk).order_by("period_end", "pk"))
    for interim in earlier:
        stored = list(SettlementPart.objects.filter(settlement=interim).values_list("member_id", "amount"))
        parts = stored or [(part.member_id, part.amount)
                           for part in _split(interim, volumes_of(interim.period_start, interim.period_end), given)]
        for member_id, amount in parts:
            given[member_id] += amount
    return _split(settlement, volumes_of(settlement.period_start, settlement.period_end), given)


def _member_volumes(agreement: RebateAgreement):
    """volumes(first, last): each member's volume in those months, by member id, with its code and name."""
    found = list(agreements_with_terms([agreement.pk]).filter(rule__isnull=False).select_related("customer"))
    lines = []
    if found:
        read = agreement_input(found[0])
        rule = read.terms.rule
        units = volume_measured(rule.kind_class, rule, Decimal(1), Decimal(0)) == 1
        lines = [(line.month, line.product, line.quantity if units else line.amount)
                 for line in group_lines([read]).get(agreement.pk, [])]
    members = {code: (pk, name) for pk, code, name in Customer.objects.filter(
        code__in={code for _, code, _ in lines} | {agreement.customer.code}).values_list("pk", "code", "name")}

    def volumes(first: date, last: date) -> dict[str, tuple[int, str, Decimal]]:
        summed: dict[str, Decimal] = defaultdict(Decimal)
        for month, code, volume in lines:
            if first <= month <= last:
                summed[code] += volume
        if not any(volume > 0 for volume in summed.values()):
            # Nobody bought in those months: the group is paid what they earned.
            pk, name = members[agreement.customer.code]
            return {agreement.customer.code: (pk, name, Decimal(0))}
        return {code: (*members[code], summed[code]) for code in sorted(summed)}

    return volumes


def _split(settlement: Settlement, volumes: dict[str, tuple[int, str, Decimal]], given) -> list[PayoutPart]:
    total = sum((max(volume, Decimal(0)) for _, _, volume in volumes.values()), Decimal(0))
    to_date = settlement.amount + sum(given.values(), Decimal(0))
    shares_of = split_by_share(to_date, {code: volume for code, (_, _, volume) in volumes.items()})
    parts = [PayoutPart(pk, code, name, volume, total, shares_of[code] - given.get(pk, Decimal(0)))
             for code, (pk, name, volume) in volumes.items()]
    listed = {part.member_id for part in parts}
    # A member given something by an earlier interim payment but with no volume in these months any more (its
    # lines credited away) gives it back here, so the parts still sum to the amount.
    parts += [PayoutPart(pk, code, name, Decimal(0), total, -amount) for pk, (code, name) in
              _named(set(given) - listed).items() if (amount := given[pk])]
    return sorted((part for part in parts if part.amount != 0), key=lambda part: part.member)


def _named(member_ids) -> dict[int, tuple[str, str]]:
    if not member_ids:
        return {}
    return {pk: (code, name) for pk, code, name in
            Customer.objects.filter(pk__in=member_ids).values_list("pk", "code", "name")}


def member_payouts(customer: Customer) -> list[SettlementPart]:
    """The customer's parts of paid settlements of its groups' split agreements (with the settlement and its
    agreement and group), newest period first. The caller has checked the user may see the customer; nothing of
    the other members is returned."""
    return list(SettlementPart.objects.filter(member=customer)
                .select_related("settlement__agreement__customer")
                .order_by("-settlement__period_end", "settlement__agreement__number", "settlement_id"))


def group_members(group: Customer) -> list[GroupMembership]:
    """The group's memberships (with their members), by first month."""
    return list(GroupMembership.objects.filter(group=group).select_related("member").order_by("joined", "member__code"))


def customer_memberships(customer: Customer) -> list[GroupMembership]:
    """The customer's memberships of groups (with their groups), by first month."""
    return list(GroupMembership.objects.filter(member=customer).select_related("group").order_by("joined"))
