"""The outlook's pages: the value × risk grid, the contacts due, and a contact logged from the customer page.

Views parse, call selectors or one service, and render; every read starts from `visible_to(user)`.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render

from config import clock
from config.http import wrong_method
from customers.models import Customer
from customers.services import contact_log
from outlook import selectors
from outlook.charts import value_risk_plot
from outlook.forms import ContactForm
from rebates.exports import XLSX_CONTENT_TYPE
from rebates.exports.list_sheet import write_list_xlsx

CONTACTS_DUE_SHOWN = 200


def _xlsx(name, *, title, headers, rows, currency_column=None):
    buffer = io.BytesIO()
    write_list_xlsx(buffer, title=title, headers=headers, rows=rows, currency_column=currency_column)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}-{clock.today():%Y-%m-%d}.xlsx"'
    return response


@login_required
def value_risk(request):
    """The user's active customers by value tier and risk level: a plot of the nine cells (each customer a
    link) and the same as a table."""
    if refused := wrong_method(request, "GET"):
        return refused
    cells = selectors.value_risk_grid(user=request.user)
    return render(request, "outlook/value_risk.html", {
        "plot": value_risk_plot(cells), "cells": cells, "total": sum(cell.count for cell in cells),
    })


VALUE_RISK_HEADERS = (("Code", "text"), ("Customer", "text"), ("Account manager", "text"), ("Value tier", "text"),
                      ("Risk level", "text"), ("Risk points", "int"), ("Why", "text"),
                      ("Unpaid rebate at stake", "money"), ("Valued on", "date"))


def risk_why(reasons) -> str:
    """Each risk factor's words followed by its contribution: "... in 38 days. (+20 points)"."""
    return " ".join(f"{r.get('words', '')} (+{r.get('points', 0)} points)" for r in reasons or ())


@login_required
def value_risk_sheet(request):
    """Every active customer the user may see with its value, risk, reasons (each with its points) and rebate at
    stake, as .xlsx."""
    if refused := wrong_method(request, "GET"):
        return refused
    rows = ((c["code"], c["name"], c["account_manager__username"] or "", c["value_tier"], c["risk_level_name"],
             c["risk_points"], risk_why(c["risk_reasons"]), c["at_stake"],
             c["valued_on"] or "")
            for c in selectors.value_risk_rows(user=request.user))
    return _xlsx("value-and-risk", title="Value and risk", headers=VALUE_RISK_HEADERS, rows=rows)


@login_required
def contacts_due(request):
    """The user's customers whose contact is due or overdue, highest value and risk first."""
    if refused := wrong_method(request, "GET"):
        return refused
    today = clock.today()
    due = selectors.contacts_due(user=request.user, as_of=today)
    count = len(due)
    shown = due[:CONTACTS_DUE_SHOWN]
    # Each customer's rebate at stake in its own currency: one read of the shown customers' currencies.
    currency_of = dict(Customer.objects.filter(pk__in=[customer.pk for customer in shown])
                       .values_list("pk", "currency"))
    rows = []
    for customer in shown:
        why, overdue = selectors.due_words(customer.due_on, customer.last_contact_on, today)
        rows.append((customer, why, overdue, currency_of.get(customer.pk)))
    return render(request, "outlook/contacts_due.html", {"rows": rows, "count": count, "shown": len(rows),
                                                          "today": today})


CONTACTS_DUE_HEADERS = (("Code", "text"), ("Customer", "text"), ("Account manager", "text"), ("Value tier", "text"),
                        ("Risk level", "text"), ("Unpaid rebate at stake", "money"), ("Last contact", "date"),
                        ("Every (days)", "int"), ("Due on", "date"), ("Why", "text"), ("Currency", "text"))


@login_required
def contacts_due_sheet(request):
    """Every contact due (the page's list, whole) as .xlsx."""
    if refused := wrong_method(request, "GET"):
        return refused
    today = clock.today()
    due = selectors.contacts_due(user=request.user, as_of=today)
    currency_of = dict(Customer.objects.filter(pk__in=[c.pk for c in due]).values_list("pk", "currency"))
    rows = ((c.code, c.name, c.account_manager or "", c.value_tier, c.risk_level_name, c.at_stake,
             c.last_contact_on or "", c.cadence_days, c.due_on or "",
             selectors.due_words(c.due_on, c.last_contact_on, today)[0], currency_of.get(c.pk, ""))
            for c in due)
    return _xlsx("contacts-due", title="Contacts due", headers=CONTACTS_DUE_HEADERS, rows=rows,
                 currency_column=len(CONTACTS_DUE_HEADERS) - 1)


@login_required
def contact_new(request, code):
    """Log a contact with one of the user's customers (the customer page's form posts here)."""
    customer = selectors.customer_visible(user=request.user, code=code)  # 404 first, whatever the method
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if not request.user.has_perm("customers.add_contact"):
        raise PermissionDenied("You may not log contacts.")
    if request.method == "GET":
        form = ContactForm(initial={"contacted_on": clock.today()})
        return render(request, "outlook/contact_form.html", {"customer": customer, "form": form})
    form = ContactForm(request.POST)
    if form.is_valid():
        contact = contact_log(by=request.user, customer=customer, **form.cleaned_data)
        messages.success(request, f"{contact.get_kind_display()} on {contact.contacted_on:%Y-%m-%d} logged.")
        return redirect("customer-detail", code=customer.code)
    return render(request, "outlook/contact_form.html", {"customer": customer, "form": form}, status=400)
