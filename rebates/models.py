"""Programs, agreements and their rules, purchases, the append-only accrual ledger, runs, settlements.

Money is Decimal with two places; unit prices keep four; quantities three; rates six. Months are
first-of-month dates.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models, transaction
from django.db.models import F, Q

from config.constraints import NamedConstraints
from config.validators import CODE_RULE, validate_code, validate_month, validate_term
from customers.models import Customer, Segment
from rebates.engine.kinds import LONGEST_WINDOW, RULE_KINDS
from rebates.querysets import (
    AgreementBalanceQuerySet,
    AgreementForecastQuerySet,
    AgreementQuerySet,
    ContractPriceQuerySet,
    LedgerEntryQuerySet,
    LedgerIsAppendOnly,
    ProductQuerySet,
    PurchaseLineQuerySet,
    SettlementQuerySet,
)


def money_field(**kwargs):
    return models.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def quantity_field(**kwargs):
    return models.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def unit_price_field(**kwargs):
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def rate_field(**kwargs):
    return models.DecimalField(max_digits=12, decimal_places=6, **kwargs)


def exchange_rate_field(**kwargs):
    return models.DecimalField(max_digits=20, decimal_places=10, **kwargs)


def first_of_month(field):
    return Q(**{f"{field}__day": 1})


class ProductLine(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Product(NamedConstraints, models.Model):
    sku = models.CharField("SKU", max_length=60, unique=True, validators=[validate_code], help_text=CODE_RULE)
    name = models.CharField(max_length=200)
    product_line = models.ForeignKey(ProductLine, on_delete=models.PROTECT, related_name="products")
    list_price = unit_price_field()
    launched_on = models.DateField(null=True, blank=True)
    discontinued_on = models.DateField(null=True, blank=True)
    clearance_from = models.DateField(null=True, blank=True, validators=[validate_month],
                                      help_text="First month on clearance (first of the month).")
    clearance_until = models.DateField(null=True, blank=True, validators=[validate_month],
                                       help_text="Last month on clearance (first of the month).")
    # Quantities, per-unit rates and tiers are in this unit; lines in another unit (ProductUnit) convert to it.
    base_unit = models.SlugField(max_length=20, default="each", db_default="each",
                                 help_text="The unit quantities are counted in (e.g. each).")

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="product_list_price_not_negative"),
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_blank"),
            models.CheckConstraint(
                condition=Q(discontinued_on__isnull=True)
                | Q(launched_on__isnull=True)
                | Q(discontinued_on__gte=F("launched_on")),
                name="product_discontinued_after_launch",
            ),
            models.CheckConstraint(
                condition=Q(clearance_from__isnull=True, clearance_until__isnull=True)
                | Q(clearance_until__gte=F("clearance_from")),
                name="product_clearance_window_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"


class ProductUnit(NamedConstraints, models.Model):
    """A unit a product is sold in besides its base unit: a box of 50, a case of 12 boxes (600)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="units")
    code = models.SlugField(max_length=20, help_text="The unit as the ERP names it (e.g. box, case).")
    base_quantity = models.DecimalField(max_digits=20, decimal_places=6,
                                        help_text="Base units in one of this unit (e.g. 50).")

    class Meta:
        ordering = ["product_id", "base_quantity", "code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="product_unit_code_unique"),
            models.CheckConstraint(condition=Q(base_quantity__gt=0), name="product_unit_base_quantity_positive"),
            models.CheckConstraint(condition=~Q(code=""), name="product_unit_code_not_blank"),
        ]

    def __str__(self):
        return f"{self.code} = {self.base_quantity.normalize():f} {self.product.base_unit}"


