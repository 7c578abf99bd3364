"""Products (by SKU), programs (by code) and agreements (by number): list, create, read, update."""

from decimal import Decimal

from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from config import clock
from config.api.errors import ApiError, Conflict
from config.api.fields import CodeField, ExactDecimalField, MonthField
from config.api.inputs import StrictInput
from config.api.schema import ErrorSerializer
from config.api.views import ApiViewSet
from customers.models import Customer, Segment
from rebates.api.filters import ProductFilter, ProgramFilter
from rebates.engine.kinds import LONGEST_WINDOW
from rebates.filtersets import AgreementFilterSet
from rebates.models import (
    BonusCondition,
    ContractPrice,
    LineDiscount,
    Product,
    ProductLine,
    ProductUnit,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    TierBand,
)
from rebates.services import SettlementConflict, SettlementError, agreement_terminate
from rebates.services.catalog import (
    agreement_create,
    agreement_update,
    product_create,
    product_update,
    program_create,
    program_update,
)
from rebates.services.enrollment import (
    EnrollmentConflict,
    program_enroll,
    program_template_change,
    program_template_set,
    template_of,
    templates_of,
)

# --- products ---------------------------------------------------------------------------------------


class ProductUnitOut(serializers.ModelSerializer):
    class Meta:
        model = ProductUnit
        fields = ["code", "base_quantity"]
        read_only_fields = fields


class ProductOut(serializers.ModelSerializer):
    product_line = serializers.SlugRelatedField(slug_field="code", read_only=True)
    units = ProductUnitOut(many=True, read_only=True,
                           help_text="The units the product is sold in besides its base unit.")

    class Meta:
        model = Product
        fields = ["sku", "name", "product_line", "list_price", "launched_on", "discontinued_on", "clearance_from",
                  "clearance_until", "base_unit", "units"]
        read_only_fields = fields

    clearance_from = MonthField(read_only=True, allow_null=True)
    clearance_until = MonthField(read_only=True, allow_null=True)


class ProductUnitIn(StrictInput):
    code = serializers.SlugField(max_length=20, help_text="The unit as the ERP names it (e.g. box).")
    base_quantity = ExactDecimalField(max_digits=20, decimal_places=6, min_value=Decimal("0.000001"),
                                      help_text="Base units in one of this unit (e.g. 50).")


class ProductIn(StrictInput):
    sku = CodeField(max_length=60)
    name = serializers.CharField(max_length=200)
    product_line = serializers.SlugRelatedField(slug_field="code", queryset=ProductLine.objects.all(),
                                                help_text="Product line code.")
    list_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0)
    launched_on = serializers.DateField(required=False, allow_null=True)
    discontinued_on = serializers.DateField(required=False, allow_null=True)
    clearance_from = MonthField(required=False, allow_null=True,
                                help_text="First month on clearance (YYYY-MM); clearance rules pay more then.")
    clearance_until = MonthField(required=False, allow_null=True, help_text="Last month on clearance (YYYY-MM).")
    base_unit = serializers.SlugField(max_length=20, required=False,
                                      help_text="The unit quantities are counted in (default each).")
    units = ProductUnitIn(many=True, required=False, max_length=50,
                          help_text="The units it is sold in besides the base unit; sent, they replace the list.")


class ProductChangeIn(ProductIn):
    sku = None
    read_only_echoes = ("sku",)


PRODUCT = {"sku": "SKU-00007", "name": "Cutting disc 125 mm", "product_line": "abrasives", "list_price": "14.0000",
           "launched_on": "2025-03-01", "discontinued_on": None, "clearance_from": None, "clearance_until": None,
           "base_unit": "each", "units": [{"code": "box", "base_quantity": "50.000000"},
                                          {"code": "case", "base_quantity": "600.000000"}]}


