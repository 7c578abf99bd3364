from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from config.api.views import ApiViewSet
from customers.api.serializers import CustomerChangeIn, CustomerIn, CustomerOut
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from customers.services import customer_create, customer_update

EXAMPLE = {"code": "C00042", "name": "Northgate Industrial Supply", "segment": "distribution",
           "account_manager": "am.jones", "status": "active", "lost_on": None,
           "referred_by": None, "referral_from": None, "referral_months": None}
EXAMPLE_OUT = {**EXAMPLE, "value_tier": "A", "risk_level": "medium", "created_at": "2026-01-05T09:00:00Z",
               "updated_at": "2026-03-02T10:30:00Z"}
IN = OpenApiExample("A customer", request_only=True, value=EXAMPLE)
CHANGE = OpenApiExample("A change", request_only=True, value={"name": "Northgate Supply", "segment": "wholesale"})
OUT = OpenApiExample("The customer", response_only=True, value=EXAMPLE_OUT)


@extend_schema_view(
    list=extend_schema(summary="Customers", description="The customers you may see (an account manager: their own), "
                                                         "by name and code.", examples=[OUT]),
    retrieve=extend_schema(summary="One customer", description="By ERP code; 404 if it is not one you may see.",
                           examples=[OUT]),
    create=extend_schema(summary="Create a customer", request=CustomerIn, responses={201: CustomerOut},
                         examples=[IN, OpenApiExample("Created", response_only=True, status_codes=["201"],
                                                      value=EXAMPLE_OUT)]),
    update=extend_schema(summary="Replace a customer's fields", request=CustomerChangeIn, responses=CustomerOut,
                         examples=[OpenApiExample("All fields", request_only=True,
                                                  value={k: v for k, v in EXAMPLE.items() if k != "code"}), OUT]),
    partial_update=extend_schema(summary="Change some of a customer's fields", request=CustomerChangeIn,
                                 responses=CustomerOut, examples=[CHANGE, OUT]),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CustomerOut
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_class = CustomerFilterSet
    required_permissions = {
        "list": ("customers.view_customer",),
        "retrieve": ("customers.view_customer",),
        "create": ("customers.add_customer",),
        "update": ("customers.change_customer",),
        "partial_update": ("customers.change_customer",),
    }

    def get_queryset(self):
        return (Customer.objects.visible_to(self.request.user).select_related("segment", "account_manager")
                .order_by("name", "code"))

    def create(self, request, *args, **kwargs):
        incoming = CustomerIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        customer = customer_create(by=request.user, **incoming.validated_data)
        return Response(CustomerOut(customer).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        customer = self.get_object()
        incoming = CustomerChangeIn(data=request.data, partial=kwargs.get("partial", False))
        incoming.is_valid(raise_exception=True)
        customer = customer_update(by=request.user, customer=customer, **incoming.validated_data)
        return Response(CustomerOut(customer).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