class RebateProgram(models.Model):
    """A named template that groups similar agreements ("2026 back-end program, widgets")."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # Where the program's ledger posts in the general ledger (rebates/journal.py).
    gl_expense_account = models.CharField(
        "GL rebate expense account", max_length=20, default="6100",
        help_text="Debited by what the program's agreements earn, credited back when a customer forfeits.")
    gl_liability_account = models.CharField(
        "GL accrued rebate liability account", max_length=20, default="2350",
        help_text="Credited by what is earned, debited by payouts and forfeitures.")
    gl_credit_note_account = models.CharField(
        "GL credit note account", max_length=20, default="1200",
        help_text="Credited by payouts: the credit notes that pay the customers.")
    cost_centre = models.CharField(max_length=20, blank=True, default="",
                                   help_text="The cost centre the program's postings carry (blank: none).")
    # A segment-wide program: every active customer of a target segment gets an agreement from the template
    # (rebates/services/enrollment.py). The template holds the term, settlement frequency, scope and rule, as
    # ids and strings (enrollment.template_json); null for a program of 1:1 deals only.
    target_segments = models.ManyToManyField(Segment, blank=True, related_name="programs")
    template = models.JSONField(null=True, blank=True, default=None,
                                help_text="Template terms of a segment-wide program (set through its service).")

    class Meta:
        ordering = ["name"]
        permissions = [("enroll_program", "Can enroll a program's segments and change its template terms")]

    def __str__(self):
        return self.name


class RebateAgreement(NamedConstraints, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        TERMINATED = "terminated", "Terminated"
        EXPIRED = "expired", "Expired"
        SETTLED = "settled", "Settled"

    class SettlementFrequency(models.TextChoices):
        ANNUAL = "annual", "Annual"
        QUARTERLY = "quarterly", "Quarterly"
        MONTHLY = "monthly", "Monthly"

    class GroupPayout(models.TextChoices):
        # A buying group's agreement (docs/buying-groups.md): paid to the group, or split among its members by
        # their share of the settlement period's volume.
        GROUP = "group", "Paid to the group"
        SPLIT = "split", "Split among the members"

    number = models.CharField(max_length=40, unique=True, validators=[validate_code], help_text=CODE_RULE)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="agreements")
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="agreements")
    products = models.ManyToManyField(Product, blank=True, related_name="agreements")
    product_lines = models.ManyToManyField(ProductLine, blank=True, related_name="agreements")
    start_month = models.DateField(help_text="First month of the term (first of the month).",
                                   validators=[validate_month])
    end_month = models.DateField(help_text="Last month of the term (first of the month).", validators=[validate_month])
    committed_monthly_quantity = quantity_field(null=True, blank=True)
    settlement_frequency = models.CharField(
        max_length=10, choices=SettlementFrequency.choices, default=SettlementFrequency.ANNUAL
    )
    # Interim payments inside each settlement period (quarterly on an annual agreement, say): the nightly
    # close drafts one when an interim period ends. Blank: none.
    interim_frequency = models.CharField(
        max_length=10, choices=SettlementFrequency.choices[1:], blank=True, default="", db_default="",
        help_text="Interim payments within each settlement period (shorter than it); blank for none.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    terminated_on = models.DateField(null=True, blank=True)
    # Blank in the database too, so the bulk loaders that name their columns need not name this one.
    termination_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped whenever terms change, so the incremental accrual run knows what to recompute.
    terms_changed_at = models.DateTimeField(auto_now=True)
    # Made from its program's template (a segment-wide program), and whether its own rule was changed since:
    # an overridden agreement keeps its rule when the template changes.
    enrolled = models.BooleanField(default=False, db_default=False,
                                   help_text="Made from its program's template for a customer of a target segment.")
    overridden = models.BooleanField(default=False, db_default=False,
                                     help_text="Its rule was changed on its own: template changes pass it by.")

    group_payout = models.CharField(
        max_length=8, choices=GroupPayout.choices, default=GroupPayout.GROUP, db_default="group",
        help_text="A buying group's agreement: paid to the group, or split among its members by their share of "
                  "the period's volume.")

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(end_month__gte=F("start_month")), name="agreement_term_end_after_start"),
            models.CheckConstraint(condition=first_of_month("start_month"), name="agreement_start_is_month"),
            models.CheckConstraint(condition=first_of_month("end_month"), name="agreement_end_is_month"),
            models.CheckConstraint(
                condition=Q(committed_monthly_quantity__isnull=True) | Q(committed_monthly_quantity__gt=0),
                name="agreement_commitment_positive",
            ),
            models.CheckConstraint(
                condition=Q(status="terminated", terminated_on__isnull=False) | ~Q(status="terminated"),
                name="agreement_terminated_has_date",
            ),
            models.CheckConstraint(condition=~Q(number=""), name="agreement_number_not_blank"),
            models.CheckConstraint(
                condition=Q(interim_frequency="")
                | Q(settlement_frequency="annual", interim_frequency__in=["quarterly", "monthly"])
                | Q(settlement_frequency="quarterly", interim_frequency="monthly"),
                name="agreement_interim_shorter_than_settlement",
                violation_error_message="Interim payments must come more often than the settlement period: "
                                        "quarterly or monthly within an annual one, monthly within a quarterly one.",
            ),
            models.UniqueConstraint(fields=["program", "customer", "start_month"], condition=Q(enrolled=True),
                                    name="one_enrolled_agreement_per_customer_and_start"),
            models.CheckConstraint(condition=Q(enrolled=True) | Q(overridden=False),
                                   name="agreement_overridden_only_when_enrolled"),
        ]
        indexes = [
            models.Index(fields=["customer", "status"]),
            # Carries the program, so the GL journal's join of every ledger entry to its agreement's program
            # builds its hash from this index alone, shared by the parallel workers (docs/finance-reports.md).
            models.Index(fields=["id"], include=["program"], name="agreement_id_program"),
        ]
        permissions = [("terminate_agreement", "Can terminate an agreement early (forfeits its unpaid rebate)")]

    def __str__(self):
        return self.number

    @property
    def currency(self) -> str:
        """The agreement books in its customer's currency (docs/currencies.md): one place holds it."""
        return self.customer.currency

    def clean(self):
        validate_term(self.start_month, self.end_month)


class ContractPrice(NamedConstraints, models.Model):
    """One step of the contract net unit price of one product of an agreement's scope.

    An agreement prices each product of its scope on its own: a product named in the scope, or a product of
    a line in the scope, has its stated price steps here; a line in the scope may also carry a discount off
    list price (LineDiscount) for the products of the line with no stated price. The price in force on a
    date is the rule of rebates.prices."""

    agreement = models.ForeignKey(RebateAgreement, on_delete=models.PROTECT, related_name="prices")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="contract_prices")
    effective_from = models.DateField()
    net_price = unit_price_field()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContractPriceQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "product", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "product", "effective_from"],
                                    name="one_contract_price_per_product_and_date"),
            models.CheckConstraint(condition=Q(net_price__gt=0), name="contract_price_positive"),
        ]
        # The price of a product on a date is read by product across agreements (exposure, our average).
        indexes = [models.Index(fields=["product", "agreement", "effective_from"], name="contract_price_product_idx")]

    def __str__(self):
        return f"{self.agreement} {self.product_id} {self.net_price} from {self.effective_from}"


class LineDiscount(NamedConstraints, models.Model):
    """One step of a line scope's discount off list price: a product of the line with no stated price of its
    own (ContractPrice) is priced at its list price less `discount_percent` (rebates.prices)."""

    agreement = models.ForeignKey(RebateAgreement, on_delete=models.PROTECT, related_name="line_discounts")
    product_line = models.ForeignKey(ProductLine, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField()
    discount_percent = models.DecimalField(max_digits=6, decimal_places=3)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContractPriceQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "product_line", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "product_line", "effective_from"],
                                    name="one_line_discount_per_line_and_date"),
            models.CheckConstraint(condition=Q(discount_percent__gte=0, discount_percent__lt=100),
                                   name="line_discount_percent_in_range"),
        ]

    def __str__(self):
        return f"{self.agreement} line {self.product_line_id} -{self.discount_percent}% from {self.effective_from}"


def kind_constraints() -> list[models.CheckConstraint]:
    """The database's side of the engine's kinds: the kind is one of them, and a rule has the settings its
    kind requires. One check per requirement, over the kinds that share it (a choice set means not blank; an
    amount given means not null and zero or more)."""
    kinds_of = {}
    for code, kind in RULE_KINDS.items():
        for requirement in kind.requires:
            kinds_of.setdefault(requirement, []).append(code)
    checks = [models.CheckConstraint(condition=Q(kind__in=list(RULE_KINDS)), name="rule_kind_is_known")]
    for requirement, codes in kinds_of.items():
        has = Q()
        for field in requirement.chosen:
            has &= ~Q(**{field: ""})
        for field in requirement.amounts:
            has &= Q(**{f"{field}__isnull": False, f"{field}__gte": 0})
        checks.append(models.CheckConstraint(condition=~Q(kind__in=codes) | has, name=requirement.name))
    return checks