def _crud_schema(noun, example, change_example, serializer_in, serializer_change, serializer_out, lookup):
    out = OpenApiExample(f"The {noun}", response_only=True, value=example)
    return extend_schema_view(
        list=extend_schema(summary=f"{noun.capitalize()}s", examples=[out]),
        retrieve=extend_schema(summary=f"One {noun}", description=f"By {lookup}.", examples=[out]),
        create=extend_schema(summary=f"Create a {noun}", request=serializer_in, responses={201: serializer_out},
                             examples=[OpenApiExample(f"A new {noun}", request_only=True, value=example),
                                       OpenApiExample("Created", response_only=True, status_codes=["201"],
                                                      value=example)]),
        update=extend_schema(summary=f"Replace a {noun}'s fields", request=serializer_change,
                             responses=serializer_out,
                             examples=[OpenApiExample("All fields", request_only=True,
                                                      value={k: v for k, v in example.items() if k != lookup}), out]),
        partial_update=extend_schema(summary=f"Change some of a {noun}'s fields", request=serializer_change,
                                     responses=serializer_out,
                                     examples=[OpenApiExample("A change", request_only=True, value=change_example),
                                               out]),
    )


class _Writable(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Create and update through the input serializer and a service; answer with the output serializer."""

    input_serializer = change_serializer = None
    lookup_value_regex = "[^/]+"

    def create(self, request, *args, **kwargs):
        incoming = self.input_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        obj = self.create_with(**incoming.validated_data)
        return Response(self.get_serializer(self.reread(obj)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        obj = self.get_object()
        incoming = self.change_serializer(data=request.data, partial=partial)
        incoming.is_valid(raise_exception=True)
        obj = self.update_with(obj, **incoming.validated_data)
        return Response(self.get_serializer(self.reread(obj)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def reread(self, obj):
        return self.get_queryset().get(pk=obj.pk)


@_crud_schema("product", PRODUCT, {"list_price": "14.5000"}, ProductIn, ProductChangeIn, ProductOut, "sku")
class ProductViewSet(_Writable):
    serializer_class = ProductOut
    input_serializer, change_serializer = ProductIn, ProductChangeIn
    filterset_class = ProductFilter
    lookup_field = "sku"
    required_permissions = {
        "list": ("rebates.view_product",), "retrieve": ("rebates.view_product",),
        "create": ("rebates.add_product",), "update": ("rebates.change_product",),
        "partial_update": ("rebates.change_product",),
    }

    def get_queryset(self):
        return Product.objects.select_related("product_line").prefetch_related("units").order_by("sku")

    def create_with(self, **fields):
        return product_create(by=self.request.user, **fields)

    def update_with(self, product, **fields):
        return product_update(by=self.request.user, product=product, **fields)


# --- rules and template terms ---------------------------------------------------------------------


class BandSerializer(StrictInput):
    threshold = ExactDecimalField(max_digits=16, decimal_places=3, min_value=0)
    rate = ExactDecimalField(max_digits=12, decimal_places=6, min_value=0)


class BonusSerializer(StrictInput):
    product = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all(), help_text="SKU.")
    minimum_quantity = ExactDecimalField(max_digits=14, decimal_places=3, min_value=0)
    extra_percent = ExactDecimalField(max_digits=12, decimal_places=6, min_value=0)


class RuleSerializer(StrictInput):
    """The agreement's rule. `rate` is money per unit or a percent, as `rate_type` says; tiered rules carry
    their rates on the bands."""

    kind = serializers.ChoiceField(choices=RebateRule.Kind.choices)
    rate_type = serializers.ChoiceField(choices=RebateRule.RateType.choices, required=False)
    rate = ExactDecimalField(max_digits=12, decimal_places=6, min_value=0, required=False, allow_null=True)
    tier_basis = serializers.ChoiceField(choices=[("", "")] + RebateRule.TierBasis.choices, required=False)
    tier_method = serializers.ChoiceField(choices=[("", "")] + RebateRule.TierMethod.choices, required=False)
    baseline = serializers.ChoiceField(choices=[("", "")] + RebateRule.Baseline.choices, required=False)
    baseline_amount = ExactDecimalField(max_digits=16, decimal_places=2, min_value=0, required=False,
                                               allow_null=True)
    minimum = ExactDecimalField(max_digits=14, decimal_places=3, min_value=0, required=False, allow_null=True)
    cap = ExactDecimalField(max_digits=16, decimal_places=2, min_value=0, required=False, allow_null=True)
    commitment_rule = serializers.BooleanField(required=False)
    active_months = serializers.IntegerField(min_value=1, max_value=LONGEST_WINDOW, required=False, allow_null=True,
                                             help_text="Conditional rules: the months bought in, of the last "
                                                       "active_window (that month included).")
    active_window = serializers.IntegerField(min_value=1, max_value=LONGEST_WINDOW, required=False, allow_null=True,
                                             help_text="Conditional rules: how many of the last months are looked "
                                                       "at.")
    clearance_rate = ExactDecimalField(max_digits=12, decimal_places=6, min_value=0, required=False, allow_null=True,
                                       help_text="Clearance rules: the percent more on products bought in their "
                                                 "clearance window.")
    min_product_lines = serializers.IntegerField(min_value=1, max_value=1000, required=False, allow_null=True,
                                                 help_text="Product mix rules: the product lines a settlement "
                                                           "period must buy from.")
    focus_line = serializers.SlugRelatedField(slug_field="code", queryset=ProductLine.objects.all(), required=False,
                                              allow_null=True, help_text="Product mix rules: the focus product "
                                                                         "line's code.")
    focus_share = ExactDecimalField(max_digits=12, decimal_places=6, min_value=0, max_value=100, required=False,
                                    allow_null=True, help_text="Product mix rules: the least percent of a period's "
                                                               "purchases in the focus line.")
    bands = BandSerializer(many=True, required=False)
    bonuses = BonusSerializer(many=True, required=False)


class TemplateIn(StrictInput):
    """A segment-wide program's template terms and target segments; every field of the rule is checked as an
    agreement's rule is."""

    start_month = MonthField()
    end_month = MonthField()
    settlement_frequency = serializers.ChoiceField(choices=RebateAgreement.SettlementFrequency.choices,
                                                   required=False)
    products = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all(), many=True,
                                            required=False, help_text="SKUs in scope.")
    product_lines = serializers.SlugRelatedField(slug_field="code", queryset=ProductLine.objects.all(), many=True,
                                                 required=False, help_text="Product line codes in scope.")
    rule = RuleSerializer()
    target_segments = serializers.SlugRelatedField(slug_field="code", queryset=Segment.objects.all(), many=True,
                                                   help_text="Segment codes whose active customers are enrolled.")


