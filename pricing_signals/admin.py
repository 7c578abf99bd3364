"""Admin: detection rules (the global default and per product line overrides), claims and signals.

Statuses and signals are detection's: the admin shows them and changes them only through the services
(re-check, dismiss, acknowledge, close), each audited like the same action anywhere else.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from config import clock
from config.service_admin import ServiceAdmin
from pricing_signals.models import Competitor, DetectionRule, MarketSignal, PriceClaim, SignalPriceMatch
from rebates.models import Product


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    search_fields = ("name",)


def _redetect(modeladmin, request, product_ids):
    from pricing_signals.services import signals_detect

    if not request.user.has_perm("pricing_signals.change_detectionrule") and not request.user.has_perm(
            "pricing_signals.decide_marketsignal"):
        raise PermissionDenied("Re-checking claims needs a pricing manager or an administrator.")
    result = signals_detect(as_of=clock.today(), products=product_ids)
    modeladmin.message_user(request, f"Claims re-checked: {result}.", messages.SUCCESS)


@admin.register(DetectionRule)
class DetectionRuleAdmin(ServiceAdmin):
    """Saved through detection_rule_create / detection_rule_update, audited (the list's inline edits too)."""

    list_display = ("__str__", "product_line", "window_days", "min_customers", "tolerance_percent", "same_competitor",
                    "updated_at")
    list_editable = ("window_days", "min_customers", "tolerance_percent", "same_competitor")
    list_display_links = ("__str__",)
    fields = ("product_line", "window_days", "min_customers", "tolerance_percent", "same_competitor")
    actions = ["recheck_claims"]

    def get_readonly_fields(self, request, obj=None):
        # A rule keeps the product line it governs (the default stays global): an override is a new row.
        return ("product_line",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.product_line_id is None:
            return False  # without the global default every product would fall back to built-in numbers
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        from pricing_signals.services import detection_rule_create, detection_rule_update
        from pricing_signals.services.rules import RULE_FIELDS

        numbers = {name: form.cleaned_data[name] for name in RULE_FIELDS if name in form.cleaned_data}
        if change:
            detection_rule_update(by=request.user, rule=obj, **numbers)
        else:
            obj.pk = detection_rule_create(by=request.user, product_line=form.cleaned_data.get("product_line"),
                                           **numbers).pk
        self.message_user(request, "Saved. Claims follow the new rule from the nightly sweep on, or now with the "
                                   "action 'Re-check the claims these rules govern'.", messages.INFO)

    @admin.action(description="Re-check the claims these rules govern")
    def recheck_claims(self, request, queryset):
        if queryset.filter(product_line__isnull=True).exists():
            _redetect(self, request, None)  # the default governs every product without an override
            return
        lines = queryset.values_list("product_line_id", flat=True)
        _redetect(self, request, list(Product.objects.filter(product_line_id__in=lines).values_list("pk", flat=True)))


@admin.register(PriceClaim)
class PriceClaimAdmin(admin.ModelAdmin):
    list_display = ("reported_on", "customer", "product", "competitor", "claimed_price", "channel", "status", "signal")
    list_filter = ("status", "channel", "competitor")
    search_fields = ("customer__code", "customer__name", "product__sku", "note")
    list_select_related = ("customer", "product", "competitor", "signal")
    date_hierarchy = "reported_on"
    readonly_fields = ("customer", "product", "competitor", "claimed_price", "reported_on", "channel", "reported_by",
                       "evidence", "evidence_size", "evidence_sha256", "status", "signal", "created_at")
    fields = (*readonly_fields[:-1], "note", "created_at")
    actions = ["recheck", "dismiss"]

    def get_queryset(self, request):
        # The admin follows the one visibility rule too.
        return super().get_queryset(request).visible_to(request.user)

    def has_add_permission(self, request):
        return False  # claims are recorded through the app or the API, which check them and queue detection

    def has_delete_permission(self, request, obj=None):
        return False  # a claim is evidence: dismiss it instead

    @admin.action(description="Re-check the products of the selected claims now")
    def recheck(self, request, queryset):
        _redetect(self, request, list(queryset.values_list("product_id", flat=True).distinct()))

    @admin.action(description="Dismiss the selected claims as not credible")
    def dismiss(self, request, queryset):
        from pricing_signals.services import price_claim_dismiss

        for claim in queryset.order_by("pk"):
            try:
                price_claim_dismiss(user=request.user, claim=claim, reason=f"dismissed in the admin by "
                                                                           f"{request.user.get_username()}")
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, f"Claim {claim.pk}: {error}", messages.ERROR)
                return
        self.message_user(request, "Dismissed; their products' signals were recomputed.", messages.SUCCESS)


class PriceClaimInline(admin.TabularInline):
    model = PriceClaim
    fields = ("reported_on", "customer", "competitor", "claimed_price", "channel", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related("customer", "competitor")


class SignalPriceMatchInline(admin.TabularInline):
    model = SignalPriceMatch
    fields = ("contract_price", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MarketSignal)
class MarketSignalAdmin(admin.ModelAdmin):
    list_display = ("id", "product", "competitor", "window_start", "window_end", "customer_count", "median_price",
                    "drop_percent", "status", "decision")
    list_filter = ("status", "decision")
    search_fields = ("product__sku", "product__name")
    list_select_related = ("product", "competitor")
    # Figures are detection's and decisions the services': read only here.
    readonly_fields = [field.name for field in MarketSignal._meta.fields] + ["matched_agreements"]
    inlines = [PriceClaimInline, SignalPriceMatchInline]
    actions = ["acknowledge", "close"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, service, done):
        from pricing_signals.services import MarketSignalConflict

        for signal in queryset.order_by("pk"):
            try:
                service(user=request.user, signal=signal)
            except (MarketSignalConflict, PermissionDenied) as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, f"Signal #{signal.pk} {done}.", messages.SUCCESS)

    @admin.action(description="Acknowledge the selected signals")
    def acknowledge(self, request, queryset):
        from pricing_signals.services import market_signal_acknowledge

        self._each(request, queryset, market_signal_acknowledge, "acknowledged")

    @admin.action(description="Close the selected signals")
    def close(self, request, queryset):
        from pricing_signals.services import market_signal_close

        self._each(request, queryset, market_signal_close, "closed")
