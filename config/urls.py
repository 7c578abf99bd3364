from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from customers.forms import AdminSignInForm, SignInForm

admin.site.site_header = "Rebate desk administration"
admin.site.site_title = "Rebate desk"
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api.urls")),
    path("", include("operations.urls")),
    path("", include("pages.urls")),
    path("", include("pricing_signals.urls")),
    path("", include("rebates.urls")),
    path("", include("outlook.urls")),
    path("", include("programs.urls")),
]

# API paths answer errors in the API's JSON shape; other paths keep Django's pages.
handler400 = "config.api.errors.bad_request"
handler403 = "config.api.errors.permission_denied"
handler404 = "config.api.errors.page_not_found"
handler500 = "config.api.errors.server_error"