class TemplateOut(serializers.Serializer):
    start_month = MonthField()
    end_month = MonthField()
    settlement_frequency = serializers.CharField()
    products = serializers.SlugRelatedField(slug_field="sku", many=True, read_only=True)
    product_lines = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    rule = RuleSerializer(read_only=True)


class TemplateChangeIn(StrictInput):
    rule = RuleSerializer()
    from_month = MonthField(help_text="The first month the new rule applies to (YYYY-MM): this month or later, "
                                      "within the template's term.")


class EnrollIn(StrictInput):
    """Nothing to send: the program's target segments are enrolled as of today."""


# --- programs ---------------------------------------------------------------------------------------


GL_FIELDS = ["gl_expense_account", "gl_liability_account", "gl_credit_note_account", "cost_centre"]


class ProgramOut(serializers.ModelSerializer):
    target_segments = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True,
                                                   help_text="Segment codes whose active customers are enrolled.")
    template = serializers.SerializerMethodField(help_text="Template terms of a segment-wide program (null: none).")

    class Meta:
        model = RebateProgram
        fields = ["code", "name", "description", *GL_FIELDS, "target_segments", "template"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True, help_text=(
        "Template terms of a segment-wide program (start_month, end_month, settlement_frequency, products, "
        "product_lines, rule as an agreement's), null for none.")))
    def get_template(self, program) -> dict | None:
        templates = self.context.get("templates")
        template = templates.get(program.pk) if templates is not None else template_of(program)
        return None if template is None else TemplateOut(template).data


