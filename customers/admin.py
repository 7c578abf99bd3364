from django.contrib import admin

from config.service_admin import CreateUpdateServiceAdmin, ReadOnlyAdmin, ServiceAdmin
from customers.models import AuditRecord, Contact, ContactCadence, Customer, GroupMembership, Segment


@admin.register(Segment)
class SegmentAdmin(CreateUpdateServiceAdmin):
    """Saved through the services, audited."""

    list_display = ("name", "code")
    search_fields = ("name", "code")
    fields = ("code", "name")

    create_service = "customers.services.segment_create"
    update_service = "customers.services.segment_update"
    service_target = "segment"


class GroupMembershipInline(admin.TabularInline):
    """A buying group's members, shown on the group; stated through Group memberships (the service)."""

    model = GroupMembership
    fk_name = "group"
    fields = ("member", "joined", "ended")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ("code", "name", "segment", "account_manager", "status", "currency", "is_group", "value_tier",
                    "risk_level")
    list_filter = ("status", "currency", "is_group", "value_tier", "risk_level", "segment", "account_manager")
    # Computed every night from purchases, claims and signals (docs/outlook.md): shown, never typed in.
    readonly_fields = ("value_tier", "risk_level", "risk_points", "risk_reasons", "valued_on")
    search_fields = ("code", "name")
    list_select_related = ("segment", "account_manager")
    autocomplete_fields = ("segment", "referred_by")
    raw_id_fields = ("account_manager",)

    def get_inlines(self, request, obj):
        # A buying group shows its members; other customers have none to show.
        return (GroupMembershipInline,) if obj is not None and obj.is_group else ()

    def save_model(self, request, obj, form, change):
        """Through the services, so marking a customer lost terminates its active agreements (as of lost_on)
        in the same transaction, as the API does."""
        from customers.services import customer_create, customer_update

        if change:
            customer_update(by=request.user, customer=obj, **{name: form.cleaned_data[name]
                                                              for name in form.changed_data})
        else:
            fields = {name: form.cleaned_data[name] for name in ("code", "name", "segment", "account_manager",
                                                                 "status", "lost_on", "referred_by",
                                                                 "referral_from", "referral_months",
                                                                 "currency", "is_group")}
            obj.pk = customer_create(by=request.user, **fields).pk


@admin.register(GroupMembership)
class GroupMembershipAdmin(ServiceAdmin):
    """Memberships of buying groups, stated through the service (one group at a time, one level, audited)."""

    list_display = ("group", "member", "joined", "ended")
    list_filter = ("group",)
    search_fields = ("group__code", "member__code", "member__name")
    list_select_related = ("group", "member")
    autocomplete_fields = ("group", "member")
    fields = ("group", "member", "joined", "ended")

    def get_readonly_fields(self, request, obj=None):
        # A membership names its group, member and first month for good: a change only ends it.
        return ("group", "member", "joined") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from customers.services import group_membership_record

        obj.pk = group_membership_record(by=request.user, group=obj.group, member=obj.member, joined=obj.joined,
                                         ended=form.cleaned_data.get("ended")).pk


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The audit trail is evidence: readable, never editable."""

    list_display = ("at", "actor", "actor_label", "action", "target_type", "target_id", "summary")
    list_filter = ("action", "target_type")
    search_fields = ("summary", "target_id", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)


@admin.register(ContactCadence)
class ContactCadenceAdmin(ServiceAdmin):
    """One row per value tier and risk level (made by a migration): only the days change, through the service."""

    list_display = ("__str__", "value_tier", "risk_level", "days")
    list_editable = ("days",)
    list_display_links = ("__str__",)
    fields = ("value_tier", "risk_level", "days")
    readonly_fields = ("value_tier", "risk_level")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from customers.services import contact_cadence_update

        contact_cadence_update(by=request.user, cadence=obj, days=form.cleaned_data["days"])


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Contacts are logged by managers in the app; the admin reads them."""

    list_display = ("contacted_on", "customer", "manager", "kind")
    list_filter = ("kind",)
    search_fields = ("customer__code", "customer__name", "note")
    list_select_related = ("customer", "manager")
    date_hierarchy = "contacted_on"

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)
