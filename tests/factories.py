"""factory-boy factories for the domain; each builds a valid row with the least said."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from customers import roles
from customers.models import Customer, Segment
from pricing_signals.models import Competitor, PriceClaim
from rebates.models import (
    ContractPrice,
    LedgerEntry,
    LineDiscount,
    Product,
    ProductLine,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
)

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.save()
            if extracted:
                self.groups.add(Group.objects.get(name=extracted))


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"segment-{n}")
    name = factory.Sequence(lambda n: f"Segment {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Faker("company")
    segment = factory.SubFactory(SegmentFactory)
    account_manager = factory.SubFactory(UserFactory, role=roles.ACCOUNT_MANAGER)


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLine
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"line-{n}")
    name = factory.Sequence(lambda n: f"Line {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Widget {n}")
    product_line = factory.SubFactory(ProductLineFactory)
    list_price = Decimal("14.00")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RebateProgram
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"program-{n}")
    name = factory.Sequence(lambda n: f"2026 back-end program {n}")


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RebateAgreement
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"AG-{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    program = factory.SubFactory(ProgramFactory)
    start_month = datetime.date(2026, 1, 1)
    end_month = datetime.date(2026, 12, 1)
    committed_monthly_quantity = Decimal("10")
    status = RebateAgreement.Status.ACTIVE

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if create and extracted:
            self.products.set(extracted)


class ContractPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractPrice

    agreement = factory.SubFactory(AgreementFactory)
    # The agreement's first named product unless given (a line scope names its product).
    product = factory.LazyAttribute(lambda price: price.agreement.products.order_by("pk").first())
    effective_from = factory.SelfAttribute("agreement.start_month")
    net_price = Decimal("12.10")
    reason = "contract start"


def price_every_product(agreement, net_price, effective_from=None, reason="contract start"):
    """The same stated price for every product the agreement's scope covers (named, or of a line in it)."""
    products = {*agreement.products.all(), *Product.objects.filter(product_line__in=agreement.product_lines.all())}
    return [ContractPriceFactory(agreement=agreement, product=product, net_price=Decimal(net_price), reason=reason,
                                 effective_from=effective_from or agreement.start_month)
            for product in sorted(products, key=lambda product: product.pk)]


class LineDiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineDiscount

    agreement = factory.SubFactory(AgreementFactory)
    product_line = factory.LazyAttribute(lambda discount: discount.agreement.product_lines.order_by("pk").first())
    effective_from = factory.SelfAttribute("agreement.start_month")
    discount_percent = Decimal("10")
    reason = "contract start"


class PerUnitRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RebateRule

    agreement = factory.SubFactory(AgreementFactory)
    kind = RebateRule.Kind.PER_UNIT
    rate_type = RebateRule.RateType.PER_UNIT
    rate = Decimal("0.25")


class PurchaseLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseLine

    erp_line_id = factory.Sequence(lambda n: f"ERP-{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    month = datetime.date(2026, 1, 1)
    quantity = Decimal("10")
    unit_price = Decimal("12.10")
    amount = factory.LazyAttribute(lambda line: (line.quantity * line.unit_price).quantize(Decimal("0.01")))


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerEntry

    agreement = factory.SubFactory(AgreementFactory)
    period = datetime.date(2026, 1, 1)
    kind = LedgerEntry.Kind.ACCRUAL
    quantity = Decimal("10")
    eligible_amount = Decimal("121.00")
    amount = Decimal("2.50")
    booking_key = factory.Sequence(lambda n: f"test:{n}")


class CompetitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Competitor
        django_get_or_create = ("name",)

    name = "Apex Supply"


class PriceClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceClaim

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    competitor = factory.SubFactory(CompetitorFactory)
    claimed_price = Decimal("11.40")
    reported_on = datetime.date(2026, 9, 8)
    channel = PriceClaim.Channel.CALL
    reported_by = factory.SelfAttribute("customer.account_manager")


class DetectionRuleFactory(factory.django.DjangoModelFactory):
    """A per product line override of the global detection rule."""

    class Meta:
        model = "pricing_signals.DetectionRule"

    product_line = factory.SubFactory(ProductLineFactory)
    window_days = 30
    min_customers = 3
    tolerance_percent = Decimal("2")
    same_competitor = False


def second_finance_user():
    """Another finance user: the one who approves what the test's finance user pays (four eyes)."""
    from customers import roles

    return UserFactory(username="finance.approver", role=roles.FINANCE)