class ProgramIn(StrictInput):
    code = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    gl_expense_account = serializers.CharField(required=False, max_length=20,
                                               help_text="GL rebate expense account (default 6100).")
    gl_liability_account = serializers.CharField(required=False, max_length=20,
                                                 help_text="GL accrued rebate liability account (default 2350).")
    gl_credit_note_account = serializers.CharField(required=False, max_length=20,
                                                   help_text="GL credit note account (default 1200).")
    cost_centre = serializers.CharField(required=False, allow_blank=True, max_length=20)


class ProgramChangeIn(ProgramIn):
    code = None
    read_only_echoes = ("code",)


PROGRAM = {"code": "widgets-2026", "name": "2026 back-end program, widgets", "description": "Per-unit rebates.",
           "gl_expense_account": "6100", "gl_liability_account": "2350", "gl_credit_note_account": "1200",
           "cost_centre": "SALES-N"}


TEMPLATE_IN = {"start_month": "2026-01", "end_month": "2026-12", "settlement_frequency": "annual",
               "product_lines": ["fasteners"], "target_segments": ["contractors"],
               "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}
PROGRAM_OUT = {**PROGRAM, "target_segments": ["contractors"], "template": {
    "start_month": "2026-01", "end_month": "2026-12", "settlement_frequency": "annual", "products": [],
    "product_lines": ["fasteners"], "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.250000",
                                             "bands": [], "bonuses": []}}}
ENROLL_CONFLICT = OpenApiResponse(ErrorSerializer, description="The program's state refuses the change.",
                                  examples=[OpenApiExample("Enrolled", status_codes=["409"], value={
                                      "status": 409, "code": "conflict",
                                      "message": "Program widgets-2026 has enrolled agreements: change its rule "
                                                 "through a template change from a month; its term and scope "
                                                 "stay as they were (start a new program for others).",
                                      "details": []})])


class EnrolledOut(serializers.Serializer):
    enrolled = serializers.ListField(child=serializers.CharField(), help_text="Agreements made (or made active "
                                                                              "again), by number.")
    ended = serializers.ListField(child=serializers.CharField(), help_text="Agreements of customers who left "
                                                                           "the segments, ending this month.")
    withdrawn = serializers.ListField(child=serializers.CharField(), help_text="Agreements not begun of customers "
                                                                               "who left, back to draft.")


class TemplateChangedOut(serializers.Serializer):
    program = ProgramOut()
    agreements = serializers.ListField(child=serializers.CharField(), help_text="The agreements that now hold "
                                                                                "the new rule, by number.")


@_crud_schema("program", PROGRAM, {"description": "Per-unit and tiered rebates."}, ProgramIn, ProgramChangeIn,
              ProgramOut, "code")
