from django.urls import path

from rebates import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/<str:code>/", views.customer_detail, name="customer-detail"),
]
