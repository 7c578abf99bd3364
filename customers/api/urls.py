from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api.views import CustomerViewSet, GroupMembershipViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")

urlpatterns = [
    path("customers/<str:code>/memberships/",
         GroupMembershipViewSet.as_view({"get": "memberships", "post": "membership_record"}),
         name="customer-memberships"),
    *router.urls,
]