@extend_schema_view(
    template=extend_schema(
        summary="Set a program's template terms and target segments",
        description="Every active customer of a target segment gets an agreement from the template when the "
                    "program is enrolled (nightly, or enroll). 400 naming the field; 409 when agreements are "
                    "enrolled and the term, scope or rule would change (a rule changes through template-change).",
        request=TemplateIn, responses={200: ProgramOut, 409: ENROLL_CONFLICT},
        examples=[OpenApiExample("Template terms", request_only=True, value=TEMPLATE_IN),
                  OpenApiExample("The program", response_only=True, value=PROGRAM_OUT)]),
    template_change=extend_schema(
        summary="Change a program's template rule from a month",
        description="Every enrolled agreement whose rule was not overridden takes the new rule from from_month "
                    "(one running then ends the month before and a successor carries the new rule). 400 naming "
                    "the field; 409 when the program has no template terms.",
        request=TemplateChangeIn, responses={200: TemplateChangedOut, 409: ENROLL_CONFLICT},
        examples=[OpenApiExample("From July", request_only=True, value={
                      "from_month": "2026-07", "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.30"}}),
                  OpenApiExample("Changed", response_only=True, value={
                      "program": PROGRAM_OUT, "agreements": ["EN-3-42-202607"]})]),
    enroll=extend_schema(
        summary="Enroll a program's target segments now",
        description="As the nightly enrollment does, as of today: customers who joined from the next month (from "
                    "the template's first month before it begins), leavers' agreements ending this month. Twice "
                    "makes nothing new.",
        request=EnrollIn, responses={200: EnrolledOut},
        examples=[OpenApiExample("Nothing to send", request_only=True, value={}),
                  OpenApiExample("Enrolled", response_only=True, value={
                      "enrolled": ["EN-3-42-202607"], "ended": [], "withdrawn": []})]),
)
class ProgramViewSet(_Writable):
    serializer_class = ProgramOut
    input_serializer, change_serializer = ProgramIn, ProgramChangeIn
    filterset_class = ProgramFilter
    lookup_field = "code"
    required_permissions = {
        "list": ("rebates.view_rebateprogram",), "retrieve": ("rebates.view_rebateprogram",),
        "create": ("rebates.add_rebateprogram",), "update": ("rebates.change_rebateprogram",),
        "partial_update": ("rebates.change_rebateprogram",),
        # The program is looked up first; the actions then need rebates.enroll_program (403).
        "template": ("rebates.view_rebateprogram",), "template_change": ("rebates.view_rebateprogram",),
        "enroll": ("rebates.view_rebateprogram",),
    }

    def get_queryset(self):
        return RebateProgram.objects.prefetch_related("target_segments").order_by("code")

    def create_with(self, **fields):
        return program_create(by=self.request.user, **fields)

    def update_with(self, program, **fields):
        return program_update(by=self.request.user, program=program, **fields)

    def get_serializer(self, *args, **kwargs):
        if kwargs.get("many") and args:
            # A page of programs reads their templates' products and lines at once.
            kwargs.setdefault("context", self.get_serializer_context())["templates"] = templates_of(list(args[0]))
        return super().get_serializer(*args, **kwargs)

    def _enrolling(self, request, serializer):
        program = self.get_object()
        if not request.user.has_perm("rebates.enroll_program"):
            raise PermissionDenied("Enrolling a program's segments and changing its template need the "
                                   "enroll_program permission (pricing managers, the ERP).")
        incoming = serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return program, incoming.validated_data

    @action(detail=True, methods=["post"])
    def template(self, request, code=None):
        program, data = self._enrolling(request, TemplateIn)
        try:
            program_template_set(by=request.user, program=program, **data)
        except EnrollmentConflict as error:
            raise Conflict(str(error)) from error
        return Response(self.get_serializer(self.reread(program)).data)

    @action(detail=True, methods=["post"], url_path="template-change")
    def template_change(self, request, code=None):
        program, data = self._enrolling(request, TemplateChangeIn)
        try:
            changed = program_template_change(by=request.user, program=program, as_of=clock.today(), **data)
        except EnrollmentConflict as error:
            raise Conflict(str(error)) from error
        return Response({"program": ProgramOut(self.reread(program)).data,
                         "agreements": sorted(a.number for a in changed)})

    @action(detail=True, methods=["post"])
    def enroll(self, request, code=None):
        program, _ = self._enrolling(request, EnrollIn)
        done = program_enroll(program=program, as_of=clock.today(), by=request.user)
        return Response({"enrolled": [a.number for a in done.enrolled], "ended": [a.number for a in done.ended],
                         "withdrawn": [a.number for a in done.withdrawn]})


# --- agreements -------------------------------------------------------------------------------------


