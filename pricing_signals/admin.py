from django.contrib import admin

from pricing_signals.models import Competitor, DetectionRule, MarketSignal, PriceClaim


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(DetectionRule)
class DetectionRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "product_line", "window_days", "min_customers", "tolerance_percent", "same_competitor")
    list_editable = ("window_days", "min_customers", "tolerance_percent", "same_competitor")
    list_display_links = ("__str__",)


@admin.register(PriceClaim)
class PriceClaimAdmin(admin.ModelAdmin):
    list_display = ("reported_on", "customer", "product", "competitor", "claimed_price", "channel", "status", "signal")
    list_filter = ("status", "channel", "competitor")
    search_fields = ("customer__code", "customer__name", "product__sku", "note")
    list_select_related = ("customer", "product", "competitor", "signal")
    raw_id_fields = ("customer", "product", "reported_by", "signal")
    date_hierarchy = "reported_on"


class PriceClaimInline(admin.TabularInline):
    model = PriceClaim
    fields = ("reported_on", "customer", "competitor", "claimed_price", "channel", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MarketSignal)
class MarketSignalAdmin(admin.ModelAdmin):
    list_display = ("id", "product", "competitor", "window_start", "window_end", "customer_count", "median_price",
                    "drop_percent", "status", "decision")
    list_filter = ("status", "decision")
    search_fields = ("product__sku", "product__name")
    list_select_related = ("product", "competitor")
    raw_id_fields = ("product", "decided_by")
    filter_horizontal = ("matched_agreements",)
    inlines = [PriceClaimInline]