class RebateRule(NamedConstraints, models.Model):
    """The agreement's one rule. `rate` is money per unit or a percent, as `rate_type` says.

    Its kinds, and the settings each kind requires, are the engine's (rebates/engine/kinds.py)."""

    Kind = models.TextChoices("Kind", [(code.upper(), (code, kind.name)) for code, kind in RULE_KINDS.items()])

    class RateType(models.TextChoices):
        PER_UNIT = "per_unit", "Per unit"
        PERCENT = "percent", "Percent"

    class TierBasis(models.TextChoices):
        QUANTITY = "quantity", "Period-to-date quantity"
        AMOUNT = "amount", "Period-to-date amount"
        PERCENT_OF_BASELINE = "percent_of_baseline", "Amount as % of baseline"

    class TierMethod(models.TextChoices):
        RETROACTIVE = "retroactive", "Retroactive"
        RETROACTIVE_ON_GROWTH = "retroactive_on_growth", "Retroactive on growth"
        INCREMENTAL = "incremental", "Incremental"

    class Baseline(models.TextChoices):
        LAST_YEAR = "last_year", "Same period last year"
        STATED = "stated", "Stated amount"

    agreement = models.OneToOneField(RebateAgreement, on_delete=models.PROTECT, related_name="rule")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rate_type = models.CharField(max_length=10, choices=RateType.choices, default=RateType.PER_UNIT)
    rate = rate_field(null=True, blank=True, help_text="Per-unit amount or percent; bands carry it for tiered.")
    tier_basis = models.CharField(max_length=20, choices=TierBasis.choices, blank=True)
    tier_method = models.CharField(max_length=24, choices=TierMethod.choices, blank=True)
    baseline = models.CharField(max_length=10, choices=Baseline.choices, blank=True)
    baseline_amount = money_field(null=True, blank=True, help_text="Stated baseline per settlement period.")
    minimum = quantity_field(null=True, blank=True, help_text="Period-to-date volume before anything is earned.")
    cap = money_field(null=True, blank=True, help_text="The most a settlement period can earn.")
    commitment_rule = models.BooleanField(
        default=False, help_text="A month below the committed quantity earns no rebate."
    )
    active_months = models.SmallIntegerField(
        null=True, blank=True, help_text="Conditional rules: the months bought in, of the last active_window."
    )
    clearance_rate = rate_field(null=True, blank=True,
                                help_text="Clearance rules: the percent more on products in their clearance window.")
    min_product_lines = models.SmallIntegerField(
        null=True, blank=True, help_text="Product mix rules: the product lines a period must buy from."
    )
    focus_line = models.ForeignKey(
        ProductLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Product mix rules: the product line whose share of the period is measured.",
    )
    focus_share = rate_field(null=True, blank=True,
                             help_text="Product mix rules: the focus line's least percent of the period's purchases.")
    active_window = models.SmallIntegerField(
        null=True, blank=True, help_text=f"Conditional rules: the last months looked at, {LONGEST_WINDOW} at most."
    )

    class Meta:
        constraints = [
            *kind_constraints(),
            models.CheckConstraint(
                condition=~Q(baseline="stated") | Q(baseline_amount__isnull=False, baseline_amount__gte=0),
                name="rule_stated_baseline_has_amount",
            ),
            models.CheckConstraint(
                condition=Q(minimum__isnull=True) | Q(minimum__gte=0), name="rule_minimum_not_negative"
            ),
            models.CheckConstraint(condition=Q(cap__isnull=True) | Q(cap__gte=0), name="rule_cap_not_negative"),
            models.CheckConstraint(
                condition=(Q(active_months__isnull=True, active_window__isnull=True)
                           | Q(active_months__gte=1, active_window__gte=F("active_months"),
                               active_window__lte=LONGEST_WINDOW)),
                name="rule_window_holds_active_months",
            ),
            models.CheckConstraint(
                condition=~Q(kind="mix") | Q(min_product_lines__isnull=False) | Q(focus_share__isnull=False),
                name="rule_mix_has_a_condition",
            ),
            models.CheckConstraint(
                condition=Q(min_product_lines__isnull=True) | Q(min_product_lines__gte=1),
                name="rule_mix_lines_at_least_one",
            ),
            models.CheckConstraint(
                condition=Q(focus_share__isnull=True, focus_line__isnull=True)
                | Q(focus_share__isnull=False, focus_line__isnull=False, focus_share__gte=0, focus_share__lte=100),
                name="rule_mix_focus_share_has_line",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} rule of {self.agreement}"


class TierBand(NamedConstraints, models.Model):
    """A band starts at its threshold (inclusive) and runs to the next band's threshold.

    Ordered by threshold with one band per threshold, bands are ascending with no gaps by construction.
    """

    rule = models.ForeignKey(RebateRule, on_delete=models.CASCADE, related_name="bands")
    threshold = models.DecimalField(max_digits=16, decimal_places=3)
    rate = rate_field()

    class Meta:
        ordering = ["rule", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "threshold"], name="one_band_per_threshold"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="band_threshold_not_negative"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="band_rate_not_negative"),
        ]

    def __str__(self):
        return f"from {self.threshold}: {self.rate}"


class BonusCondition(NamedConstraints, models.Model):
    """Product launch: an extra percent on the whole scope in a period with enough of a new product."""

    class Kind(models.TextChoices):
        PRODUCT_LAUNCH = "product_launch", "Product launch"

    rule = models.ForeignKey(RebateRule, on_delete=models.CASCADE, related_name="bonuses")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PRODUCT_LAUNCH)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    minimum_quantity = quantity_field()
    extra_percent = rate_field()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(minimum_quantity__gt=0), name="bonus_minimum_positive"),
            models.CheckConstraint(condition=Q(extra_percent__gt=0), name="bonus_percent_positive"),
        ]

    def __str__(self):
        return f"+{self.extra_percent}% with {self.minimum_quantity} of {self.product.sku}"