INTERIM_FREQUENCIES = [("", "None"), *RebateAgreement.SettlementFrequency.choices[1:]]


class PriceOut(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="sku", read_only=True)

    class Meta:
        model = ContractPrice
        fields = ["product", "effective_from", "net_price", "reason"]
        read_only_fields = fields


class LineDiscountOut(serializers.ModelSerializer):
    product_line = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = LineDiscount
        fields = ["product_line", "effective_from", "discount_percent", "reason"]
        read_only_fields = fields


class PriceIn(StrictInput):
    # The answer's price steps may be sent back as they are: their month and reason are not taken.
    read_only_echoes = ("effective_from", "reason")
    product = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all(),
                                           help_text="SKU of a product in scope (named, or of a line in scope).")
    net_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0)


class LineDiscountIn(StrictInput):
    read_only_echoes = ("effective_from", "reason")
    product_line = serializers.SlugRelatedField(slug_field="code", queryset=ProductLine.objects.all(),
                                                help_text="Code of a product line in scope.")
    discount_percent = ExactDecimalField(max_digits=6, decimal_places=3, min_value=0, max_value=Decimal("99.999"),
                                         help_text="Off list price, for the line's products with no stated price.")


class AgreementOut(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="code", read_only=True)
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    products = serializers.SlugRelatedField(slug_field="sku", many=True, read_only=True)
    product_lines = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    start_month = MonthField()
    end_month = MonthField()
    rule = RuleSerializer(read_only=True, allow_null=True)
    prices = PriceOut(many=True, read_only=True)
    interim_frequency = serializers.ChoiceField(choices=INTERIM_FREQUENCIES, read_only=True,
                                                help_text="Interim payments within each settlement period; "
                                                          "blank for none.")
    line_discounts = LineDiscountOut(many=True, read_only=True)
    currency = serializers.CharField(read_only=True, help_text="The currency it books in: its customer's.")

    class Meta:
        model = RebateAgreement
        fields = ["number", "customer", "program", "products", "product_lines", "start_month", "end_month",
                  "committed_monthly_quantity", "settlement_frequency", "interim_frequency", "status", "terminated_on",
                  "termination_reason", "group_payout", "rule", "prices", "line_discounts", "created_at",
                  "terms_changed_at", "enrolled", "overridden", "currency"]
        read_only_fields = fields


def agreement_currency_check(customer, currency) -> None:
    """Refuse a currency other than the customer's: an agreement books in its customer's (docs/currencies.md)."""
    if currency and currency != customer.currency:
        raise serializers.ValidationError({"currency": f"An agreement books in its customer's currency, "
                                                       f"{customer.currency}; {currency} was sent."})


class AgreementIn(StrictInput):
    number = CodeField(max_length=40)
    customer = serializers.SlugRelatedField(slug_field="code", queryset=Customer.objects.all(),
                                            help_text="Customer ERP code.")
    program = serializers.SlugRelatedField(slug_field="code", queryset=RebateProgram.objects.all(),
                                           help_text="Program code.")
    products = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all(), many=True,
                                            required=False, help_text="SKUs in scope.")
    product_lines = serializers.SlugRelatedField(slug_field="code", queryset=ProductLine.objects.all(), many=True,
                                                 required=False, help_text="Product line codes in scope.")
    start_month = MonthField()
    end_month = MonthField()
    committed_monthly_quantity = ExactDecimalField(max_digits=14, decimal_places=3, min_value=0,
                                                          required=False, allow_null=True)
    settlement_frequency = serializers.ChoiceField(choices=RebateAgreement.SettlementFrequency.choices,
                                                   required=False)
    interim_frequency = serializers.ChoiceField(
        choices=INTERIM_FREQUENCIES, required=False, allow_blank=True,
        help_text="Interim payments within each settlement period (quarterly or monthly); blank for none.")
    status = serializers.ChoiceField(choices=[("draft", "Draft"), ("active", "Active")], required=False)
    group_payout = serializers.ChoiceField(
        choices=RebateAgreement.GroupPayout.choices, required=False,
        help_text="A buying group's agreement: paid to the group (group) or split among its members by their "
                  "share of each settlement period's volume (split).")
    net_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0, required=False,
                                         allow_null=True, help_text="Contract net unit price of each product named "
                                                                    "in the scope (from the start month when "
                                                                    "creating, from this month when changing).")
    prices = PriceIn(many=True, required=False, max_length=10000,
                     help_text="Contract net unit prices per product (named, or of a line in scope).")
    line_discounts = LineDiscountIn(many=True, required=False, max_length=1000,
                                    help_text="Per line in scope: a discount off list price for its products with "
                                              "no stated price.")
    rule = RuleSerializer()
    currency = serializers.CharField(required=False, max_length=3,
                                     help_text="Optional: the currency it books in, which is its customer's "
                                               "(docs/currencies.md); another one is refused.")

    def validate(self, data):
        data = super().validate(data)
        if data.get("customer") is not None:
            agreement_currency_check(data.get("customer"), data.pop("currency", None))
        return data


