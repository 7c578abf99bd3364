from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from customers.roles import user_roles
from rebates import selectors


@login_required
def dashboard(request):
    customers = selectors.dashboard_customers(user=request.user)
    return render(
        request,
        "rebates/dashboard.html",
        {"customers": customers, "roles": user_roles(request.user)},
    )


@login_required
def customer_detail(request, code):
    customer = selectors.customer_for_page(user=request.user, code=code)
    agreements = selectors.customer_agreements(user=request.user, customer=customer)
    return render(request, "rebates/customer_detail.html", {"customer": customer, "agreements": agreements})
