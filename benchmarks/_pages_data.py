"""Price claims for the pages and value-and-risk benchmarks: the synthetic data's own (generate_synthetic draws
them over the book's last half year: for a few dozen products, market moves echoed by several customers within
weeks, which become signals, and lone claims), detected here as the nightly sweep would. Afterwards they are put
back as generated (pending, the signals their detection made removed), so other benchmarks see the book as it
was made."""

from django.db import transaction

from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import signals_detect
from rebates.synthetic import SYNTHETIC_PREFIX


def _claims():
    return PriceClaim.objects.filter(customer__code__startswith=SYNTHETIC_PREFIX)


def _products():
    return list(_claims().values_list("product_id", flat=True).distinct().order_by())


def claims_load(*, as_of) -> int:
    """Detect the synthetic claims' signals as of `as_of` (a second call changes nothing); returns how many claims
    there are."""
    signals_detect(as_of=as_of, products=_products())
    return _claims().count()


def claims_delete():
    """Put the synthetic claims back as generated: pending, in no signal; the signals left without a claim, a
    price change or a decision are removed."""
    with transaction.atomic():
        products = _products()
        _claims().update(status=PriceClaim.Status.PENDING, signal=None)
        (MarketSignal.objects.filter(product_id__in=products, claims__isnull=True, price_matches__isnull=True,
                                     decisions__isnull=True).delete())
