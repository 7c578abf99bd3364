"""Pages that show market signals, alone or beside rebates (the dashboard, customer and agreement pages)."""

from django.urls import path

from pricing_signals import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/<str:code>/", views.customer_detail, name="customer-detail"),
    path("agreements/<str:number>/", views.agreement_detail, name="agreement-detail"),
    path("agreements/<str:number>/terminate/", views.agreement_terminate, name="agreement-terminate"),
    path("agreements/<str:number>/sheet/", views.agreement_sheet, name="agreement-sheet"),
    path("claims/new/", views.claim_new, name="claim-new"),
    path("claims/<int:pk>/", views.claim_detail, name="claim-detail"),
    path("signals/", views.signals, name="signals"),
    path("signals/<int:pk>/", views.signal_detail, name="signal-detail"),
    path("signals/<int:pk>/evidence/", views.signal_evidence, name="signal-evidence"),
    path("signals/<int:pk>/<str:action>/", views.signal_move, name="signal-move"),
]