class ImportBatch(models.Model):
    class Source(models.TextChoices):
        API = "api", "API"
        FILE = "file", "File import"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PREVIEWED = "previewed", "Previewed"
        IMPORTING = "importing", "Importing"
        STORED = "stored", "Stored"
        REJECTED = "rejected", "Rejected"

    class Kind(models.TextChoices):
        PURCHASES = "purchases", "Purchase lines"
        MEMBERSHIPS = "memberships", "Buying-group memberships"

    source = models.CharField(max_length=10, choices=Source.choices)
    # What the file holds: purchase lines (the ingest's) or buying-group memberships.
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PURCHASES)
    file_name = models.CharField(max_length=255, blank=True)
    # The uploaded file, kept until the import is committed or rejected.
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    # The lines as the preview checked them (rebates.imports.checked), so the commit does not read the file again.
    checked_lines = models.FileField(upload_to="imports/checked/%Y/%m/", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    # Every bad row and column, e.g. [{"row": 7, "field": "quantity", "message": "..."}].
    errors = models.JSONField(default=list, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    unmatched_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self):
        return f"{self.get_source_display()} batch {self.pk} ({self.line_count} lines)"


class PurchaseLine(NamedConstraints, models.Model):
    """One ERP line. A resend with the same erp_line_id replaces the line, never duplicates it."""

    class Source(models.TextChoices):
        API = "api", "API"
        FILE = "file", "File import"
        MANUAL = "manual", "Manual"

    erp_line_id = models.CharField("ERP line id", max_length=80, unique=True)
    # No index of its own: the (customer, month) and (customer, product, month) indexes lead with it.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="purchases", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchases")
    month = models.DateField()
    quantity = quantity_field(help_text="In the product's base unit; negative for credit notes.")
    unit_price = unit_price_field(help_text="Per base unit.")
    amount = money_field(help_text="Net amount of the line; negative for credit notes.")
    # A line sent in another unit than the product's base unit keeps the unit and its figures as sent;
    # blank (and no figures) for a line in the base unit.
    unit = models.CharField(max_length=20, blank=True, default="", db_default="",
                            help_text="The unit the line was sent in; blank for the base unit.")
    quantity_in_unit = quantity_field(null=True, blank=True, help_text="The quantity as sent, in `unit`.")
    unit_price_in_unit = unit_price_field(null=True, blank=True, help_text="The unit price as sent, per `unit`.")
    # A line sent in another currency than its customer's keeps the currency, its figures as sent and the rate
    # of its month it was converted at; blank (and no figures) for a line in the customer's currency.
    currency = models.CharField(max_length=3, blank=True, default="", db_default="",
                                help_text="The currency the line was sent in; blank for the customer's.")
    unit_price_in_currency = unit_price_field(null=True, blank=True,
                                              help_text="The unit price as sent, in `currency` (per unit as sent).")
    amount_in_currency = money_field(null=True, blank=True, help_text="The amount as sent, in `currency`.")
    exchange_rate = exchange_rate_field(null=True, blank=True,
                                        help_text="The month's rate the line converted at (1 `currency` = rate).")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    import_batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PurchaseLineQuerySet.as_manager()

    class Meta:
        ordering = ["month", "erp_line_id"]
        permissions = [("import_purchases", "Can import purchase lines from files")]
        constraints = [
            models.CheckConstraint(condition=first_of_month("month"), name="purchase_month_is_month"),
            models.CheckConstraint(condition=~Q(erp_line_id=""), name="purchase_erp_line_id_not_blank"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="purchase_unit_price_not_negative"),
            models.CheckConstraint(
                condition=Q(unit="", quantity_in_unit__isnull=True, unit_price_in_unit__isnull=True)
                | (~Q(unit="") & Q(quantity_in_unit__isnull=False, unit_price_in_unit__isnull=False)),
                name="purchase_unit_figures_with_unit",
            ),
            models.CheckConstraint(
                condition=Q(currency="", unit_price_in_currency__isnull=True, amount_in_currency__isnull=True,
                            exchange_rate__isnull=True)
                | (~Q(currency="") & Q(unit_price_in_currency__isnull=False, amount_in_currency__isnull=False,
                                       exchange_rate__gt=0)),
                name="purchase_currency_figures_with_currency",
            ),
        ]
        indexes = [
            # A customer's lines of a month with what the accrual run sums of them: its reads of a few months
            # (a rerun's changed months) are answered by the index alone, not a page of lines per line.
            models.Index(fields=["customer", "month"], include=["product", "quantity", "amount"],
                         name="purchase_customer_month_sums"),
            # What a customer bought of one product: a signal's exposure and net prices ask it per agreement.
            # With the quantity beside it, the last month each customer bought each product (our average
            # prices of every product a nightly sweep touches) is one pass over the index in its order.
            models.Index(fields=["customer", "product", "month"], include=["quantity"],
                         name="purchase_customer_product_qty"),
            models.Index(fields=["product", "month"]),
            models.Index(fields=["updated_at"]),
        ]

    def __str__(self):
        return f"{self.erp_line_id}: {self.quantity} x {self.product_id} in {self.month:%Y-%m}"


class ExchangeRate(NamedConstraints, models.Model):
    """What one unit of `currency` is worth in `to_currency` in one month (1 EUR = 1.0850 USD in 2026-03).

    Lines of that month sent in `currency` for a customer in `to_currency` convert at it (rebates.currencies);
    one rate per pair and month: a correction replaces it and re-converts the month's lines."""

    currency = models.CharField(max_length=3, help_text="ISO 4217 code of the currency the rate prices (e.g. EUR).")
    to_currency = models.CharField(max_length=3, help_text="ISO 4217 code it is priced in (e.g. USD).")
    month = models.DateField(help_text="The month the rate holds for (first of the month).",
                             validators=[validate_month])
    rate = exchange_rate_field(help_text="Units of `to_currency` in one unit of `currency`.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency", "to_currency", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "to_currency", "month"], name="exchange_rate_one_per_month"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(condition=first_of_month("month"), name="exchange_rate_month_is_month"),
            models.CheckConstraint(condition=~Q(currency=F("to_currency")), name="exchange_rate_two_currencies"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$", to_currency__regex=r"^[A-Z]{3}$"),
                                   name="exchange_rate_codes"),
        ]

    def __str__(self):
        return f"1 {self.currency} = {self.rate.normalize():f} {self.to_currency} in {self.month:%Y-%m}"


