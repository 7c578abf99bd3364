from django.urls import path
from rest_framework.routers import SimpleRouter

from rebates.api.catalog import AgreementViewSet, ProductViewSet, ProgramViewSet
from rebates.api.currencies import ExchangeRateViewSet, HeldPurchaseViewSet
from rebates.api.finance import AgedLiabilityView, JournalView
from rebates.api.groups import MemberSharesView
from rebates.api.history import AgreementHistoryView, AgreementRunsView, CustomerHistoryView, SettlementHistoryView
from rebates.api.ledger import (
    AccrualExportView,
    AccrualRunViewSet,
    AccrualViewSet,
    ExportJobViewSet,
    LedgerEntryViewSet,
    SettlementStatementPdfView,
    SettlementStatementView,
    SettlementViewSet,
    StatementView,
)
from rebates.api.outlook import (
    ForecastAccuracyExportView,
    ForecastAccuracyViewSet,
    ForecastLiabilityExportView,
    ForecastLiabilityView,
    ForecastOutlookExportView,
    ForecastViewSet,
)
from rebates.api.period_locks import PeriodLockViewSet
from rebates.api.purchases import PurchaseViewSet

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
router.register("programs", ProgramViewSet, basename="program")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("purchases", PurchaseViewSet, basename="purchase")
router.register("accrual-runs", AccrualRunViewSet, basename="accrual-run")
router.register("accruals", AccrualViewSet, basename="accrual")
router.register("ledger-entries", LedgerEntryViewSet, basename="ledger-entry")
router.register("settlements", SettlementViewSet, basename="settlement")
router.register("export-jobs", ExportJobViewSet, basename="export-job")
router.register("forecasts", ForecastViewSet, basename="forecast")
router.register("forecast-accuracy", ForecastAccuracyViewSet, basename="forecast-accuracy")
router.register("period-locks", PeriodLockViewSet, basename="period-lock")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
router.register("held-purchases", HeldPurchaseViewSet, basename="held-purchase")

urlpatterns = [
    path("agreements/<str:number>/statement/", StatementView.as_view(), name="agreement-statement"),
    path("agreements/<str:number>/history/", AgreementHistoryView.as_view(), name="agreement-history"),
    path("agreements/<str:number>/runs/", AgreementRunsView.as_view(), name="agreement-runs"),
    path("settlements/<int:pk>/history/", SettlementHistoryView.as_view(), name="settlement-history"),
    path("settlements/<int:pk>/statement.xlsx", SettlementStatementView.as_view(), name="settlement-statement"),
    path("settlements/<int:pk>/statement.pdf", SettlementStatementPdfView.as_view(), name="settlement-statement-pdf"),
    path("customers/<str:code>/history/", CustomerHistoryView.as_view(), name="customer-history"),
    path("customers/<str:code>/group-shares/", MemberSharesView.as_view(), name="customer-group-shares"),
    path("exports/accruals.xlsx", AccrualExportView.as_view(), name="export-accruals-xlsx"),
    path("forecast-liability/", ForecastLiabilityView.as_view(), name="forecast-liability"),
    path("exports/forecast-liability.xlsx", ForecastLiabilityExportView.as_view(),
         name="export-forecast-liability-xlsx"),
    path("exports/forecasts.xlsx", ForecastOutlookExportView.as_view(), name="export-forecasts-xlsx"),
    path("exports/forecast-accuracy.xlsx", ForecastAccuracyExportView.as_view(), name="export-forecast-accuracy-xlsx"),
    path("journals/", JournalView.as_view(), name="journal"),
    path("aged-liability/", AgedLiabilityView.as_view(), name="aged-liability"),
    *router.urls,
]
