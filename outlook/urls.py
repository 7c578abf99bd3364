"""The outlook's pages."""

from django.urls import path

from outlook import views

urlpatterns = [
    path("value-risk/", views.value_risk, name="value-risk"),
    path("value-risk/sheet/", views.value_risk_sheet, name="value-risk-sheet"),
    path("contacts/due/", views.contacts_due, name="contacts-due"),
    path("contacts/due/sheet/", views.contacts_due_sheet, name="contacts-due-sheet"),
    path("customers/<str:code>/contacts/new/", views.contact_new, name="contact-new"),
]
