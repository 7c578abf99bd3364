"""Price claims in words, as the agreement's sheet and the signals timeline show them."""

from datetime import date
from decimal import Decimal

from pricing_signals.models import PriceClaim


def _price(value: Decimal) -> str:
    places = Decimal("0.01") if value == value.quantize(Decimal("0.01")) else Decimal("0.0001")
    return f"${value.quantize(places):,}"


def claim_text(claim: PriceClaim) -> str:
    """One claim as the sheet shows it: who, what price, which product, how and when it was reported."""
    return claim_words(competitor=claim.competitor.name, price=claim.claimed_price, sku=claim.product.sku,
                       channel=claim.get_channel_display(), reported_on=claim.reported_on)


def claim_words(*, competitor: str, price: Decimal, sku: str, channel: str, reported_on: date) -> str:
    """`claim_text` from the claim's values."""
    return f"{competitor} {_price(price)} on {sku} ({channel.lower()}, {reported_on:%Y-%m-%d})"
