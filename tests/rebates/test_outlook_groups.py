"""The outlook of a buying group's agreement reads the group's volume: its members' purchases in scope in their
membership months (docs/buying-groups.md), as the run books them; the worked example group of three."""

import datetime
from decimal import Decimal

import pytest

from customers.models import GroupMembership
from rebates.services.outlook import agreement_outlooks
from tests.factories import CustomerFactory
from tests.rebates import test_buying_groups
from tests.rebates.test_buying_groups import buy, month

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

D = Decimal
# The worked example of docs/buying-groups.md, as the buying groups' tests set it up.
scenario = test_buying_groups.scenario
FEBRUARY = datetime.date(2026, 2, 28)


def outlook(agreement, as_of):
    ((read, (predicted, tier)),) = agreement_outlooks([agreement.pk], as_of=as_of)
    assert read.pk == agreement.pk
    return predicted, tier


def test_after_february_the_group_is_300_units_from_the_tier_on_its_members_700(scenario):
    _, tier = outlook(scenario["agreement"], FEBRUARY)
    # M-1's 400 units in January and M-2's 300 in February: 700 units, $70.00 at 1%.
    assert (tier.threshold_kind, tier.measure, tier.standing) == ("tier", "units", D(700))
    assert (tier.to_go_units, tier.to_go_amount, tier.earned_to_date) == (D(300), D("3000.00"), D("70.00"))
    # Reaching 1,000 units in March: 2% of $10,000 less $70.00 earned; $70.00 of it restates January and
    # February at 2%, $60.00 is 2% of the 300 units' $3,000.
    assert (tier.extra, tier.extra_catch_up, tier.extra_on_volume) == (D("130.00"), D("70.00"), D("60.00"))
    assert (tier.days_left, tier.needed_per_month, tier.own_per_month) == (31, D(300), D(350))


def test_after_february_the_group_forecast_runs_at_its_members_rate(scenario):
    predicted, _ = outlook(scenario["agreement"], FEBRUARY)
    # 350 units a month so far: March at 350 makes 1,050 units, 2% of $10,500.
    assert (predicted.method, predicted.volume_quantity, predicted.volume_amount) == ("run-rate", D(1050),
                                                                                     D("10500.00"))
    assert (predicted.rebate, predicted.rebate_to_date, predicted.payout) == (D("210.00"), D("70.00"),
                                                                            D("210.00"))
    assert predicted.payout_month == month(4)


def test_the_ended_quarter_is_forecast_as_the_group_earned_it(scenario):
    predicted, tier = outlook(scenario["agreement"], datetime.date(2026, 3, 31))
    assert (predicted.volume_quantity, predicted.rebate) == (D(1200), D("240.00"))
    assert tier is None or tier.threshold_kind != "tier"


def test_a_member_counts_only_in_its_membership_months(scenario):
    late = CustomerFactory(code="M-4")
    buy(late, scenario["product"], 1, 100)  # before it joined: not the group's
    buy(late, scenario["product"], 2, 100)
    GroupMembership.objects.create(group=scenario["group"], member=late, joined=month(2))
    _, tier = outlook(scenario["agreement"], FEBRUARY)
    assert (tier.standing, tier.to_go_units) == (D(800), D(200))
