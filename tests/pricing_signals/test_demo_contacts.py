"""The demo's contacts: logged by each customer's own manager at set ages before the demo's day, made once, and
the contacts due and overdue they leave on the demo manager's dashboard."""

import io
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import Contact, Customer
from outlook.selectors import contacts_due
from outlook.services import outlook_refresh

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-23")]

AS_OF = date(2026, 11, 23)


def load_demo():
    call_command("load_demo", stdout=io.StringIO())


def test_the_demo_has_contacts_by_each_customers_own_manager_at_the_planned_ages():
    load_demo()

    contacts = list(Contact.objects.select_related("customer", "manager"))
    assert len(contacts) >= 30
    assert {(AS_OF - contact.contacted_on).days for contact in contacts} == {10, 40, 100, 200}
    for contact in contacts:
        assert contact.manager == contact.customer.account_manager
        assert contact.customer.status == "active"
        assert contact.note == f"Reviewed {contact.customer.name}'s purchases and rebate to date."
    # Every manager has some; one customer in five is never contacted.
    assert {contact.manager.username for contact in contacts} == {"am.north", "am.south", "am.west"}
    never = Customer.objects.filter(status="active", is_group=False, contacts__isnull=True)
    assert never.exists()
    assert Contact.objects.values("customer").distinct().count() == len(contacts)  # one each


def test_a_second_load_adds_no_contact():
    load_demo()
    first = sorted(Contact.objects.values_list("customer__code", "kind", "contacted_on"))
    load_demo()

    assert sorted(Contact.objects.values_list("customer__code", "kind", "contacted_on")) == first


def test_contacts_due_and_overdue_are_on_the_demo_managers_dashboard(client):
    load_demo()
    outlook_refresh(as_of=AS_OF)  # the night's valuation after the accrual run
    manager = get_user_model().objects.get(username="am.north")

    due = contacts_due(user=manager, as_of=AS_OF)
    overdue = [row for row in due if row.due_on is not None and row.due_on < AS_OF]
    never = [row for row in due if row.last_contact_on is None]
    assert overdue and never
    for row in due:
        assert Customer.objects.get(pk=row.pk).account_manager == manager
    # A 200-day-old contact is overdue in every cell (the longest cadence is 180 days), unless a price claim
    # logged since counts as a later one.
    contacted_200_days_ago = set(Contact.objects.filter(customer__account_manager=manager,
                                                        contacted_on=AS_OF - timedelta(days=200))
                                 .exclude(customer__price_claims__reported_on__gt=AS_OF - timedelta(days=200))
                                 .values_list("customer__code", flat=True))
    assert contacted_200_days_ago
    assert contacted_200_days_ago <= {row.code for row in overdue}
    # A contact ten days ago is overdue in no cell (the shortest cadence is 14 days).
    recent = set(Contact.objects.filter(customer__account_manager=manager, contacted_on=AS_OF - timedelta(days=10))
                 .values_list("customer__code", flat=True))
    assert recent and not recent & {row.code for row in overdue}

    client.force_login(manager)
    page = client.get("/").content.decode()
    today = page[page.index('id="today"'):page.index('id="lists"')]
    # The overdue and the never contacted both lead the day, in words, among the watchlist's items.
    assert "Contact overdue by" in today and "Never contacted: get in touch." in today
    first = min(overdue, key=lambda row: (-row.at_stake, row.code))
    days = (AS_OF - first.due_on).days
    assert (f'<a href="/customers/{first.code}/">{first.name}</a>' in today
            and f"Contact overdue by {days} days (last {first.last_contact_on:%Y-%m-%d})." in today)
    mine = set(Customer.objects.filter(account_manager=manager).values_list("code", flat=True))
    assert {code for code in mine if f"/customers/{code}/" in today}
    assert not {code for code in Customer.objects.exclude(account_manager=manager).values_list("code", flat=True)
                if f"/customers/{code}/" in today}