class HeldPurchaseLine(NamedConstraints, models.Model):
    """A line held because its month has no rate from its currency to its customer's: kept as sent, with the
    reason, never converted at a guess. The rate's arrival stores it as a purchase line; a resend of the same
    erp_line_id replaces it (or stores it, when it can be converted now)."""

    erp_line_id = models.CharField("ERP line id", max_length=80, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="held_purchases")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="held_purchases")
    month = models.DateField()
    # As sent: in `unit` (blank: the base unit) and in `currency`.
    quantity = quantity_field()
    unit_price = unit_price_field()
    amount = money_field()
    unit = models.CharField(max_length=20, blank=True, default="")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=PurchaseLine.Source.choices)
    import_batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="held_lines")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PurchaseLineQuerySet.as_manager()

    class Meta:
        ordering = ["month", "erp_line_id"]
        constraints = [
            models.CheckConstraint(condition=first_of_month("month"), name="held_purchase_month_is_month"),
            models.CheckConstraint(condition=~Q(currency=""), name="held_purchase_has_currency"),
        ]
        indexes = [models.Index(fields=["currency", "month"])]

    def __str__(self):
        return f"{self.erp_line_id} (held: {self.reason})"


class ExportJob(NamedConstraints, models.Model):
    """A large export made in the background: its progress is polled, its file downloaded when done."""

    class Kind(models.TextChoices):
        ACCRUAL_SHEET = "accrual_sheet", "Finance accrual sheet"
        AGREEMENT_SHEET = "agreement_sheet", "Agreement monthly sheet"

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel (.xlsx)"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.XLSX)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports")
    # The same filters as the accruals API: customer, manager, program, agreement, month_from, month_to.
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_le_100")]

    def __str__(self):
        return f"{self.get_kind_display()} export {self.pk} ({self.status})"


