from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from config import clock
from config.api.views import ApiViewSet
from customers.services import contact_log
from outlook import selectors
from outlook.api.serializers import ContactDueOut, ContactIn, ContactOut, RiskOut

RISK_EXAMPLE = {
    "code": "C00042", "value_tier": "A", "risk_level": "high", "risk_points": 45, "valued_on": "2026-11-30",
    "reasons": [{"factor": "falling_volume", "points": 30,
                 "words": "Purchases fell 31.0% against the year before ($82,000.00 in the last 12 months, "
                          "$119,000.00 in the 12 before)."},
                {"factor": "little_at_stake", "points": 15,
                 "words": "Only $410.00 of unpaid rebate at stake (0.5% of the year's purchases): cheap to leave."}],
    "last_contact_on": "2026-10-02", "cadence_days": 14, "next_contact_on": "2026-10-16"}
CONTACT_EXAMPLE = {"contacted_on": "2026-11-20", "kind": "visit", "manager": "am.jones",
                   "note": "Walked the warehouse; asked about next year's volumes.", "claim": None}

DUE_EXAMPLE = {"code": "C00042", "name": "Northgate Industrial Supply", "account_manager": "am.jones",
               "value_tier": "A", "risk_level": "high", "risk_points": 45, "at_stake": "1840.50",
               "last_contact_on": "2026-10-02", "cadence_days": 14, "due_on": "2026-10-16"}


class CustomerOutlookViewSet(ApiViewSet):
    """A customer's risk and contacts, by ERP code; 404 for a customer the user may not see."""

    lookup_field = "code"
    serializer_class = RiskOut
    pagination_class = None  # a customer's contacts: the latest 50, one answer
    required_permissions = {
        "risk": ("customers.view_customer",),
        "contacts": ("customers.view_contact",),
        "contact_log": ("customers.add_contact",),
    }

    def get_queryset(self):
        from customers.models import Customer

        return Customer.objects.visible_to(self.request.user)

    @extend_schema(summary="A customer's value and risk", responses=RiskOut,
                   description="Its value tier, risk level and each factor's contribution in points and words, "
                               "with its last contact and when the next is due.",
                   examples=[OpenApiExample("Risk", value=RISK_EXAMPLE)])
    def risk(self, request, code=None):
        customer = selectors.customer_visible(user=request.user, code=code)
        plan = selectors.customer_next_contact(user=request.user, customer=customer)
        return Response(RiskOut({
            "code": customer.code, "value_tier": customer.value_tier, "risk_level": customer.risk_level,
            "risk_points": customer.risk_points, "valued_on": customer.valued_on,
            "risk_reasons": customer.risk_reasons, "last_contact_on": plan["last_contact_on"],
            "cadence_days": plan["cadence_days"], "next_contact_on": plan["due_on"]}).data)

    @extend_schema(summary="A customer's contacts", responses=ContactOut(many=True),
                   description="Contacts logged by its managers and its price claims (each a conversation), newest "
                               "first, at most 50.", examples=[OpenApiExample("Contacts", value=[CONTACT_EXAMPLE])])
    def contacts(self, request, code=None):
        customer = selectors.customer_visible(user=request.user, code=code)
        rows = selectors.customer_contacts(user=request.user, customer=customer)
        return Response(ContactOut([asdict(row) for row in rows], many=True).data)

    @extend_schema(summary="Log a contact", request=ContactIn, responses={201: ContactOut},
                   description="A call, visit, email or meeting with one of your customers.",
                   examples=[OpenApiExample("A visit", request_only=True,
                                            value={"kind": "visit", "contacted_on": "2026-11-20",
                                                   "note": CONTACT_EXAMPLE["note"]}),
                             OpenApiExample("Logged", response_only=True, status_codes=["201"],
                                            value=CONTACT_EXAMPLE)])
    def contact_log(self, request, code=None):
        customer = selectors.customer_visible(user=request.user, code=code)
        incoming = ContactIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        contact = contact_log(by=request.user, customer=customer, kind=data["kind"],
                              contacted_on=data.get("contacted_on") or clock.today(), note=data.get("note", ""))
        return Response(ContactOut({"contacted_on": contact.contacted_on, "kind": contact.kind,
                                    "manager": request.user.get_username(), "note": contact.note,
                                    "claim_id": None}).data, status=status.HTTP_201_CREATED)


class ContactDueViewSet(mixins.ListModelMixin, ApiViewSet):
    """Contacts due and overdue among your customers."""

    serializer_class = ContactDueOut
    required_permissions = {"list": ("customers.view_contact",)}
    filter_backends = []  # the plan's order is the answer's: highest value and risk first

    def get_queryset(self):
        return selectors.contacts_due(user=self.request.user, as_of=clock.today())

    @extend_schema(summary="Contacts due", examples=[OpenApiExample("Contacts due", value=DUE_EXAMPLE)],
                   description="Your active customers whose next contact is due within a "
                   "week or overdue (never contacted included): highest value and risk first, then the most rebate "
                   "at stake.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
