"""Roles are groups with permissions, as docs/product.md's Users table says.

The visibility rule hangs on one permission, `customers.view_all_customers`: every role but the account
manager has it, so an account manager sees only the customers they manage.
"""

from django.contrib.auth.models import Group, Permission

ACCOUNT_MANAGER = "Account manager"
PRICING_MANAGER = "Pricing manager"
FINANCE = "Finance"
ERP_INTEGRATION = "ERP integration"
ADMINISTRATOR = "Administrator"

ROLES = (ACCOUNT_MANAGER, PRICING_MANAGER, FINANCE, ERP_INTEGRATION, ADMINISTRATOR)

# What the ERP reads (docs/product.md's Users table): customers, products, programs, agreements (with their
# rules and contract prices), purchase lines, accruals, statements and ledger entries, settlements, and the
# accrual runs it starts. Not price claims, market signals, competitors or detection rules.
_ERP_READS = [
    "customers.view_customer",
    "customers.view_segment",
    "rebates.view_productline",
    "rebates.view_product",
    "rebates.view_rebateprogram",
    "rebates.view_rebateagreement",
    "rebates.view_contractprice",
    "rebates.view_rebaterule",
    "rebates.view_tierband",
    "rebates.view_bonuscondition",
    "rebates.view_purchaseline",
    "rebates.view_ledgerentry",
    "rebates.view_settlement",
    "rebates.view_accrualrun",
]

_READ_ALL = [
    *_ERP_READS,
    "pricing_signals.view_competitor",
    "pricing_signals.view_priceclaim",
    "pricing_signals.view_marketsignal",
    "pricing_signals.view_detectionrule",
    # The month's exchange rates, and the lines held for one (through their customers: visible_to).
    "rebates.view_exchangerate",
    "rebates.view_heldpurchaseline",
    # The outlook after each run (next tier, forecast): the desk's own reading, not the ERP's.
    "rebates.view_agreementforecast",
    "customers.view_contact",
    "customers.view_contactcadence",
    # What a program's rebates bought (over the customers each may see): the desk's reading, not the ERP's.
    "programs.view_effectiveness",
]

ROLE_PERMISSIONS = {
    # Their own customers only: no view_all_customers.
    # Accrual runs are figures of the whole business, so they are not an account manager's to read.
    ACCOUNT_MANAGER: [p for p in _READ_ALL if p != "rebates.view_accrualrun"] + ["pricing_signals.add_priceclaim",
                                                                                   "customers.add_contact"],
    PRICING_MANAGER: _READ_ALL
    + [
        "customers.view_all_customers",
        "customers.add_contact",
        "pricing_signals.add_priceclaim",
        "pricing_signals.decide_marketsignal",
        "rebates.add_contractprice",
        # A customer who leaves forfeits its unpaid rebate: pricing (sales) managers and finance say so.
        "rebates.terminate_agreement",
        # Alternative terms for a program replayed on a past period's lines (nothing booked).
        "programs.run_whatif",
        # Segment-wide programs: enroll the target segments, change the template terms from a month.
        "rebates.enroll_program",
    ],
    FINANCE: _READ_ALL
    + [
        "customers.view_all_customers",
        "customers.view_auditrecord",
        "rebates.start_accrual_run",
        "rebates.add_settlement",
        "rebates.approve_settlement",
        "rebates.pay_settlement",
        "rebates.terminate_agreement",
        "rebates.export_accruals",
        "rebates.import_purchases",
        "rebates.view_importbatch",
        "rebates.lock_period",
        "rebates.view_periodlock",
        # The month's exchange rates (docs/currencies.md).
        "rebates.add_exchangerate",
        "rebates.change_exchangerate",
    ],
    ERP_INTEGRATION: _ERP_READS
    + [
        "customers.view_all_customers",
        "customers.add_customer",
        "customers.change_customer",
        "rebates.add_product",
        "rebates.change_product",
        "rebates.add_rebateprogram",
        "rebates.change_rebateprogram",
        "rebates.enroll_program",
        "rebates.add_rebateagreement",
        "rebates.change_rebateagreement",
        "rebates.add_purchaseline",
        "rebates.change_purchaseline",
        "rebates.start_accrual_run",
    ],
}


def _permission(dotted):
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def roles_sync():
    """Create the role groups and give each exactly its permissions (administrators get all)."""
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        if name == ADMINISTRATOR:
            wanted = list(Permission.objects.all())
        else:
            wanted = [_permission(dotted) for dotted in ROLE_PERMISSIONS[name]]
        group.permissions.set(wanted)


def roles_sync_after_migrate(sender, **kwargs):
    # Permissions are created app by app, in the order of INSTALLED_APPS; every one is there once the last app
    # with models has migrated (whichever app that is).
    from django.apps import apps

    if sender is [config for config in apps.get_app_configs() if config.models_module is not None][-1]:
        roles_sync()


def user_roles(user):
    """The role names of a user, superusers counting as administrators."""
    names = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
    if user.is_superuser:
        names.add(ADMINISTRATOR)
    return [role for role in ROLES if role in names]