class AccrualRun(NamedConstraints, models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Nightly schedule"
        FINANCE = "finance", "Finance"
        API = "api", "API"
        COMMAND = "command", "Management command"
        ADMIN = "admin", "Admin"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    as_of = models.DateField()
    full = models.BooleanField(default=False, help_text="Recompute every agreement, not only changed ones.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    agreements_count = models.PositiveIntegerField(default=0)
    entries_count = models.PositiveIntegerField(default=0)
    total_amount = money_field(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Purchases and terms changed after this instant are what the next incremental run recomputes.
    changes_seen_until = models.DateTimeField(null=True, blank=True)
    # The marks this run saw (a token of rebates.sql.marks: its transaction and snapshot): they are
    # consumed when it succeeds; marks committed later wait for the next run.
    marks_snapshot = models.TextField(blank=True)
    # Touched by every finished chunk: a running run that stops moving is known to be dead.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the run booked per currency ({code: amount as a decimal string}), stored when it succeeds: its
    # entries never change after that, so pages read this instead of summing them. NULL: not stored (a run
    # still going on, failed or skipped): read from its entries.
    booked_totals = models.JSONField(
        null=True, blank=True, default=None,
        help_text="What the run booked per currency, stored when it succeeded (amounts as decimal strings).")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("start_accrual_run", "Can start an accrual run")]
        constraints = [
            # Only one run at a time: the database refuses a second one that is running.
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_accrual_run"),
            models.CheckConstraint(condition=Q(chunks_done__lte=F("chunks_total")), name="run_chunks_done_le_total"),
        ]

    def __str__(self):
        return f"Accrual run {self.pk} as of {self.as_of} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def booked_by_currency(self) -> dict[str, Decimal] | None:
        """The stored `booked_totals` as Decimals per currency, or None when they were not stored."""
        if self.booked_totals is None:
            return None
        return {code: Decimal(amount) for code, amount in self.booked_totals.items()}

    @property
    def progress(self) -> int:
        """Chunks booked out of the run's chunks, 0 to 100 (100 once it succeeded or was skipped)."""
        if self.status in (self.Status.SUCCEEDED, self.Status.SKIPPED):
            return 100
        return 100 * self.chunks_done // self.chunks_total if self.chunks_total else 0


class AccrualChunk(NamedConstraints, models.Model):
    """A range of agreements of one run: booked in one transaction by one task, or not at all."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    run = models.ForeignKey(AccrualRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_agreement_id = models.BigIntegerField()
    last_agreement_id = models.BigIntegerField()
    agreement_ids = models.JSONField(default=list, help_text="The agreements this chunk recomputes.")
    # {"<agreement id>": ["YYYY-MM-DD", ...]}: for an agreement recomputed in part, the months whose
    # purchases changed; only their settlement periods are recomputed. Absent: the whole term.
    changed_months = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    entries_count = models.PositiveIntegerField(default=0)
    total_amount = money_field(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="one_chunk_number_per_run"),
            models.CheckConstraint(
                condition=Q(last_agreement_id__gte=F("first_agreement_id")), name="chunk_range_ordered"
            ),
        ]

    def __str__(self):
        return f"chunk {self.number} of run {self.run_id} ({self.status})"


_REFERENCE = {"on_delete": models.DO_NOTHING, "db_constraint": False, "db_index": False}


class AccrualMark(NamedConstraints, models.Model):
    """A change that can alter expected ledgers, written by PostgreSQL triggers (migration
    0010_accrual_mark_triggers), whoever makes it: the ORM, the admin, the API, an import or raw SQL.

    Either an agreement to recompute over its whole term (`agreement_id`: its scope, rule, bands, bonuses,
    prices, term, status or its customer's status changed), or a purchase cell (customer, product, the
    product line the product had, month) whose lines were added, changed, moved or deleted, or whose
    product moved to another line. The next accrual run reads the marks committed before it started and
    deletes them once it has succeeded; a run that fails leaves them for the next one.
    """

    # Plain references: a mark outlives nothing it names (those rows are protected), and a constraint or an
    # index on each would cost every purchase statement for nothing.
    agreement = models.ForeignKey(RebateAgreement, null=True, related_name="+", **_REFERENCE)
    customer = models.ForeignKey(Customer, null=True, related_name="+", **_REFERENCE)
    product = models.ForeignKey(Product, null=True, related_name="+", **_REFERENCE)
    product_line = models.ForeignKey(ProductLine, null=True, related_name="+", **_REFERENCE)
    month = models.DateField(null=True)
    # What changed: purchase, product_line, scope, rule, price, agreement, customer, truncate.
    reason = models.CharField(max_length=20)
    # The writing transaction's id (pg_current_xact_id): a run consumes the marks its snapshot can see.
    xact = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(agreement__isnull=False) | Q(customer__isnull=False, month__isnull=False),
                name="mark_names_agreement_or_cell",
            ),
        ]

    def __str__(self):
        if self.agreement_id is not None:
            return f"{self.reason}: agreement {self.agreement_id}"
        return f"{self.reason}: customer {self.customer_id}, product {self.product_id}, {self.month:%Y-%m}"


class AccrualCheck(models.Model):
    """The nightly check: a random sample of agreements recomputed in full (nothing booked) against the
    ledger. Any difference is an alert for finance and the operator."""

    class Status(models.TextChoices):
        CLEAN = "clean", "Clean"
        DIFFERENCES = "differences", "Differences found"

    as_of = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices)
    agreements_checked = models.PositiveIntegerField(default=0)
    # Skipped: agreements with changes the next run will book (their ledger is expected to differ yet).
    agreements_pending = models.PositiveIntegerField(default=0)
    differences_count = models.PositiveIntegerField(default=0)
    # [{"agreement": number, "month": "YYYY-MM", "quantity": .., "eligible_amount": .., "amount": ..}]: what a
    # run would book to bring the month to what the engine expects (decimal strings).
    differences = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Accrual check {self.pk} as of {self.as_of} ({self.get_status_display()})"


class Settlement(NamedConstraints, models.Model):
    """The closing of one settlement period of an agreement (or an interim payment within it)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        # Above settings.SETTLEMENT_SECOND_APPROVAL_ABOVE: approved once, a second person must approve too.
        APPROVING = "approving", "Awaiting second approval"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        FORFEITED = "forfeited", "Forfeited"

    agreement = models.ForeignKey(RebateAgreement, on_delete=models.PROTECT, related_name="settlements")
    period_start = models.DateField()
    period_end = models.DateField()
    interim = models.BooleanField(default=False)
    accrued_total = money_field(default=0)
    adjustments = money_field(default=0)
    already_paid = money_field(default=0)
    amount = money_field(default=0, help_text="What this settlement pays.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Indexed by the partial indexes below: a draft has neither, and the nightly close drafts thousands.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # The second approver of a settlement above the threshold; never the first (a check constraint).
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    paid_on = models.DateField(null=True, blank=True)
    payment_reference = models.CharField(max_length=80, blank=True, help_text="Credit note number.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Its agreement's currency (the customer's, which cannot change once it has agreements), set when drafted,
    # so finance's settlements waiting sum per currency without joining the agreements and customers. NULL
    # for a row written without it, which is summed through its agreement's customer instead.
    currency = models.CharField(max_length=3, null=True, blank=True, editable=False,
                                help_text="The agreement's currency, set when the settlement is drafted.")

    objects = SettlementQuerySet.as_manager()

    class Meta:
        ordering = ["-period_end", "agreement"]
        permissions = [
            ("approve_settlement", "Can approve a settlement"),
            ("pay_settlement", "Can pay a settlement"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="settlement_period_ordered"),
            # A settlement period closes once; interim payments within it are separate rows.
            models.UniqueConstraint(
                fields=["agreement", "period_start"], condition=Q(interim=False), name="one_closing_per_period"
            ),
            # One live interim payment per month it runs to: a second would pay nothing but noise.
            models.UniqueConstraint(
                fields=["agreement", "period_start", "period_end"], condition=Q(interim=True) & ~Q(status="forfeited"),
                name="one_interim_per_through_month",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | (Q(paid_on__isnull=False) & ~Q(payment_reference="")),
                name="settlement_paid_has_date_and_reference",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approving", "approved", "paid"]) | Q(approved_by__isnull=False),
                name="settlement_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=Q(second_approved_by__isnull=True) | ~Q(second_approved_by=F("approved_by")),
                name="settlement_second_approver_differs",
                violation_error_message="The second approval must come from another person than the first.",
            ),
        ]
        # The settlements page lists them by status, newest period first: read in that order, not sorted.
        # Only deleting a user looks settlements up by approver or payer: indexed where there is one, so
        # drafting a settlement (none yet) writes neither index.
        indexes = [
            models.Index(fields=["status", "-period_end"], name="settlement_status_end_idx"),
            models.Index(fields=["approved_by"], condition=Q(approved_by__isnull=False),
                         name="settlement_approved_by_idx"),
            models.Index(fields=["paid_by"], condition=Q(paid_by__isnull=False), name="settlement_paid_by_idx"),
            models.Index(fields=["second_approved_by"], condition=Q(second_approved_by__isnull=False),
                         name="settlement_second_approver_idx"),
            # The few rows written without their currency, found without reading the others.
            models.Index(fields=["status"], condition=Q(currency__isnull=True), name="settlement_no_currency_idx"),
        ]

    def __str__(self):
        return f"{self.agreement} {self.period_start:%Y-%m}..{self.period_end:%Y-%m} ({self.status})"

    def save(self, *args, **kwargs):
        if self._state.adding and self.currency is None and self.agreement_id is not None:
            self.currency = self.agreement.currency
        super().save(*args, **kwargs)


class SettlementPart(NamedConstraints, models.Model):
    """A member's part of a paid settlement of a buying group's agreement split among its members
    (docs/buying-groups.md): its volume in the settlement's months, the period's volume, its part of what the
    settlement pays, and its own credit note. Written once, when the settlement is paid; the ledger books one
    payout of the whole for the agreement, and the parts sum to it exactly."""

    # Looked up by settlement through the unique key below; by member (its customer page) through the FK's index.
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="parts", db_index=False)
    member = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="settlement_parts")
    volume = models.DecimalField(max_digits=18, decimal_places=3,
                                 help_text="The member's volume in the settlement's months (units or net amount).")
    total_volume = models.DecimalField(max_digits=18, decimal_places=3,
                                       help_text="Every member's volume in the settlement's months.")
    amount = money_field(help_text="What the settlement pays this member.")
    payment_reference = models.CharField(max_length=80, help_text="The member's credit note number.")

    class Meta:
        ordering = ["settlement", "member__code"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "member"], name="settlement_part_once_per_member"),
            models.UniqueConstraint(fields=["payment_reference"], name="settlement_part_credit_note_once",
                                    violation_error_message="That credit note number is already another "
                                                            "member's part."),
            models.CheckConstraint(condition=~Q(payment_reference=""), name="settlement_part_has_credit_note"),
        ]

    def __str__(self):
        return f"{self.settlement_id} {self.member_id}: {self.amount} ({self.payment_reference})"


