"""Buying groups end to end (docs/buying-groups.md): a group agreement earns on its members' purchases in their
membership months, tiers on the group's volume; the nightly run books it (incremental equal to full: late
lines, members joining, leaving and moving; a flat rule by the set-based flat path); the database keeps
memberships one group at a time and one level deep; the split among members sums to the group's total."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers import roles
from customers.models import Customer, GroupMembership, member_in
from rebates.groups import group_statement, member_shares
from rebates.models import AccrualMark, PurchaseLine, RebateAgreement, RebateRule, TierBand
from rebates.services import accrual
from rebates.sql.scope import member_in_sql
from tests import ledger
from tests.api.conftest import client_for, send
from tests.excel.readback import values, workbook
from tests.factories import (
    PASSWORD,
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
    UserFactory,
)
from tests.ledger import booked_by_month as booked

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

D = Decimal
AS_OF = datetime.date(2026, 3, 31)
NUMBER = "AG-GRP"


def month(m):
    return datetime.date(2026, m, 1)


def accrue(full=False, as_of=AS_OF):
    return ledger.accrue(as_of, full=full)


def incremental_then_full(as_of=AS_OF):
    """Entries the incremental run books, then what a full recompute still finds (0: they agree)."""
    return accrue(as_of=as_of).entries_count, accrue(full=True, as_of=as_of).entries_count


def buy(customer, product, m, units):
    return PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=D(units),
                               unit_price=D(10))


@pytest.fixture
def scenario():
    """The worked example: group G (am.group's) with members M-1, M-2 (am.member's) and M-3 (am.group's), all
    from January; a quarterly group agreement, tiered on units, 1% to 1,000 units and 2% from 1,000,
    retroactive. M-1 buys 400 units in January, M-2 300 in February, M-3 500 in March, at $10."""
    am_group = UserFactory(username="am.group", role=roles.ACCOUNT_MANAGER)
    am_member = UserFactory(username="am.member", role=roles.ACCOUNT_MANAGER)
    line = ProductLineFactory(code="grp")
    product = ProductFactory(sku="P-G", product_line=line)
    group = CustomerFactory(code="G", account_manager=am_group, is_group=True)
    members = [CustomerFactory(code="M-1", account_manager=am_member),
               CustomerFactory(code="M-2", account_manager=am_member),
               CustomerFactory(code="M-3", account_manager=am_group)]
    for member in members:
        GroupMembership.objects.create(group=group, member=member, joined=month(1))
    agreement = AgreementFactory(customer=group, number=NUMBER, products=[], settlement_frequency="quarterly",
                                 committed_monthly_quantity=None, group_payout="split")
    agreement.product_lines.set([line])
    ContractPriceFactory(agreement=agreement, product=product, net_price=D("10.00"))
    rule = PerUnitRuleFactory(agreement=agreement, kind="tiered", rate_type="percent", rate=None,
                              tier_basis="quantity", tier_method="retroactive")
    TierBand.objects.bulk_create([TierBand(rule=rule, threshold=D(0), rate=D(1)),
                                  TierBand(rule=rule, threshold=D(1000), rate=D(2))])
    for member, m, units in zip(members, (1, 2, 3), (400, 300, 500), strict=True):
        buy(member, product, m, units)
    return {"group": group, "members": members, "agreement": agreement, "product": product, "am": am_group,
            "am_member": am_member}


# January 1% of $4,000; February 1% of $7,000 to date less January; March 2% of all $12,000 to date less
# February's $70 (the catch-up of the tier crossed).
WORKED = {month(1): D("40.00"), month(2): D("30.00"), month(3): D("170.00")}


def test_the_worked_example_earns_two_percent_on_all_1200_units_split_a_third_a_quarter_and_five_twelfths(
        scenario):
    agreement = scenario["agreement"]
    accrue(full=True)
    assert booked(agreement) == WORKED
    assert sum(WORKED.values()) == D("240.00")
    statement = group_statement(agreement, as_of=AS_OF)
    (period,) = statement.periods
    assert (period.first, period.last, period.earned) == (month(1), month(3), D("240.00"))
    assert [(part.member, part.volume, str(part.share), part.amount) for part in period.parts] == [
        ("M-1", D(400), "1/3", D("80.00")), ("M-2", D(300), "1/4", D("60.00")), ("M-3", D(500), "5/12", D("100.00"))]
    assert statement.measured_in == "units"


def test_the_minimum_is_reached_on_the_groups_volume_though_no_member_reaches_it(scenario):
    # A minimum of 1,000 units: no member buys more than 500, the group reaches 1,200 in March.
    RebateRule.objects.filter(agreement=scenario["agreement"]).update(minimum=D(1000))
    accrue(full=True)
    # Nothing until March; then 2% on all $12,000 at once, split as in the worked example.
    assert booked(scenario["agreement"]) == {month(3): D("240.00")}
    assert incremental_then_full() == (0, 0)
    (period,) = group_statement(scenario["agreement"], as_of=AS_OF).periods
    assert [(part.member, part.amount) for part in period.parts] == [
        ("M-1", D("80.00")), ("M-2", D("60.00")), ("M-3", D("100.00"))]
    shares = client_for(scenario["am_member"]).get("/api/v1/customers/M-2/group-shares/?as_of=2026-03-31").json()
    assert [(share["volume"], share["share"], share["amount"]) for share in shares] == [("300.000", "1/4", "60.00")]


def test_paid_to_the_group_the_statement_shows_shares_without_parts(scenario):
    agreement = scenario["agreement"]
    RebateAgreement.objects.filter(pk=agreement.pk).update(group_payout="group")
    accrue(full=True)
    agreement.refresh_from_db()
    (period,) = group_statement(agreement, as_of=AS_OF).periods
    assert [part.amount for part in period.parts] == [None, None, None]
    assert [str(part.share) for part in period.parts] == ["1/3", "1/4", "5/12"]


def test_a_member_joining_mid_quarter_counts_from_its_month(scenario):
    late = CustomerFactory(code="M-4")
    buy(late, scenario["product"], 1, 100)  # before it joined: not the group's
    buy(late, scenario["product"], 2, 100)
    accrue(full=True)
    assert booked(scenario["agreement"]) == WORKED
    GroupMembership.objects.create(group=scenario["group"], member=late, joined=month(2))
    # The membership marks the group's agreement; the incremental run books February's 100 units.
    assert AccrualMark.objects.filter(reason="group", agreement=scenario["agreement"]).exists()
    assert incremental_then_full() == (2, 0)
    # 1,300 units: 2% of $13,000 = $260 over the quarter; February's cumulative stays under the tier.
    assert booked(scenario["agreement"]) == {month(1): D("40.00"), month(2): D("40.00"), month(3): D("180.00")}


def test_a_member_that_leaves_stops_counting_from_the_month_it_left(scenario):
    accrue(full=True)
    GroupMembership.objects.filter(member__code="M-3").update(ended=month(3))
    assert incremental_then_full() == (1, 0)
    # M-3's March is no longer the group's: 700 units, 1% of $7,000.
    assert booked(scenario["agreement"]) == {month(1): D("40.00"), month(2): D("30.00")}


def test_a_late_member_line_marks_and_rebooks_the_group_agreement(scenario):
    agreement = scenario["agreement"]
    accrue(full=True)
    AccrualMark.objects.all().delete()
    late = buy(scenario["members"][1], scenario["product"], 2, 300)  # February reaches 1,000 units
    # The member's cell, under its group: the run recomputes the group's agreement from February.
    assert AccrualMark.objects.filter(reason="group", customer=agreement.customer, product=scenario["product"],
                                      month=month(2)).exists()
    entries, after = incremental_then_full()
    assert entries > 0 and after == 0
    assert booked(agreement) == {month(1): D("40.00"), month(2): D("160.00"), month(3): D("100.00")}

    PurchaseLine.objects.filter(pk=late.pk).delete()
    assert incremental_then_full()[1] == 0
    assert booked(agreement) == WORKED


def test_a_line_outside_the_membership_marks_nothing(scenario):
    outsider = CustomerFactory(code="OUT")
    AccrualMark.objects.all().delete()
    buy(outsider, scenario["product"], 2, 1000)
    GroupMembership.objects.filter(member__code="M-3").update(ended=month(2))
    AccrualMark.objects.all().delete()
    buy(scenario["members"][2], scenario["product"], 3, 10)  # M-3 left in February
    assert not AccrualMark.objects.filter(reason="group").exists()


def _flat(agreement):
    """The scenario's agreement with a flat rule: 2 % of the group's net amount."""
    RebateRule.objects.filter(agreement=agreement).update(kind="percent", rate=D(2), tier_basis="", tier_method="")
    TierBand.objects.filter(rule__agreement=agreement).delete()


def test_the_flat_fast_path_books_a_group_agreement_on_its_members_lines(scenario):
    agreement = scenario["agreement"]
    _flat(agreement)
    # 2 % of each member's month: $4,000, $3,000, $5,000.
    assert ledger.flat_path_books(agreement, as_of=AS_OF) == ([agreement.pk], 3)
    assert booked(agreement) == {month(1): D("80.00"), month(2): D("60.00"), month(3): D("100.00")}


def test_a_flat_group_agreement_recomputed_in_part_follows_its_members_and_own_lines(scenario, monkeypatch):
    agreement = scenario["agreement"]
    _flat(agreement)
    engine_read = []
    real = accrual.agreement_inputs
    monkeypatch.setattr(accrual, "agreement_inputs", lambda ids: engine_read.extend(ids) or real(ids))
    accrue(full=True)
    AccrualMark.objects.all().delete()
    buy(scenario["members"][1], scenario["product"], 2, 300)  # a late member line: February under the group
    buy(scenario["group"], scenario["product"], 3, 100)  # a line sent for the group itself counts too
    assert incremental_then_full() == (2, 0)
    assert booked(agreement) == {month(1): D("80.00"), month(2): D("120.00"), month(3): D("120.00")}
    GroupMembership.objects.filter(member__code="M-3").update(ended=month(3))  # M-3's March no longer counts
    late = CustomerFactory(code="M-4")
    buy(late, scenario["product"], 1, 50)  # before it joined: not the group's
    buy(late, scenario["product"], 3, 50)
    GroupMembership.objects.create(group=scenario["group"], member=late, joined=month(3))
    assert incremental_then_full() == (1, 0)
    # March: the group's own 100 units and M-4's 50, at $10: 2 % of $1,500.
    assert booked(agreement) == {month(1): D("80.00"), month(2): D("120.00"), month(3): D("30.00")}
    assert engine_read == []


def test_the_group_agreement_counts_the_group_own_lines_too_and_stays_whole(scenario):
    agreement = scenario["agreement"]
    accrue(full=True)
    buy(scenario["group"], scenario["product"], 3, 100)  # a line sent for the group itself
    assert incremental_then_full()[1] == 0
    assert sum(booked(agreement).values()) == D("260.00")


def test_the_member_sees_its_share(scenario):
    accrue(full=True)
    (share,) = member_shares(scenario["members"][2], as_of=AS_OF)
    assert (share.agreement, share.group, share.volume, str(share.share), share.amount) == (
        NUMBER, "G", D(500), "5/12", D("100.00"))


def test_a_member_belongs_to_one_group_at_a_time(scenario):
    other = CustomerFactory(code="G-2", is_group=True)
    member = scenario["members"][0]
    with pytest.raises(IntegrityError, match="already a member"), transaction.atomic():
        GroupMembership.objects.create(group=other, member=member, joined=month(6))
    GroupMembership.objects.filter(member=member).update(ended=month(6))
    GroupMembership.objects.create(group=other, member=member, joined=month(6))
    with pytest.raises(IntegrityError, match="already a member"), transaction.atomic():
        GroupMembership.objects.filter(member=member, group=scenario["group"]).update(ended=None)


def test_groups_are_one_level_deep(scenario):
    group, member = scenario["group"], scenario["members"][0]
    plain = CustomerFactory(code="PLAIN")
    with pytest.raises(IntegrityError, match="not a buying group"), transaction.atomic():
        GroupMembership.objects.create(group=plain, member=member, joined=month(9))
    other = CustomerFactory(code="G-3", is_group=True)
    with pytest.raises(IntegrityError, match="never a member"), transaction.atomic():
        GroupMembership.objects.create(group=other, member=group, joined=month(1))
    with pytest.raises(IntegrityError, match="never a member"), transaction.atomic():
        Customer.objects.filter(pk=member.pk).update(is_group=True)
    with pytest.raises(IntegrityError, match="stays a group"), transaction.atomic():
        Customer.objects.filter(pk=group.pk).update(is_group=False)


@pytest.mark.parametrize("ended", [None, month(4)])
def test_the_membership_rule_in_python_and_sql_agrees(scenario, ended):
    from django.db import connection

    membership = GroupMembership.objects.filter(member__code="M-1").get()
    GroupMembership.objects.filter(pk=membership.pk).update(joined=month(2), ended=ended)
    for m in range(1, 8):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {member_in_sql(membership='g', month='m.month')} "
                           f"FROM customers_groupmembership g, (SELECT %s::date AS month) m WHERE g.id = %s",
                           [month(m), membership.pk])
            in_sql = cursor.fetchone()[0]
        assert in_sql == member_in(month(2), ended, month(m)), m


# --- API -------------------------------------------------------------------------------------------------


@pytest.fixture
def erp():
    return client_for(UserFactory(username="erp.grp", role=roles.ERP_INTEGRATION))


def test_a_group_and_its_memberships_are_stated_through_the_api(scenario, erp):
    response = send(erp, "post", "/api/v1/customers/", {"code": "G-NEW", "name": "New group", "is_group": True})
    assert response.status_code == 201, response.json()
    assert response.json()["is_group"] is True
    CustomerFactory(code="M-9")

    response = send(erp, "post", "/api/v1/customers/G-NEW/memberships/", {"member": "M-9", "joined": "2026-02"})
    assert response.status_code == 201, response.json()
    assert response.json() == {"group": "G-NEW", "member": "M-9", "joined": "2026-02", "ended": None}
    response = send(erp, "post", "/api/v1/customers/G-NEW/memberships/",
                    {"member": "M-9", "joined": "2026-02", "ended": "2026-05"})
    assert response.status_code == 200, response.json()
    assert GroupMembership.objects.get(member__code="M-9").ended == month(5)
    assert erp.get("/api/v1/customers/G-NEW/memberships/").json() == [
        {"group": "G-NEW", "member": "M-9", "joined": "2026-02", "ended": "2026-05"}]


@pytest.mark.parametrize(("group", "body", "field"), [
    ("G", {"member": "M-1", "joined": "2026-06"}, "joined"),  # already G's from January
    ("M-2", {"member": "M-1", "joined": "2026-06"}, "group"),  # M-2 is no group
    ("G", {"member": "G", "joined": "2026-06"}, "member"),
    ("G", {"member": "M-1", "joined": "2026-06", "ended": "2026-06"}, "ended"),
    ("G", {"member": "M-1", "joined": "2026-6"}, "joined"),
    ("G", {"member": "NOBODY", "joined": "2026-06"}, "member"),
], ids=["overlap", "not-a-group", "group-as-member", "ends-when-it-joins", "bad-month", "unknown"])
def test_a_bad_membership_is_400_naming_the_field_and_nothing_changes(scenario, erp, group, body, field):
    before = list(GroupMembership.objects.order_by("pk").values_list("group", "member", "joined", "ended"))
    response = send(erp, "post", f"/api/v1/customers/{group}/memberships/", body)
    assert response.status_code == 400, response.json()
    assert field in json.dumps(response.json())
    assert list(GroupMembership.objects.order_by("pk").values_list("group", "member", "joined", "ended")) == before


def test_a_group_with_members_stays_a_group(scenario, erp):
    response = send(erp, "patch", "/api/v1/customers/G/", {"is_group": False})
    assert response.status_code == 400 and "is_group" in json.dumps(response.json())
    response = send(erp, "patch", "/api/v1/customers/M-1/", {"is_group": True})
    assert response.status_code == 400 and "is_group" in json.dumps(response.json())


def test_the_group_manager_reads_the_statement_with_members_lines_and_split(scenario):
    accrue(full=True)
    statement = client_for(scenario["am"]).get(f"/api/v1/agreements/{NUMBER}/statement/?as_of=2026-03-31").json()
    assert D(statement["total_rebate"]) == D("240.00")
    group = statement["group"]
    assert group["split"] is True and group["measured_in"] == "units"
    assert [(line["month"], line["member"], line["units"]) for line in group["lines"]] == [
        ("2026-01", "M-1", "400.000"), ("2026-02", "M-2", "300.000"), ("2026-03", "M-3", "500.000")]
    (period,) = group["periods"]
    assert [(part["member"], part["share"], part["amount"]) for part in period["parts"]] == [
        ("M-1", "1/3", "80.00"), ("M-2", "1/4", "60.00"), ("M-3", "5/12", "100.00")]


def test_a_member_manager_sees_the_member_share_and_not_the_group_agreement(scenario):
    accrue(full=True)
    member_manager = client_for(scenario["am_member"])
    assert member_manager.get(f"/api/v1/agreements/{NUMBER}/statement/").status_code == 404
    assert member_manager.get("/api/v1/customers/G/memberships/").status_code == 404
    response = member_manager.get("/api/v1/customers/M-2/group-shares/?as_of=2026-03-31")
    assert response.status_code == 200
    assert response.json() == [{"agreement": NUMBER, "group": "G", "first": "2026-01", "last": "2026-03",
                                "volume": "300.000", "share": "1/4", "share_percent": "25.0000", "amount": "60.00",
                                "payments": []}]
    text = response.content.decode()
    assert "M-1" not in text and "M-3" not in text
    # M-3 is the group manager's, not theirs.
    assert member_manager.get("/api/v1/customers/M-3/group-shares/").status_code == 404


# --- pages ------------------------------------------------------------------------------------------------


def test_the_group_agreement_page_shows_the_members_lines_and_split(scenario, client):
    accrue(full=True)
    client.login(username="am.group", password=PASSWORD)
    response = client.get(reverse("agreement-detail", args=[NUMBER]))
    assert response.status_code == 200
    page = response.content.decode()
    split = page[page.index('id="group-split"'):page.index('id="group-lines"')]
    assert "M-1" in split and "1/3" in split and "$80.00" in split and "5/12" in split and "$240.00" in split
    assert "M-2" in page[page.index('id="group-lines"'):]
    members = client.get(reverse("customer-detail", args=["G"])).content.decode()
    assert 'id="group-members"' in members and "M-1" in members
    rows = values(workbook(client.get(reverse("agreement-sheet", args=[NUMBER])).content).active)
    assert [(r[1], r[2], D(str(r[3])), D(str(r[4]))) for r in rows if r[1] in ("M-1", "M-2", "M-3")] == [
        ("M-1", "1/3", D(400), D("80.00")), ("M-2", "1/4", D(300), D("60.00")), ("M-3", "5/12", D(500), D("100.00"))]


def test_the_member_page_shows_its_share_only_and_the_group_agreement_stays_hidden(scenario, client):
    accrue(full=True)
    client.login(username="am.member", password=PASSWORD)
    assert client.get(reverse("agreement-detail", args=[NUMBER])).status_code == 404
    assert client.get(reverse("customer-detail", args=["G"])).status_code == 404
    page = client.get(reverse("customer-detail", args=["M-2"])).content.decode()
    shares = page[page.index('id="group-shares"'):]
    shares = shares[:shares.index("</table>")]
    assert NUMBER in shares and "1/4" in shares and "$60.00" in shares
    assert "M-1" not in page and "M-3" not in page


@pytest.mark.today("2026-12-31")
def test_the_demo_shows_a_group_of_three_earning_the_worked_example_each_quarter():
    from io import StringIO

    from django.core.management import call_command

    call_command("load_demo", stdout=StringIO())
    agreement = RebateAgreement.objects.get(number="AG-G-3001-2026")
    assert agreement.customer.is_group and agreement.group_payout == "split"
    assert GroupMembership.objects.filter(group=agreement.customer).count() == 3
    statement = group_statement(agreement, as_of=datetime.date(2026, 12, 31))
    assert [period.earned for period in statement.periods] == [D("240.00")] * 4
    assert {(part.member, str(part.share), part.amount) for part in statement.periods[0].parts} == {
        ("C-3101", "1/3", D("80.00")), ("C-3102", "1/4", D("60.00")), ("C-3103", "5/12", D("100.00"))}


def test_the_group_payout_is_set_through_the_agreement_api(scenario, erp):
    response = send(erp, "patch", f"/api/v1/agreements/{NUMBER}/", {"group_payout": "group"})
    assert response.status_code == 200, response.json()
    assert response.json()["group_payout"] == "group"
    assert RebateAgreement.objects.get(number=NUMBER).group_payout == "group"
    response = send(erp, "patch", f"/api/v1/agreements/{NUMBER}/", {"group_payout": "members"})
    assert response.status_code == 400 and "group_payout" in json.dumps(response.json())


def test_memberships_are_stated_in_the_admin_and_a_refusal_shows_on_the_form(scenario, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    newcomer = CustomerFactory(code="M-5")
    add = reverse("admin:customers_groupmembership_add")
    response = client.post(add, {"group": scenario["group"].pk, "member": newcomer.pk, "joined": "2026-02-01",
                                 "ended": ""})
    assert response.status_code == 302, response.content.decode()[:500]
    assert GroupMembership.objects.get(member=newcomer).joined == month(2)
    response = client.post(add, {"group": scenario["group"].pk, "member": newcomer.pk, "joined": "2026-04-01",
                                 "ended": ""})
    assert response.status_code == 200
    assert "one group at a time" in response.content.decode()
    assert GroupMembership.objects.filter(member=newcomer).count() == 1
    page = client.get(reverse("admin:customers_customer_change", args=[scenario["group"].pk])).content.decode()
    assert "M-5" in page
