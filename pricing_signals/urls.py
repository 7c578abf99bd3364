"""The market signals pages: logging a price claim, the signals timeline and a signal's page."""

from django.urls import path

from pricing_signals import views

urlpatterns = [
    path("claims/", views.claims, name="claim-list"),
    path("claims/new/", views.claim_new, name="claim-new"),
    path("claims/<int:pk>/", views.claim_detail, name="claim-detail"),
    path("claims/<int:pk>/evidence/", views.claim_evidence, name="claim-evidence"),
    path("signals/", views.signals, name="signals"),
    path("signals/<int:pk>/", views.signal_detail, name="signal-detail"),
    path("signals/<int:pk>/evidence/", views.signal_evidence, name="signal-evidence"),
    path("signals/<int:pk>/<str:action>/", views.signal_move, name="signal-move"),
]
