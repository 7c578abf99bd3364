from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from config.api.views import ApiViewSet
from customers.api.serializers import CustomerChangeIn, CustomerIn, CustomerOut, MembershipIn, MembershipOut
from customers.filtersets import CustomerFilterSet
from customers.models import Customer, GroupMembership
from customers.services import customer_create, customer_update, group_membership_record

EXAMPLE = {"code": "C00042", "name": "Northgate Industrial Supply", "segment": "distribution",
           "account_manager": "am.jones", "status": "active", "lost_on": None,
           "referred_by": None, "referral_from": None, "referral_months": None, "is_group": False}
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


MEMBERSHIP = {"group": "G00007", "member": "C00042", "joined": "2026-01", "ended": None}


class GroupMembershipViewSet(ApiViewSet):
    """A buying group's members, by the group's ERP code; 404 for a customer the user may not see."""

    lookup_field = "code"
    serializer_class = MembershipOut
    pagination_class = None  # a group's members: one answer
    filter_backends = []
    required_permissions = {
        "memberships": ("customers.view_customer",),
        "membership_record": ("customers.change_customer",),
    }

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user)

    @extend_schema(summary="A group's members", responses=MembershipOut(many=True),
                   description="The group's memberships, each from its first month to the month it ended (null "
                               "while a member), by first month.",
                   examples=[OpenApiExample("Members", value=[MEMBERSHIP])])
    def memberships(self, request, code=None):
        group = self.get_object()
        rows = (GroupMembership.objects.filter(group=group).select_related("group", "member")
                .order_by("joined", "member__code"))
        return Response(MembershipOut(rows, many=True).data)

    @extend_schema(summary="State a membership", request=MembershipIn, responses={200: MembershipOut,
                                                                                 201: MembershipOut},
                   description="The member belongs to the group from `joined`; the membership of that member "
                               "from that month is changed (200) if there is one, made (201) otherwise. Send "
                               "`ended` to end it. One group at a time, one level: 400 naming the field.",
                   examples=[OpenApiExample("A member", request_only=True,
                                            value={"member": "C00042", "joined": "2026-01", "ended": None}),
                             OpenApiExample("Stated", response_only=True, value=MEMBERSHIP)])
    def membership_record(self, request, code=None):
        group = self.get_object()
        incoming = MembershipIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        before = GroupMembership.objects.filter(group=group, member=data["member"], joined=data["joined"]).exists()
        membership = group_membership_record(by=request.user, group=group, member=data["member"],
                                             joined=data["joined"], ended=data.get("ended"))
        answer = status.HTTP_200_OK if before else status.HTTP_201_CREATED
        return Response(MembershipOut(membership).data, status=answer)
