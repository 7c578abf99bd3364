from django.urls import path
from rest_framework.routers import SimpleRouter

from outlook.api.views import ContactDueViewSet, CustomerOutlookViewSet

router = SimpleRouter()
router.register("contacts-due", ContactDueViewSet, basename="contact-due")

urlpatterns = [
    path("customers/<str:code>/risk/", CustomerOutlookViewSet.as_view({"get": "risk"}), name="customer-risk"),
    path("customers/<str:code>/contacts/", CustomerOutlookViewSet.as_view({"get": "contacts", "post": "contact_log"}),
         name="customer-contacts"),
    *router.urls,
]