class AgreementChangeIn(AgreementIn):
    number = None
    read_only_echoes = ("number", "terminated_on", "termination_reason", "created_at",
                        "terms_changed_at", "enrolled", "overridden")
    effective_from = MonthField(required=False, help_text="The month a price change takes effect (YYYY-MM), a "
                                                          "month of the term; required when a price changes.")


AGREEMENT_IN = {"number": "AG-2026-0042", "customer": "C00042", "program": "widgets-2026", "products": ["SKU-00007"],
                "product_lines": [], "start_month": "2026-01", "end_month": "2026-12",
                "committed_monthly_quantity": "10", "settlement_frequency": "annual", "status": "active",
                "net_price": "12.10", "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}
AGREEMENT_OUT = {
    "number": "AG-2026-0042", "customer": "C00042", "program": "widgets-2026", "products": ["SKU-00007"],
    "product_lines": [], "start_month": "2026-01", "end_month": "2026-12", "committed_monthly_quantity": "10.000",
    "settlement_frequency": "annual", "interim_frequency": "", "status": "active", "terminated_on": None,
    "termination_reason": "", "group_payout": "group",
    "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.250000", "tier_basis": "", "tier_method": "",
             "baseline": "", "baseline_amount": None, "minimum": None, "cap": None, "commitment_rule": False,
             "active_months": None, "active_window": None, "clearance_rate": None, "min_product_lines": None,
             "focus_line": None, "focus_share": None, "bands": [], "bonuses": []},
    "prices": [{"product": "SKU-00007", "effective_from": "2026-01-01", "net_price": "12.1000",
                "reason": "Agreement created"}],
    "line_discounts": [],
    "created_at": "2026-01-02T08:00:00Z", "terms_changed_at": "2026-01-02T08:00:00Z",
    "enrolled": False, "overridden": False, "currency": "USD",
}
TIERED_RULE = {"rule": {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity",
                        "tier_method": "retroactive",
                        "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "1000", "rate": "2"},
                                  {"threshold": "5000", "rate": "3"}]}}


class TerminateIn(StrictInput):
    terminated_on = serializers.DateField(help_text="The day the customer left; within the agreement's term.")
    reason = serializers.CharField(max_length=200, help_text="Why, in a few words (kept with the agreement).")


class TerminatedOut(AgreementOut):
    forfeited = serializers.DecimalField(max_digits=16, decimal_places=2,
                                         help_text="The unpaid rebate forfeited by the termination.")

    class Meta(AgreementOut.Meta):
        fields = [*AgreementOut.Meta.fields, "forfeited"]
        read_only_fields = fields


