from django.urls import path

from operations import views

urlpatterns = [
    path("health/live", views.health_live, name="health-live"),
    path("health/ready", views.health_ready, name="health-ready"),
    path("metrics", views.metrics_page, name="metrics"),
    path("operations/", views.operations_page, name="operations"),
]