class LedgerEntry(NamedConstraints, models.Model):
    """An append-only accrual ledger entry. The balance of an agreement is the sum of its entries."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", "Accrual"
        CATCH_UP = "catch_up", "Catch-up"
        ADJUSTMENT = "adjustment", "Adjustment"
        FORFEITURE = "forfeiture", "Forfeiture"
        PAYOUT = "payout", "Payout"

    # Indexed by the (agreement, period, kind) index below, which serves every read by agreement: a second
    # index on the agreement alone would only slow each booking down.
    # The three references are checked by the database once per INSERT statement, not row by row
    # (migration 0035: a foreign key's row checks cost as much as the insert itself when a run books 200,000
    # entries); an entry naming no such agreement, run or settlement is refused all the same, and a row the
    # ledger names cannot be deleted.
    agreement = models.ForeignKey(RebateAgreement, on_delete=models.PROTECT, related_name="entries", db_index=False,
                                  db_constraint=False)
    # The month the entry is booked in (first of the month): the month it concerns, unless that month was
    # locked when it was booked; then the first open month after it (docs/period-lock.md).
    period = models.DateField(help_text="The month the entry is booked in (first of the month).")
    concerns = models.DateField(
        blank=True, help_text="The month the entry is for (first of the month); its booking month unless that "
                              "month was locked.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = quantity_field(default=0)
    eligible_amount = money_field(default=0)
    amount = money_field()
    accrual_run = models.ForeignKey(AccrualRun, on_delete=models.PROTECT, null=True, blank=True, related_name="entries",
                                    db_constraint=False)
    # Only payouts name a settlement: indexed where it is set (below), so an accrual's booking skips the index.
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="entries",
                                   db_constraint=False, db_index=False)
    # Names what the entry books (agreement, month, kind, revision): the same booking twice is refused (by
    # the unique constraint below: only equality is ever asked of it, so no pattern index beside it).
    booking_key = models.CharField(max_length=120)
    booked_at = models.DateTimeField(auto_now_add=True)
    # Where the entry posts in the GL journal, as its agreement stood when it was booked: the agreement's program
    # and its customer's currency (docs/finance-reports.md), so the journal sums the ledger without joining every
    # entry to its agreement and customer. Set by every writer (`stamp_entries`, the engine's COPY, the flat
    # rules' INSERT); an entry without them (NULL) posts to its agreement's program and currency of today.
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                db_constraint=False, db_index=False,
                                help_text="The agreement's program when the entry was booked (GL journal).")
    currency = models.CharField(max_length=3, null=True, blank=True,
                                help_text="The agreement's currency when the entry was booked (GL journal).")

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "period", "id"]
        verbose_name_plural = "ledger entries"
        permissions = [("export_accruals", "Can export accrual sheets and the liability report")]
        constraints = [
            models.CheckConstraint(condition=first_of_month("period"), name="entry_period_is_month"),
            models.CheckConstraint(condition=first_of_month("concerns"), name="entry_concerns_is_month"),
            # A difference for a locked month is booked later, never earlier.
            models.CheckConstraint(condition=Q(concerns__lte=F("period")), name="entry_concerns_not_after_period"),
            models.CheckConstraint(
                condition=~Q(kind__in=["payout", "forfeiture"]) | Q(amount__lte=0),
                name="entry_payout_and_forfeiture_not_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="payout") | Q(settlement__isnull=False), name="entry_payout_names_settlement"
            ),
            models.UniqueConstraint(fields=["booking_key"], name="entry_booked_once"),
        ]
        # Carries the amount, so sums of an agreement's entries (the aged liability's months) read the index
        # alone, never the table.
        indexes = [models.Index(fields=["agreement", "period", "kind"], include=["amount"],
                                name="entry_agreement_period_kind"),
                   models.Index(fields=["settlement"], condition=Q(settlement__isnull=False), name="entry_settlement"),
                   # The entries booked without their journal's program or currency (none, when every writer
                   # stamps them): the journal reads these through their agreement.
                   models.Index(fields=["period"], condition=Q(program__isnull=True) | Q(currency__isnull=True),
                                name="entry_unstamped"),
                   # The few entries below zero (credit notes' adjustments), which the journal posts the other way
                   # round: summed from this index alone, not filtered out of every entry.
                   models.Index(fields=["period"], include=["kind", "program", "currency", "amount"],
                                condition=Q(amount__lt=0), name="entry_below_zero")]

    def __str__(self):
        return f"{self.agreement} {self.period:%Y-%m} {self.kind} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise LedgerIsAppendOnly("Ledger entries cannot be changed; book a correcting entry instead.")
        from rebates.period_locks import booking_months

        # `period` as given is the month the entry is for; a locked month books it in the first open one. The
        # locks are read in the insert's own transaction.
        with transaction.atomic():
            self.concerns = self.concerns or self.period
            self.period = booking_months()(self.concerns)
            stamp_entries([self])
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; book a correcting entry instead.")



class PeriodLock(NamedConstraints, models.Model):
    """A month finance has closed: nothing is booked into it while it is locked (an entry for it is booked in
    the first open month after it, recording the month it concerns; the database refuses the rest). Reopening needs a
    reason; every lock and reopening is an audit record (rebates/services/period_lock.py)."""

    month = models.DateField(unique=True, validators=[validate_month], help_text="First of the month.")
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    locked_at = models.DateTimeField()
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    reopened_at = models.DateTimeField(null=True, blank=True, help_text="Set while the month is open again.")
    reopen_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-month"]
        permissions = [("lock_period", "Can lock and reopen months")]
        constraints = [
            models.CheckConstraint(condition=first_of_month("month"), name="period_lock_month_is_month"),
            models.CheckConstraint(condition=Q(reopened_at__isnull=True) | ~Q(reopen_reason=""),
                                   name="period_lock_reopened_with_reason"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} ({'locked' if self.locked else 'reopened'})"

    @property
    def locked(self) -> bool:
        return self.reopened_at is None


# What a customer has earned: the kinds that build a balance up, as against payouts and forfeitures.
EARNED_KINDS = (LedgerEntry.Kind.ACCRUAL, LedgerEntry.Kind.CATCH_UP, LedgerEntry.Kind.ADJUSTMENT)


def stamp_entries(entries) -> None:
    """Give each new entry without them its agreement's program and customer's currency (one query)."""
    ids = {entry.agreement_id for entry in entries if entry.program_id is None or entry.currency is None}
    if not ids:
        return
    found = {pk: (program_id, currency) for pk, program_id, currency in RebateAgreement.objects.filter(pk__in=ids)
             .values_list("pk", "program_id", "customer__currency")}
    for entry in entries:
        if entry.agreement_id in found:
            program_id, currency = found[entry.agreement_id]
            entry.program_id = entry.program_id or program_id
            entry.currency = entry.currency or currency


class AgreementBalance(models.Model):
    """An agreement's ledger figures, kept in step with its entries by a PostgreSQL trigger on every insert
    into the ledger (in the booking's own transaction; migrations 0017 and 0043): what finance's liability, its
    aging and the dashboards read instead of summing the whole ledger. The nightly check compares it with the
    sums."""

    agreement = models.OneToOneField(RebateAgreement, on_delete=models.CASCADE, primary_key=True,
                                     related_name="ledger_balance")
    # The agreement's customer, so sums per customer need no join to the agreements (kept by triggers, 0043).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, related_name="+", db_index=False,
                                 editable=False, help_text="The agreement's customer, kept with it.")
    accrued = money_field(default=0, help_text="Accrual, catch-up and adjustment entries.")
    paid = money_field(default=0, help_text="Payouts, positive.")
    forfeited = money_field(default=0, help_text="Forfeitures, positive.")
    unpaid = money_field(default=0, help_text="The sum of every entry: accrued less paid and forfeited.")
    # Running sums, so what any span of months earned is the difference of two elements (migration 0043).
    earned_cents = ArrayField(
        models.BigIntegerField(), null=True, blank=True, editable=False,
        help_text="What the agreement earned up to each month, in cents: subscript year * 12 + month - 1, from its "
                  "first earning month to its last.")

    objects = AgreementBalanceQuerySet.as_manager()

    def __str__(self):
        return f"{self.agreement_id}: {self.unpaid} unpaid"


# The API's own model lives with the API; imported here so Django registers it in this app (same table).
from rebates.api.models import IdempotencyKey  # noqa: E402, F401


class AgreementForecast(NamedConstraints, models.Model):
    """Where an agreement's settlement period stood after an accrual run, and where it was heading: the
    period-end forecast and the next threshold (rebates/engine/outlook.py), one row per run and agreement.
    Kept per run, so a forecast can be compared later with what the period in fact earned."""

    class Method(models.TextChoices):
        ACTUAL = "actual", "Actual (period ended)"
        LAST_YEAR = "last year", "Shaped by last year's months"
        RUN_RATE = "run-rate", "The average month so far"

    class Threshold(models.TextChoices):
        MINIMUM = "minimum", "Minimum"
        TIER = "tier", "Next tier"
        CAP = "cap", "Cap"

    class Measure(models.TextChoices):
        UNITS = "units", "Units"
        AMOUNT = "amount", "Amount"

    # The run and the agreement are checked by the database once per INSERT or UPDATE statement, not row by row
    # (migration 0047: the foreign keys' row checks cost the nightly outlook's COPY about a third of its
    # writing); one a forecast names cannot be deleted, and deleting one here deletes its forecasts first. A
    # run's forecasts are found through the (run, agreement) constraint's index: no index of its own.
    run = models.ForeignKey(AccrualRun, on_delete=models.CASCADE, related_name="forecasts", db_constraint=False,
                            db_index=False)
    agreement = models.ForeignKey(RebateAgreement, on_delete=models.CASCADE, related_name="forecasts",
                                  db_constraint=False)
    as_of = models.DateField()
    period_start = models.DateField(validators=[validate_month])
    period_end = models.DateField(help_text="Last month of the settlement period.", validators=[validate_month])
    payout_month = models.DateField(validators=[validate_month])
    volume_quantity = quantity_field()
    volume_amount = money_field()
    rebate = money_field(help_text="What the period is forecast to earn.")
    rebate_to_date = money_field(help_text="What the period had earned by the as-of month.")
    payout = money_field(help_text="What is forecast to be paid for the period (nothing once terminated).")
    method = models.CharField(max_length=10, choices=Method.choices)
    next_kind = models.CharField(max_length=8, choices=Threshold.choices, blank=True)
    next_measure = models.CharField(max_length=6, choices=Measure.choices, blank=True)
    next_threshold = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    to_go_units = quantity_field(null=True, blank=True)
    to_go_amount = money_field(null=True, blank=True)
    next_extra = money_field(null=True, blank=True, help_text="What reaching the next threshold adds.")
    next_extra_catch_up = money_field(null=True, blank=True)
    days_left = models.PositiveIntegerField(null=True, blank=True)
    needed_per_month = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    own_per_month = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)

    objects = AgreementForecastQuerySet.as_manager()

    class Meta:
        ordering = ["run", "agreement"]
        constraints = [
            # A run's outlook is stored once: a second write of the same run is refused whole.
            models.UniqueConstraint(fields=["run", "agreement"], name="forecast_once_per_run"),
            models.CheckConstraint(condition=first_of_month("period_start") & first_of_month("period_end")
                                   & first_of_month("payout_month"), name="forecast_months_are_months"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="forecast_period_ordered"),
        ]

    def __str__(self):
        return f"Forecast of {self.agreement_id} by run {self.run_id}"
