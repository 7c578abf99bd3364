from django.contrib import admin

from customers.models import AuditRecord, Customer, Segment


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "segment", "account_manager", "status", "value_tier")
    list_filter = ("status", "value_tier", "segment", "account_manager")
    search_fields = ("code", "name")
    list_select_related = ("segment", "account_manager")
    autocomplete_fields = ("segment",)
    raw_id_fields = ("account_manager",)


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """The audit trail is evidence: readable, never editable."""

    list_display = ("at", "actor", "actor_label", "action", "target_type", "target_id", "summary")
    list_filter = ("action", "target_type")
    search_fields = ("summary", "target_id", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
