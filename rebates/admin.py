import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config import clock
from config.service_admin import CreateUpdateServiceAdmin, ReadOnlyAdmin, ServiceAdmin, refusal_messages
from config.validators import validate_day
from rebates.forms import MonthField
from rebates.models import (
    AccrualCheck,
    AccrualRun,
    BonusCondition,
    ContractPrice,
    ExchangeRate,
    HeldPurchaseLine,
    ImportBatch,
    LedgerEntry,
    LineDiscount,
    PeriodLock,
    Product,
    ProductLine,
    ProductUnit,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    Settlement,
    TierBand,
)


@admin.register(ProductLine)
class ProductLineAdmin(CreateUpdateServiceAdmin):
    """Saved through the catalog services, audited as the API's changes are."""

    list_display = ("name", "code")
    search_fields = ("name", "code")
    fields = ("code", "name")

    create_service = "rebates.services.catalog.product_line_create"
    update_service = "rebates.services.catalog.product_line_update"
    service_target = "product_line"


class ProductUnitInline(admin.TabularInline):
    """The units a product is sold in besides its base unit (box = 50, case = 600), saved through
    product_update with the product."""

    model = ProductUnit
    extra = 0
    fields = ("code", "base_quantity")


@admin.register(Product)
class ProductAdmin(CreateUpdateServiceAdmin):
    """Saved through the catalog services, audited as the API's changes are."""

    list_display = ("sku", "name", "product_line", "list_price", "base_unit", "launched_on", "discontinued_on")
    list_filter = ("product_line",)
    search_fields = ("sku", "name")
    list_select_related = ("product_line",)
    fields = ("sku", "name", "product_line", "list_price", "launched_on", "discontinued_on", "clearance_from",
              "clearance_until", "base_unit")
    inlines = [ProductUnitInline]
    refusal_prefixes = ("units.",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # Left out or blank, the base unit stays as it is (each for a new product).
        form.base_fields["base_unit"].required = False
        return form

    def get_inline_instances(self, request, obj=None):
        if request.method == "POST" and "units-TOTAL_FORMS" not in request.POST:
            return []  # a change that does not send the units leaves them as they are
        return super().get_inline_instances(request, obj)

    def save_model(self, request, obj, form, change):
        if not form.cleaned_data.get("base_unit"):
            form.cleaned_data["base_unit"] = Product.objects.get(pk=obj.pk).base_unit if change else "each"
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        from rebates.services.catalog import product_update

        for formset in formsets:
            if formset.model is ProductUnit:
                product_update(by=request.user, product=form.instance,
                               units=_rows(formset, ("code", "base_quantity")))
        self.formsets_saved(formsets)

    def get_readonly_fields(self, request, obj=None):
        return ("sku",) if obj is not None else ()

    create_service = "rebates.services.catalog.product_create"
    update_service = "rebates.services.catalog.product_update"
    service_target = "product"


@admin.register(RebateProgram)
class RebateProgramAdmin(CreateUpdateServiceAdmin):
    """Saved through the catalog services, audited as the API's changes are."""

    list_display = ("name", "code", "segment_wide")
    search_fields = ("name", "code")
    fields = ("code", "name", "description", "gl_expense_account", "gl_liability_account", "gl_credit_note_account",
              "cost_centre", "template_terms", "segments")
    actions = ["enroll"]

    def get_readonly_fields(self, request, obj=None):
        # Template terms and target segments are set through their service (the API), checked as an
        # agreement's rule is; shown here.
        return ("code", "template_terms", "segments") if obj is not None else ("template_terms", "segments")

    @admin.display(description="Segment-wide", boolean=True)
    def segment_wide(self, obj):
        return obj.template is not None

    @admin.display(description="Template terms")
    def template_terms(self, obj):
        from rebates.services.enrollment import template_in_words, template_of

        template = template_of(obj) if obj is not None and obj.pk else None
        if template is None:
            return "None: the program's agreements are 1:1 deals."
        return (f"{template_in_words(template)}; {template.start_month:%Y-%m} to {template.end_month:%Y-%m}, "
                f"settled {template.settlement_frequency}")

    @admin.display(description="Target segments")
    def segments(self, obj):
        if obj is None or not obj.pk:
            return "—"
        return ", ".join(obj.target_segments.order_by("name").values_list("name", flat=True)) or "—"

    @admin.action(description="Enroll the selected programs' target segments now", permissions=["enroll"])
    def enroll(self, request, queryset):
        from rebates.services.enrollment import program_enroll

        for program in queryset.order_by("pk"):
            done = program_enroll(program=program, as_of=clock.today(), by=request.user)
            self.message_user(request, f"{program.code}: enrolled {len(done.enrolled)}, ended {len(done.ended)}, "
                                       f"withdrew {len(done.withdrawn)}.", messages.SUCCESS)

    def has_enroll_permission(self, request):
        return request.user.has_perm("rebates.enroll_program")

    create_service = "rebates.services.catalog.program_create"
    update_service = "rebates.services.catalog.program_update"
    service_target = "program"


class PriceStepInline(admin.TabularInline):
    """A price history: its steps are added (through the pricing service, audited, the agreement marked
    for the next run), never edited or deleted; a correction is a new step."""

    extra = 0
    can_delete = False
    readonly_fields = ("created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False  # steps kept are shown read-only; new rows stay editable (Django: add without change)


class ContractPriceInline(PriceStepInline):
    model = ContractPrice
    fields = ("product", "effective_from", "net_price", "reason", "created_by", "created_at")
    raw_id_fields = ("product",)


class LineDiscountInline(PriceStepInline):
    model = LineDiscount
    fields = ("product_line", "effective_from", "discount_percent", "reason", "created_by", "created_at")


def _steps_add(request, agreement, formsets):
    """The new rows of the price inlines, each through its service (contract_price_change,
    line_discount_change); a refused row is reported naming the row."""
    from rebates.services import contract_price_change, line_discount_change

    for formset in formsets:
        for form in formset.extra_forms:
            if not form.has_changed():
                continue
            row = form.cleaned_data
            try:
                if formset.model is ContractPrice:
                    named = f"New price of {row['product'].sku}"
                    contract_price_change(user=request.user, agreement=agreement, product=row["product"],
                                          net_unit_price=row["net_price"], effective_month=row["effective_from"],
                                          reason=row["reason"])
                elif formset.model is LineDiscount:
                    named = f"New discount on {row['product_line'].code}"
                    line_discount_change(user=request.user, agreement=agreement, product_line=row["product_line"],
                                         discount_percent=row["discount_percent"],
                                         effective_month=row["effective_from"], reason=row["reason"])
            except ValidationError as refused:
                raise ValidationError([f"{named}: {message}" for _, messages in refusal_messages(refused)
                                       for message in messages]) from refused


class AgreementTerminateActionForm(ActionForm):
    """The action bar of the agreements list, with what terminating needs: the date and the reason."""

    terminated_on = forms.DateField(required=False, label="Terminated on", help_text="YYYY-MM-DD")
    reason = forms.CharField(required=False, max_length=200, label="Reason")


class RebateAgreementForm(forms.ModelForm):
    """The admin's agreement form (its fields come from the admin): the status moves only between draft and
    active here."""

    def clean_status(self):
        status = self.cleaned_data["status"]
        before = self.instance.status if self.instance.pk else None
        if status != before and (status not in ("draft", "active") or before not in (None, "draft", "active")):
            raise forms.ValidationError("Terminate an agreement with the Terminate action (it forfeits the unpaid "
                                        "rebate); expiry and settling follow its settlements.")
        return status


AGREEMENT_ADMIN_FIELDS = ("number", "customer", "program", "products", "product_lines", "start_month", "end_month",
                          "committed_monthly_quantity", "settlement_frequency", "interim_frequency", "status",
                          "group_payout", "terminated_on", "termination_reason", "enrolled", "overridden")


@admin.register(RebateAgreement)
class RebateAgreementAdmin(ServiceAdmin):
    """Saved through agreement_create / agreement_update and the pricing services, as the API saves: audited,
    checked by the engine, and marked for the next accrual run. Its rule is edited on the rule's page."""

    form = RebateAgreementForm
    list_display = ("number", "customer", "program", "start_month", "end_month", "settlement_frequency",
                    "interim_frequency", "status", "terminated_on", "enrolled", "overridden")
    list_filter = ("status", "settlement_frequency", "program", "enrolled", "overridden")
    search_fields = ("number", "customer__code", "customer__name")
    list_select_related = ("customer", "program")
    raw_id_fields = ("customer",)
    filter_horizontal = ("products", "product_lines")
    fields = AGREEMENT_ADMIN_FIELDS
    inlines = [ContractPriceInline, LineDiscountInline]
    action_form = AgreementTerminateActionForm
    actions = ["terminate"]

    def get_readonly_fields(self, request, obj=None):
        # Enrolled agreements are made by the enrollment; overridden is set by a change of their rule.
        return ("number", "terminated_on", "termination_reason", "enrolled", "overridden") if obj is not None else (
            "terminated_on", "termination_reason", "enrolled", "overridden")

    def has_delete_permission(self, request, obj=None):
        return False  # an agreement with a ledger is terminated or settled, not deleted

    def save_model(self, request, obj, form, change):
        from rebates.services.catalog import AGREEMENT_FIELDS, agreement_create, agreement_update

        data = form.cleaned_data
        fields = {name: data[name] for name in AGREEMENT_FIELDS if name in data}
        scope = {"products": list(data["products"]), "product_lines": list(data["product_lines"])}
        if change:
            agreement_update(by=request.user, agreement=obj, **scope, **fields)
        else:
            obj.pk = agreement_create(by=request.user, number=data["number"], rule=None, **scope, **fields).pk

    def save_related(self, request, form, formsets, change):
        # The scope was saved by the service (no form.save_m2m()); new price steps go through theirs.
        _steps_add(request, form.instance, formsets)
        self.formsets_saved(formsets)

    @admin.action(description="Terminate the selected agreements (forfeits their unpaid rebate)",
                  permissions=["terminate"])
    def terminate(self, request, queryset):
        from rebates.services import SettlementError, agreement_terminate

        try:
            terminated_on = forms.DateField(required=True).clean(request.POST.get("terminated_on", ""))
        except forms.ValidationError:
            terminated_on = None
        reason = (request.POST.get("reason") or "").strip()
        if terminated_on is None or not reason:
            self.message_user(request, "Give the termination date and the reason in the action bar.", messages.ERROR)
            return
        for agreement in queryset.order_by("pk"):
            try:
                forfeiture = agreement_terminate(agreement=agreement, terminated_on=terminated_on, reason=reason,
                                                 by=request.user)
            except SettlementError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                forfeited = -forfeiture.amount if forfeiture is not None else 0
                self.message_user(request, f"Terminated {agreement.number} on {terminated_on}: {forfeited} "
                                           f"forfeited.", messages.SUCCESS)

    def has_terminate_permission(self, request):
        return request.user.has_perm("rebates.terminate_agreement")


class TierBandInline(admin.TabularInline):
    model = TierBand
    extra = 0


class BonusConditionInline(admin.TabularInline):
    model = BonusCondition
    extra = 0
    fields = ("product", "minimum_quantity", "extra_percent")  # what the service writes (a launch bonus)
    raw_id_fields = ("product",)


def _rows(formset, names):
    """The rows an inline formset holds after the edit (kept, changed and added; not the deleted)."""
    rows = []
    for form in formset.forms:
        if formset.can_delete and form.cleaned_data.get("DELETE"):
            continue
        if form.instance._state.adding and not form.has_changed():
            continue  # an empty extra row
        rows.append({name: form.cleaned_data[name] for name in names})
    return rows


@admin.register(RebateRule)
class RebateRuleAdmin(ServiceAdmin):
    """An agreement's rule with its tier bands and bonus conditions, saved whole through agreement_update as
    the API saves a rule: audited, checked by the engine (a rule it cannot compute is refused on the form),
    and the agreement marked for the next accrual run."""

    list_display = ("agreement", "kind", "rate_type", "rate", "tier_basis", "tier_method", "minimum", "cap")
    list_filter = ("kind", "tier_method", "commitment_rule")
    search_fields = ("agreement__number", "agreement__customer__code")
    list_select_related = ("agreement",)
    raw_id_fields = ("agreement",)
    inlines = [TierBandInline, BonusConditionInline]

    def get_readonly_fields(self, request, obj=None):
        return ("agreement",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # an agreement's terms are changed, not removed

    def save_model(self, request, obj, form, change):
        pass  # saved whole, with its bands and bonuses, in save_related

    def save_related(self, request, form, formsets, change):
        from rebates.services.catalog import RULE_FIELDS, agreement_update

        rule = {name: form.cleaned_data[name] for name in RULE_FIELDS if name in form.cleaned_data}
        for formset in formsets:
            if formset.model is TierBand:
                rule["bands"] = _rows(formset, ("threshold", "rate"))
            elif formset.model is BonusCondition:
                rule["bonuses"] = _rows(formset, ("product", "minimum_quantity", "extra_percent"))
        agreement = form.instance.agreement
        agreement_update(by=request.user, agreement=agreement, rule=rule)
        form.instance.pk = RebateRule.objects.get(agreement=agreement).pk
        self.formsets_saved(formsets)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "file_name", "status", "line_count", "created_count", "updated_count", "created_at")
    list_filter = ("source", "status")
    search_fields = ("file_name",)
    date_hierarchy = "created_at"


@admin.register(PurchaseLine)
class PurchaseLineAdmin(ServiceAdmin):
    """Saved and deleted through the purchase services: validated as the ERP's lines are, and audited."""

    list_display = ("erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount", "source")
    list_filter = ("source", "month")
    search_fields = ("erp_line_id", "customer__code", "product__sku")
    list_select_related = ("customer", "product")
    raw_id_fields = ("customer", "product")
    date_hierarchy = "month"
    fields = ("erp_line_id", "customer", "product", "month", "unit", "quantity", "unit_price", "amount", "currency")

    def get_readonly_fields(self, request, obj=None):
        # A line is known by its erp_line_id: another id is another line.
        return ("erp_line_id",) if obj is not None else ()

    def get_object(self, request, object_id, from_field=None):
        line = super().get_object(request, object_id, from_field)
        if line is not None and line.unit:
            # A line sent in a unit is edited as it was sent; the service converts it again on save.
            line.quantity, line.unit_price = line.quantity_in_unit, line.unit_price_in_unit
        if line is not None and line.currency:
            # Likewise a line sent in another currency: its price (per unit as sent) and amount in it.
            line.unit_price, line.amount = line.unit_price_in_currency, line.amount_in_currency
        return line

    def save_model(self, request, obj, form, change):
        from rebates.services.purchases import PurchaseLinesInvalid, purchase_line_save

        data = {name: form.cleaned_data.get(name, getattr(obj, name)) for name in self.fields}
        try:
            saved = purchase_line_save(
                by=request.user, erp_line_id=obj.erp_line_id if change else data["erp_line_id"],
                customer=data["customer"].code, product=data["product"].sku, month=data["month"],
                quantity=data["quantity"], unit_price=data["unit_price"], amount=data["amount"],
                unit=data["unit"] or "", currency=data["currency"] or "")
        except PurchaseLinesInvalid as refused:
            raise ValidationError({problem["field"]: problem["message"] for problem in refused.errors}) from refused
        if saved.held:
            # Typed by hand, a line waits for nobody: the admin's transaction is rolled back, nothing is kept.
            raise ValidationError({"currency": f"{saved.held_lines[0]['reason']} Add the month's rate first."})
        obj.pk = PurchaseLine.objects.only("pk").get(erp_line_id=obj.erp_line_id if change else data["erp_line_id"]).pk

    def delete_model(self, request, obj):
        from rebates.services.purchases import purchase_lines_delete

        purchase_lines_delete(by=request.user, lines=[obj])

    def delete_queryset(self, request, queryset):
        from rebates.services.purchases import purchase_lines_delete

        purchase_lines_delete(by=request.user, lines=list(queryset))


class AccrualRunStartForm(forms.Form):
    as_of = forms.DateField(initial=clock.today, validators=[validate_day],
                            help_text="Months up to this date accrue (YYYY-MM-DD).")
    full = forms.BooleanField(required=False, help_text="Recompute every agreement, not only changed ones.")


def _start_run(request, *, as_of: datetime.date, full: bool):
    from rebates.services import accrual_run_start

    if not request.user.has_perm("rebates.start_accrual_run"):
        raise PermissionDenied("Starting an accrual run needs the start_accrual_run permission.")
    return accrual_run_start(as_of=as_of, full=full, trigger=AccrualRun.Trigger.ADMIN, started_by=request.user)


@admin.register(AccrualCheck)
class AccrualCheckAdmin(ReadOnlyAdmin):
    """The nightly checks of the ledger, read only: a check with differences is an alert."""

    list_display = ("id", "created_at", "as_of", "status", "agreements_checked", "agreements_pending",
                    "differences_count")
    list_filter = ("status",)
    readonly_fields = [field.name for field in AccrualCheck._meta.fields]


@admin.register(AccrualRun)
class AccrualRunAdmin(admin.ModelAdmin):
    list_display = ("id", "as_of", "trigger", "status", "full", "chunks_done", "chunks_total", "entries_count",
                    "total_amount", "started_at", "finished_at")
    list_filter = ("status", "trigger")
    readonly_fields = [field.name for field in AccrualRun._meta.fields]
    actions = ["run_again"]
    change_list_template = "admin/rebates/accrualrun/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        start = path("start/", self.admin_site.admin_view(self.start_view), name="rebates_accrualrun_start")
        return [start, *super().get_urls()]

    def start_view(self, request):
        """A form that starts a run now; the workers pick it up once it is saved."""
        form = AccrualRunStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = _start_run(request, **form.cleaned_data)
            self.message_user(request, f"Accrual run {run.pk} as of {run.as_of} queued.", messages.SUCCESS)
            return redirect(reverse("admin:rebates_accrualrun_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": "Start an accrual run"}
        return TemplateResponse(request, "admin/rebates/accrualrun/start.html", context)

    @admin.action(description="Run again: start a new run with the same as-of date and mode")
    def run_again(self, request, queryset):
        for as_of, full in sorted(set(queryset.values_list("as_of", "full"))):
            run = _start_run(request, as_of=as_of, full=full)
            self.message_user(request, f"Accrual run {run.pk} as of {as_of} queued.", messages.SUCCESS)


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ("agreement", "period_start", "period_end", "interim", "accrued_total", "amount", "status",
                    "paid_on", "payment_reference")
    list_filter = ("status", "interim")
    search_fields = ("agreement__number", "agreement__customer__code", "payment_reference")
    list_select_related = ("agreement",)
    # Amounts and status change only through the services (approve and pay book the ledger).
    readonly_fields = [field.name for field in Settlement._meta.fields]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Approve the selected draft settlements", permissions=["approve"])
    def approve(self, request, queryset):
        from rebates.services import SettlementConflict, settlement_approve

        for settlement in queryset.order_by("pk"):
            try:
                settlement_approve(settlement=settlement, by=request.user)
            except SettlementConflict as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, f"Approved settlement {settlement.pk}.", messages.SUCCESS)

    def has_approve_permission(self, request):
        return request.user.has_perm("rebates.approve_settlement")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only: the admin shows entries and never adds, changes or deletes one."""

    list_display = ("agreement", "period", "concerns", "kind", "quantity", "eligible_amount", "amount", "accrual_run",
                    "booked_at")
    list_filter = ("kind", "period")
    search_fields = ("agreement__number", "agreement__customer__code")
    list_select_related = ("agreement",)
    date_hierarchy = "period"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class PeriodLockForm(forms.ModelForm):
    """Locking a month in the admin: the month as YYYY-MM; the service checks the rest."""

    month = MonthField(label="Month")

    class Meta:
        model = PeriodLock
        fields = ("month",)

    def validate_unique(self):
        # A reopened month is locked again on its own row: the service decides, and says so when it is locked.
        pass


class PeriodReopenActionForm(ActionForm):
    """The action bar of the locks list, with what reopening needs: a reason."""

    reason = forms.CharField(required=False, max_length=300, label="Reason")


@admin.register(PeriodLock)
class PeriodLockAdmin(ServiceAdmin):
    """Months finance closed: added through period_lock, reopened (with a reason) through period_reopen, both
    audited; never edited or deleted here."""

    form = PeriodLockForm
    list_display = ("month", "locked", "locked_by", "locked_at", "reopened_by", "reopened_at", "reopen_reason")
    list_select_related = ("locked_by", "reopened_by")
    action_form = PeriodReopenActionForm
    actions = ["reopen"]

    @admin.display(boolean=True, description="Locked")
    def locked(self, obj):
        return obj.locked

    def get_fields(self, request, obj=None):
        return ("month",) if obj is None else ("month", "locked_by", "locked_at", "reopened_by", "reopened_at",
                                               "reopen_reason")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_add_permission(self, request):
        return request.user.has_perm("rebates.lock_period")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_reopen_permission(self, request):
        return request.user.has_perm("rebates.lock_period")

    def save_model(self, request, obj, form, change):
        from rebates.services.period_lock import PeriodLockConflict, PeriodLockError, period_lock

        try:
            obj.pk = period_lock(month=form.cleaned_data["month"], by=request.user).pk
        except (PeriodLockError, PeriodLockConflict) as error:
            raise ValidationError({"month": [str(error)]}) from error

    @admin.action(description="Reopen the selected months (give the reason above)", permissions=["reopen"])
    def reopen(self, request, queryset):
        from rebates.services.period_lock import PeriodLockConflict, PeriodLockError, period_reopen

        reason = request.POST.get("reason", "")
        for lock in queryset.order_by("month"):
            try:
                period_reopen(month=lock.month, reason=reason, by=request.user)
            except (PeriodLockError, PeriodLockConflict) as error:
                self.message_user(request, f"{lock.month:%Y-%m}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Reopened {lock.month:%Y-%m}.", messages.SUCCESS)


class ExchangeRateForm(forms.ModelForm):
    """A month's rate in the admin: the month as YYYY-MM; the service checks the rest."""

    month = MonthField(label="Month")

    class Meta:
        model = ExchangeRate
        fields = ("currency", "to_currency", "month", "rate")

    def validate_unique(self):
        # The service upserts by currency, to currency and month.
        pass


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ServiceAdmin):
    """The month's exchange rates, saved through exchange_rates_set: a new rate stores the lines held for it, a
    changed one converts its month's lines again; audited. Never deleted (lines keep the rate they used)."""

    form = ExchangeRateForm
    list_display = ("currency", "to_currency", "month", "rate", "updated_by", "updated_at")
    list_filter = ("currency", "to_currency")
    date_hierarchy = "month"

    def get_readonly_fields(self, request, obj=None):
        # A rate is known by its pair and month: another pair or month is another rate.
        return () if obj is None else ("currency", "to_currency", "month")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from rebates.services.currencies import ExchangeRatesInvalid, exchange_rates_set

        data = {name: form.cleaned_data.get(name, getattr(obj, name)) for name in ("currency", "to_currency",
                                                                                    "month", "rate")}
        try:
            result = exchange_rates_set(rates=[data], by=request.user)
        except ExchangeRatesInvalid as refused:
            raise ValidationError({problem["field"]: problem["message"] for problem in refused.errors}) from refused
        obj.pk = result.rates[0].pk


@admin.register(HeldPurchaseLine)
class HeldPurchaseLineAdmin(ReadOnlyAdmin):
    """Lines held for a missing rate, as sent, with the reason: the rate's arrival stores them."""

    list_display = ("erp_line_id", "customer", "product", "month", "quantity", "amount", "currency", "reason")
    list_filter = ("currency", "month")
    search_fields = ("erp_line_id", "customer__code", "product__sku")
    list_select_related = ("customer", "product")
