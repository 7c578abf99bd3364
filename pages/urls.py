"""The pages that show rebates and market signals together."""

from django.urls import path

from pages import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/", views.customers, name="customer-list"),
    path("customers/<str:code>/", views.customer_detail, name="customer-detail"),
    path("watchlist/", views.watchlist, name="watchlist"),
    path("agreements/<str:number>/", views.agreement_detail, name="agreement-detail"),
    path("agreements/<str:number>/terminate/", views.agreement_terminate, name="agreement-terminate"),
    path("agreements/<str:number>/sheet/", views.agreement_sheet, name="agreement-sheet"),
]
