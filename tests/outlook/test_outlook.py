"""The nightly outlook, the contact plan and their pages and endpoints, on the page tests' seed scenario (as of
2026-11-23) and on customers made for one behaviour each."""

import html
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from customers.models import AuditRecord, Contact, ContactCadence, Customer
from customers.services import contact_log
from outlook import selectors
from outlook.services import outlook_refresh
from tests.api.conftest import client_for as api_client_for
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, PriceClaimFactory
from tests.pages.scenario import TODAY

pytestmark = pytest.mark.django_db


# --- the nightly outlook ----------------------------------------------------------------------------------


def test_the_seed_customer_is_b_and_high_risk_with_each_factor_in_words(signalled_scenario):
    result = outlook_refresh(as_of=TODAY)
    seed = Customer.objects.get(code="SEED-001")
    # Last 12 months: $1,331.00 of $9,286.00; the three bigger customers make the first 80%.
    assert seed.value_tier == "B"
    assert set(Customer.objects.exclude(code="SEED-001").values_list("value_tier", flat=True)) == {"A"}
    assert [(r["factor"], r["points"]) for r in seed.risk_reasons] == [
        ("term_ending", 20), ("claims_below_net_net", 15), ("open_signals", 10)]
    assert (seed.risk_level, seed.risk_points, seed.valued_on) == ("high", 45, TODAY)
    assert seed.risk_reasons[1]["words"] == ("1 competitor price claim below their net-net price in the last "
                                             "90 days.")
    assert result.customers == 4 and result.by_tier == {"A": 3, "B": 1}


def test_running_the_outlook_twice_changes_nothing_the_second_time(signalled_scenario, django_assert_max_num_queries):
    assert outlook_refresh(as_of=TODAY).changed == 4
    before = list(Customer.objects.order_by("pk").values_list("value_tier", "risk_level", "risk_points",
                                                              "risk_reasons", "updated_at"))
    assert outlook_refresh(as_of=TODAY).changed == 0
    after = list(Customer.objects.order_by("pk").values_list("value_tier", "risk_level", "risk_points",
                                                             "risk_reasons", "updated_at"))
    assert after == before


