from django.urls import path

from rebates import views

urlpatterns = [
    path("agreements/", views.agreements, name="agreement-list"),
    path("accruals/runs/", views.accrual_runs, name="accrual-runs"),
    path("accruals/runs/<int:pk>/", views.accrual_run_detail, name="accrual-run-detail"),
    path("accruals/runs/<int:pk>/progress.json", views.accrual_run_progress, name="accrual-run-progress"),
    path("forecasts/", views.forecasts, name="forecasts"),
    path("journal/", views.journal, name="journal"),
    path("aged-liability/", views.aged_liability, name="aged-liability"),
    path("months/", views.months, name="months"),
    path("exchange-rates/", views.exchange_rates, name="exchange-rates"),
    path("settlements/", views.settlements, name="settlements"),
    path("settlements/interim/", views.settlement_interim_view, name="settlement-interim"),
    path("settlements/approve/", views.settlements_approve_view, name="settlements-approve"),
    path("settlements/pay/", views.settlements_pay_view, name="settlements-pay"),
    path("settlements/<int:pk>/", views.settlement_detail, name="settlement-detail"),
    path("settlements/<int:pk>/approve/", views.settlement_approve_view, name="settlement-approve"),
    path("settlements/<int:pk>/pay/", views.settlement_pay_view, name="settlement-pay"),
    path("settlements/<int:pk>/statement.xlsx", views.settlement_statement, name="settlement-statement"),
    path("settlements/<int:pk>/statement.pdf", views.settlement_statement, {"format": "pdf"},
         name="settlement-statement-pdf"),
    path("exports/", views.exports, name="exports"),
    path("exports/<int:pk>/", views.export_detail, name="export-detail"),
    path("exports/<int:pk>/progress.json", views.export_progress, name="export-progress"),
    path("exports/<int:pk>/file/", views.export_file, name="export-file"),
    path("imports/", views.imports, name="imports"),
    path("imports/template.<str:format>", views.import_template, name="import-template"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress.json", views.import_progress, name="import-progress"),
]