TERMINATE_CONFLICT = OpenApiResponse(ErrorSerializer, description="Already terminated (or not active).",
                                     examples=[OpenApiExample("Twice", status_codes=["409"], value={
                                         "status": 409, "code": "conflict",
                                         "message": "Agreement AG-2026-0042 was already terminated on 2026-06-30; "
                                                    "its unpaid rebate was forfeited then.", "details": []})])


@_crud_schema("agreement", AGREEMENT_OUT, TIERED_RULE, AgreementIn, AgreementChangeIn, AgreementOut, "number")
@extend_schema_view(terminate=extend_schema(
    summary="Terminate an agreement early",
    description="The customer leaves: the agreement is accrued up to the termination date and its unpaid rebate "
                "is forfeited (one forfeiture entry); open settlements are forfeited. Finance, pricing managers "
                "and administrators; 404 for an agreement you may not see; 409 when it is already terminated.",
    request=TerminateIn, responses={200: TerminatedOut, 409: TERMINATE_CONFLICT},
    examples=[OpenApiExample("The customer left", request_only=True,
                             value={"terminated_on": "2026-06-30", "reason": "Moved to a competitor"}),
              OpenApiExample("Terminated", response_only=True,
                             value={**AGREEMENT_OUT, "status": "terminated", "terminated_on": "2026-06-30",
                                    "termination_reason": "Moved to a competitor", "forfeited": "15.00"})]))
class AgreementViewSet(_Writable):
    """Changing an agreement's term, scope or rule marks it for the next incremental accrual run."""

    serializer_class = AgreementOut
    input_serializer, change_serializer = AgreementIn, AgreementChangeIn
    filterset_class = AgreementFilterSet
    lookup_field = "number"
    required_permissions = {
        "list": ("rebates.view_rebateagreement",), "retrieve": ("rebates.view_rebateagreement",),
        "create": ("rebates.add_rebateagreement",), "update": ("rebates.change_rebateagreement",),
        "partial_update": ("rebates.change_rebateagreement",),
        # The agreement is looked up first (404 for another manager's); agreement_terminate then needs
        # rebates.terminate_agreement (403).
        "terminate": ("rebates.view_rebateagreement",),
    }

    @action(detail=True, methods=["post"])
    def terminate(self, request, number=None):
        agreement = self.get_object()
        if not request.user.has_perm("rebates.terminate_agreement"):
            raise PermissionDenied("Terminating an agreement needs the terminate_agreement permission "
                                   "(finance, pricing managers).")
        incoming = TerminateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            forfeiture = agreement_terminate(agreement=agreement, by=request.user, **incoming.validated_data)
        except SettlementConflict as error:
            raise Conflict(str(error)) from error
        except SettlementError as error:
            raise ApiError(str(error), details=[{"field": "terminated_on", "message": str(error)}]) from error
        answer = self.reread(agreement)
        answer.forfeited = -forfeiture.amount if forfeiture is not None else Decimal("0.00")
        return Response(TerminatedOut(answer).data)

    def get_queryset(self):
        return (
            RebateAgreement.objects.visible_to(self.request.user)
            .select_related("customer", "program", "rule")
            .prefetch_related(
                "products", "product_lines",
                Prefetch("rule__bands", queryset=TierBand.objects.order_by("threshold")),
                Prefetch("rule__bonuses", queryset=BonusCondition.objects.select_related("product").order_by("pk")),
                Prefetch("prices", queryset=ContractPrice.objects.select_related("product")
                         .order_by("effective_from", "product__sku")),
                Prefetch("line_discounts", queryset=LineDiscount.objects.select_related("product_line")
                         .order_by("effective_from", "product_line__code")),
            )
            .order_by("number")
        )

    def create_with(self, **fields):
        return agreement_create(by=self.request.user, **fields)

    def update_with(self, agreement, **fields):
        # A currency sent without a customer is checked against the agreement's own.
        agreement_currency_check(agreement.customer, fields.pop("currency", None))
        return agreement_update(by=self.request.user, agreement=agreement, **fields)