def test_a_successful_accrual_run_queues_the_outlook_on_commit(monkeypatch, scenario):
    from rebates.models import AccrualRun
    from rebates.services import accrual, accrual_run_perform, accrual_run_start

    queued = []
    monkeypatch.setattr(accrual, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    run = accrual_run_start(as_of=TODAY, trigger=AccrualRun.Trigger.COMMAND, queue=False)
    accrual_run_perform(run_id=run.pk)
    assert ("outlook.tasks.outlook_refresh", (TODAY.isoformat(),)) in queued


def test_the_task_values_every_customer(scenario):
    from outlook.tasks import outlook_refresh as task

    task(TODAY.isoformat())
    assert not Customer.objects.filter(valued_on__isnull=True).exists()


# --- contact plan -------------------------------------------------------------------------------------------


def valued(manager, code, tier="C", level="low", **fields):
    return CustomerFactory(code=code, account_manager=manager, value_tier=tier, risk_level=level, **fields)


@pytest.fixture
def manager(scenario):
    return scenario["am"]


def due_codes(user):
    return [c.code for c in selectors.contacts_due(user=user, as_of=TODAY)]


def due(user, code):
    return next(row for row in selectors.contacts_due(user=user, as_of=TODAY) if row.code == code)


def test_a_customer_never_contacted_is_due_now(manager):
    valued(manager, "N-1")
    row = due(manager, "N-1")
    assert row.last_contact_on is None and row.due_on is None


def test_a_contact_within_the_cadence_is_not_due_and_one_past_it_is_overdue(manager):
    recent, old = valued(manager, "N-RECENT"), valued(manager, "N-OLD")  # C, low: every 180 days
    contact_log(by=manager, customer=recent, kind="call", contacted_on=TODAY - timedelta(days=10))
    contact_log(by=manager, customer=old, kind="visit", contacted_on=TODAY - timedelta(days=200))
    codes = due_codes(manager)
    assert "N-OLD" in codes and "N-RECENT" not in codes
    row = due(manager, "N-OLD")
    assert row.due_on == TODAY - timedelta(days=20) and row.cadence_days == 180
    assert selectors.due_words(row.due_on, row.last_contact_on, TODAY)[0] == (
        "Contact overdue by 20 days (last 2026-05-07).")


def test_a_contact_due_within_a_week_is_listed(manager):
    customer = valued(manager, "N-SOON")
    contact_log(by=manager, customer=customer, kind="email", contacted_on=TODAY - timedelta(days=175))
    assert due(manager, "N-SOON").due_on == TODAY + timedelta(days=5)


def test_a_logged_price_claim_counts_as_a_contact(manager, scenario):
    customer = valued(manager, "N-CLAIM")
    PriceClaimFactory(customer=customer, product=scenario["product"], reported_on=TODAY - timedelta(days=3),
                      reported_by=manager)
    assert "N-CLAIM" not in due_codes(manager)
    assert Contact.objects.filter(customer=customer).count() == 0  # read from the claims, not copied


def test_the_cadence_of_the_cell_sets_the_date(manager):
    customer = valued(manager, "N-A-HIGH", tier="A", level="high")
    contact_log(by=manager, customer=customer, kind="call", contacted_on=TODAY - timedelta(days=20))
    assert ContactCadence.objects.get(value_tier="A", risk_level="high").days == 14
    assert due(manager, "N-A-HIGH").due_on == TODAY - timedelta(days=6)


def test_contacts_due_lead_with_value_and_risk_then_money_at_stake(manager):
    c_high = valued(manager, "N-C-HIGH", tier="C", level="high")
    a_low = valued(manager, "N-A-LOW", tier="A", level="low")
    a_high_small = valued(manager, "N-A-HIGH-1", tier="A", level="high")
    a_high_big = valued(manager, "N-A-HIGH-2", tier="A", level="high")
    for customer, amount in ((a_high_big, "900.00"), (a_high_small, "10.00")):
        LedgerEntryFactory(agreement=AgreementFactory(customer=customer), amount=Decimal(amount))
    codes = [code for code in due_codes(manager) if code.startswith("N-")]
    assert codes == [a_high_big.code, a_high_small.code, a_low.code, c_high.code]


def test_an_account_manager_never_sees_another_managers_contacts_due(scenario):
    valued(scenario["other_am"], "N-THEIRS")
    assert "N-THEIRS" not in due_codes(scenario["am"])
    assert "N-THEIRS" in due_codes(scenario["pricing"])


def test_a_lost_customer_is_not_due(manager):
    valued(manager, "N-LOST", status="lost", lost_on=date(2026, 6, 30))
    assert "N-LOST" not in due_codes(manager)


def test_logging_a_contact_is_audited(manager):
    customer = valued(manager, "N-AUDIT")
    contact = contact_log(by=manager, customer=customer, kind="meeting", contacted_on=TODAY, note="Budget talk")
    record = AuditRecord.objects.get(action="contact.log")
    assert record.actor == manager and record.target_id == str(contact.pk)
    assert record.summary == f"Meeting with N-AUDIT on {TODAY:%Y-%m-%d}"


def test_a_manager_cannot_log_a_contact_with_another_managers_customer(scenario):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        contact_log(by=scenario["am"], customer=scenario["theirs"], kind="call", contacted_on=TODAY)
    assert not Contact.objects.exists()


def test_a_contact_in_the_future_is_refused(manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        contact_log(by=manager, customer=valued(manager, "N-FUT"), kind="call", contacted_on=TODAY + timedelta(days=1))
    assert "contacted_on" in refused.value.message_dict


# --- pages -----------------------------------------------------------------------------------------------------


def test_the_value_risk_page_plots_each_customer_as_a_link(signalled_scenario, client_for):
    outlook_refresh(as_of=TODAY)
    client = client_for(signalled_scenario["am"])
    body = client.get(reverse("value-risk")).content.decode()
    assert 'href="/customers/SEED-001/"' in body
    assert "Harbor Fasteners (SEED-001): value B, high risk, 45 points" in body
    assert "Someone Else Ltd" not in body  # another manager's customer


def test_the_grid_counts_in_the_database_and_lists_the_top_of_each_cell(manager):
    Customer.objects.bulk_create(Customer(code=f"G{n:03d}", name=f"Grid {n}", account_manager=manager,
                                          value_tier="A", risk_level="high", risk_points=n) for n in range(30))
    cells = {(cell.value_tier, cell.risk_level): cell for cell in selectors.value_risk_grid(user=manager, per_cell=5)}
    cell = cells["A", "high"]
    assert cell.count == 30 and [c.code for c in cell.customers] == ["G029", "G028", "G027", "G026", "G025"]


def test_the_customer_page_says_why_this_risk(signalled_scenario, client_for):
    outlook_refresh(as_of=TODAY)
    body = client_for(signalled_scenario["am"]).get(reverse("customer-detail", args=["SEED-001"])).content.decode()
    assert "Why this risk" in body
    assert "An agreement&#x27;s term ends on 2026-12-31, in 38 days." in body
    assert "Exposed to 1 open market signal." in body


def test_a_manager_logs_a_contact_from_the_customer_page(scenario, client_for):
    client = client_for(scenario["am"])
    response = client.post(reverse("contact-new", args=["SEED-001"]),
                           {"kind": "visit", "contacted_on": "2026-11-20", "note": "Walked the warehouse"})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.customer.code, contact.kind, contact.contacted_on, contact.manager) == (
        "SEED-001", "visit", date(2026, 11, 20), scenario["am"])
    body = client.get(reverse("customer-detail", args=["SEED-001"])).content.decode()
    assert "Walked the warehouse" in body


def test_a_bad_contact_form_names_each_field_and_stores_nothing(scenario, client_for):
    response = client_for(scenario["am"]).post(reverse("contact-new", args=["SEED-001"]),
                                               {"kind": "telepathy", "contacted_on": "2027-01-01"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Kind of contact:" in body and "the date is in the future" in body
    assert not Contact.objects.exists()


def test_the_contacts_due_page_and_sheet_list_the_managers_due_customers(scenario, client_for):
    Customer.objects.filter(code__in=["SEED-001", "C-2001"]).update(value_tier="A", risk_level="high")
    client = client_for(scenario["am"])
    body = client.get(reverse("contacts-due")).content.decode()
    # Its June claim was its last contact; every 14 days for A and high risk. C-1002 (C, low) is not due yet.
    assert "Contact overdue by 152 days (last 2026-06-10)." in body and "Northgate Builders" not in body
    assert "Someone Else Ltd" not in body
    response = client.get(reverse("contacts-due-sheet"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Code" and [row[0] for row in rows[1:]] == ["SEED-001"]


def test_the_value_risk_sheet_has_each_customer_with_its_reasons(signalled_scenario, client_for):
    outlook_refresh(as_of=TODAY)
    response = client_for(signalled_scenario["am"]).get(reverse("value-risk-sheet"))
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    seed = next(row for row in rows if row[0] == "SEED-001")
    assert seed[3:6] == ("B", "High", 45) and "term ends on 2026-12-31" in seed[6]
    assert {row[0] for row in rows[1:]} == {"SEED-001", "C-1002"}


def test_the_dashboard_leads_with_what_to_do_today(scenario, client_for):
    Customer.objects.filter(code="SEED-001").update(value_tier="A", risk_level="high")
    body = client_for(scenario["am"]).get(reverse("dashboard")).content.decode()
    assert body.index("What to do today") < body.index("My customers")
    assert "Harbor Fasteners" in body[body.index("What to do today"):body.index("My customers")]


def test_what_to_do_today_holds_the_watchlist_the_most_money_at_stake_first(signalled_scenario, client_for):
    outlook_refresh(as_of=TODAY)
    body = client_for(signalled_scenario["am"]).get(reverse("dashboard")).content.decode()
    section = body[body.index('id="today-items"'):body.index("</table>", body.index('id="today-items"'))]
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in section.split("<tr>")[2:]]
    # Contacts due and the nightly watches (a claim below net-net, an open signal) of both customers.
    assert len(rows) == 6
    harbor = [row for row in rows if row.startswith("Harbor Fasteners")]
    assert any("1 competitor price claim below their net-net price in the last 90 days. $55.00 of unpaid rebate "
               "at stake." in row for row in harbor)
    assert any("Exposed to 1 open market signal." in row for row in harbor)
    money_at_stake = [Decimal(row.rsplit("$", 1)[1].replace(",", "")) for row in rows]
    assert money_at_stake == sorted(money_at_stake, reverse=True) == [Decimal("55.00")] * 3 + [Decimal("50.00")] * 3


# --- API ---------------------------------------------------------------------------------------------------------


def test_the_risk_endpoint_gives_each_factor(signalled_scenario):
    outlook_refresh(as_of=TODAY)
    body = api_client_for(signalled_scenario["am"]).get("/api/v1/customers/SEED-001/risk/").json()
    assert (body["value_tier"], body["risk_level"], body["risk_points"]) == ("B", "high", 45)
    assert [r["factor"] for r in body["reasons"]] == ["term_ending", "claims_below_net_net", "open_signals"]
    assert body["last_contact_on"] == "2026-09-08"  # the September claim


def test_contacts_are_logged_and_read_through_the_api(scenario):
    client = api_client_for(scenario["am"])
    created = client.post("/api/v1/customers/SEED-001/contacts/", data=json.dumps(
        {"kind": "call", "contacted_on": "2026-11-21", "note": "Asked about Q1"}), content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json() == {"contacted_on": "2026-11-21", "kind": "call", "manager": "am.north",
                              "note": "Asked about Q1", "claim": None}
    listed = client.get("/api/v1/customers/SEED-001/contacts/").json()
    assert listed[0]["kind"] == "call" and {row["kind"] for row in listed[1:]} == {"price_claim"}


def test_a_bad_contact_through_the_api_is_a_400_naming_the_field(scenario):
    response = api_client_for(scenario["am"]).post("/api/v1/customers/SEED-001/contacts/", data=json.dumps(
        {"kind": "fax", "contacted_on": "2099-01-01"}), content_type="application/json")
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} >= {"kind"}
    assert not Contact.objects.exists()


def test_another_managers_customer_is_not_found_in_the_api(scenario):
    client = api_client_for(scenario["am"])
    assert client.get("/api/v1/customers/C-2001/risk/").status_code == 404
    assert client.post("/api/v1/customers/C-2001/contacts/", data=json.dumps({"kind": "call"}),
                       content_type="application/json").status_code == 404
    assert not Contact.objects.exists()


def test_contacts_due_endpoint_lists_highest_value_and_risk_first(scenario):
    Customer.objects.filter(code="C-1002").update(value_tier="A", risk_level="high")
    Customer.objects.filter(code="SEED-001").update(value_tier="B", risk_level="high")
    body = api_client_for(scenario["am"]).get("/api/v1/contacts-due/").json()
    assert [row["code"] for row in body["results"]] == ["C-1002", "SEED-001"]
    assert body["results"][0]["at_stake"] == "50.00"  # 200 units at $0.25
    assert body["results"][0]["due_on"] == "2026-09-29"  # its September claim and 14 days


def test_the_contact_plan_reads_in_three_queries_however_many_customers(manager, django_assert_num_queries):
    customers = Customer.objects.bulk_create(Customer(code=f"Q{n:04d}", name=f"Plan {n}", account_manager=manager)
                                             for n in range(300))
    Contact.objects.bulk_create(Contact(customer=customer, manager=manager, kind="call",
                                        contacted_on=TODAY - timedelta(days=n % 365))
                                for n, customer in enumerate(customers))
    manager.has_perm("customers.view_all_customers")  # the user's permissions, read once per request
    with django_assert_num_queries(3):
        due = selectors.contacts_due(user=manager, as_of=TODAY)
    assert len([row for row in due if row.code.startswith("Q")]) == 300 - 173  # the last 180 - 7 days are not due


def test_an_administrator_edits_a_cadence_in_the_admin_and_it_is_audited(client):
    from tests.factories import UserFactory

    admin = UserFactory(username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    cadence = ContactCadence.objects.get(value_tier="A", risk_level="high")
    response = client.post(reverse("admin:customers_contactcadence_change", args=[cadence.pk]), {"days": "10"})
    assert response.status_code == 302
    cadence.refresh_from_db()
    assert cadence.days == 10
    assert AuditRecord.objects.get(action="contact_cadence.update").data == {"days": [14, 10]}


def test_the_admin_shows_value_and_risk_read_only(client):
    from tests.factories import UserFactory

    admin = UserFactory(username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    customer = CustomerFactory(code="ADM-1", value_tier="A")
    body = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert 'name="value_tier"' not in body and 'name="risk_level"' not in body


def test_a_cell_without_a_cadence_row_takes_the_default(manager):
    ContactCadence.objects.filter(value_tier="B", risk_level="high").delete()
    customer = valued(manager, "N-B-HIGH", tier="B", level="high")
    contact_log(by=manager, customer=customer, kind="call", contacted_on=TODAY - timedelta(days=40))
    assert due(manager, "N-B-HIGH").cadence_days == 30


# --- each factor's contribution, on a customer built by hand -------------------------------------------------

# As the nightly outlook stores them: each factor with its points (all different, so none can stand for another).
HAND_BUILT_REASONS = [
    {"factor": "falling_volume", "points": 30,
     "words": "Purchases fell 31.0% against the year before ($82,000.00 in the last 12 months, $119,000.00 in the "
              "12 before)."},
    {"factor": "claims_below_net_net", "points": 15,
     "words": "1 competitor price claim below their net-net price in the last 90 days."},
    {"factor": "open_signals", "points": 10, "words": "Exposed to 1 open market signal."},
    {"factor": "term_ending", "points": 20, "words": "An agreement's term ends on 2026-12-31, in 38 days."},
]


@pytest.fixture
def hand_built(manager):
    return valued(manager, "HB-001", tier="A", level="high", name="Hand Built Supply", risk_points=75,
                  risk_reasons=HAND_BUILT_REASONS, valued_on=TODAY)


def test_the_customer_page_gives_each_factors_points(hand_built, client_for, manager):
    body = client_for(manager).get(reverse("customer-detail", args=["HB-001"])).content.decode()
    table = body[body.index('id="risk-reasons"'):body.index("</table>", body.index('id="risk-reasons"'))]
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
             for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S) if "<td" in row]

    assert cells == [[r["words"], str(r["points"])] for r in HAND_BUILT_REASONS] + [["Total (high risk)", "75"]]


def test_the_risk_endpoint_gives_each_factors_points(hand_built, manager):
    body = api_client_for(manager).get("/api/v1/customers/HB-001/risk/").json()

    assert [(r["factor"], r["points"]) for r in body["reasons"]] == [
        ("falling_volume", 30), ("claims_below_net_net", 15), ("open_signals", 10), ("term_ending", 20)]
    assert body["risk_points"] == 75 == sum(r["points"] for r in body["reasons"])


def test_the_value_risk_sheet_gives_each_factors_points_after_its_words(hand_built, client_for, manager):
    response = client_for(manager).get(reverse("value-risk-sheet"))
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    row = next(row for row in rows if row[0] == "HB-001")

    assert row[5:7] == (75, (
        "Purchases fell 31.0% against the year before ($82,000.00 in the last 12 months, $119,000.00 in the 12 "
        "before). (+30 points) 1 competitor price claim below their net-net price in the last 90 days. (+15 points) "
        "Exposed to 1 open market signal. (+10 points) An agreement's term ends on 2026-12-31, in 38 days. "
        "(+20 points)"))
