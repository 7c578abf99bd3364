"""/api/v1/ gathers each app's endpoints; /api/schema/ and /api/docs/ describe them (served offline)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

v1 = [
    path("", include("customers.api.urls")),
    path("", include("rebates.api.urls")),
    path("", include("pricing_signals.api.urls")),
    path("", include("pages.api_urls")),
    path("", include("outlook.api.urls")),
    path("", include("programs.api.urls")),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
