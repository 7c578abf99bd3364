from django.contrib import admin

from rebates.models import (
    AccrualRun,
    BonusCondition,
    ContractPrice,
    ImportBatch,
    LedgerEntry,
    Product,
    ProductLine,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    Settlement,
    TierBand,
)


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "product_line", "list_price", "launched_on", "discontinued_on")
    list_filter = ("product_line",)
    search_fields = ("sku", "name")
    list_select_related = ("product_line",)


@admin.register(RebateProgram)
class RebateProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


class ContractPriceInline(admin.TabularInline):
    model = ContractPrice
    extra = 0
    fields = ("effective_from", "net_price", "reason", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")


@admin.register(RebateAgreement)
class RebateAgreementAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "program", "start_month", "end_month", "settlement_frequency", "status")
    list_filter = ("status", "settlement_frequency", "program")
    search_fields = ("number", "customer__code", "customer__name")
    list_select_related = ("customer", "program")
    raw_id_fields = ("customer",)
    filter_horizontal = ("products", "product_lines")
    inlines = [ContractPriceInline]


class TierBandInline(admin.TabularInline):
    model = TierBand
    extra = 0


class BonusConditionInline(admin.TabularInline):
    model = BonusCondition
    extra = 0
    raw_id_fields = ("product",)


@admin.register(RebateRule)
class RebateRuleAdmin(admin.ModelAdmin):
    list_display = ("agreement", "kind", "rate_type", "rate", "tier_basis", "tier_method", "minimum", "cap")
    list_filter = ("kind", "tier_method", "commitment_rule")
    search_fields = ("agreement__number", "agreement__customer__code")
    list_select_related = ("agreement",)
    raw_id_fields = ("agreement",)
    inlines = [TierBandInline, BonusConditionInline]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "file_name", "status", "line_count", "created_count", "updated_count", "created_at")
    list_filter = ("source", "status")
    search_fields = ("file_name",)
    date_hierarchy = "created_at"


@admin.register(PurchaseLine)
class PurchaseLineAdmin(admin.ModelAdmin):
    list_display = ("erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount", "source")
    list_filter = ("source", "month")
    search_fields = ("erp_line_id", "customer__code", "product__sku")
    list_select_related = ("customer", "product")
    raw_id_fields = ("customer", "product", "import_batch")
    date_hierarchy = "month"


@admin.register(AccrualRun)
class AccrualRunAdmin(admin.ModelAdmin):
    list_display = ("id", "as_of", "trigger", "status", "full", "chunks_done", "chunks_total", "entries_count",
                    "total_amount", "started_at", "finished_at")
    list_filter = ("status", "trigger")
    readonly_fields = [field.name for field in AccrualRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ("agreement", "period_start", "period_end", "interim", "accrued_total", "amount", "status",
                    "paid_on", "payment_reference")
    list_filter = ("status", "interim")
    search_fields = ("agreement__number", "agreement__customer__code", "payment_reference")
    list_select_related = ("agreement",)
    raw_id_fields = ("agreement",)
    readonly_fields = ("approved_by", "approved_at", "paid_by", "paid_on", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The ledger is append-only: the admin shows entries and never adds, changes or deletes one."""

    list_display = ("agreement", "period", "kind", "quantity", "eligible_amount", "amount", "accrual_run", "booked_at")
    list_filter = ("kind", "period")
    search_fields = ("agreement__number", "agreement__customer__code")
    list_select_related = ("agreement",)
    date_hierarchy = "period"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
