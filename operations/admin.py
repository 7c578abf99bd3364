from django.contrib import admin

from operations.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are written by the checks only: the admin reads them."""

    list_display = ("kind", "key", "started_at", "last_seen", "cleared_at")
    list_filter = ("kind", ("cleared_at", admin.EmptyFieldListFilter))
    readonly_fields = ("kind", "key", "message", "details", "started_at", "last_seen", "cleared_at",
                       "raised_mailed_at", "cleared_mailed_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
