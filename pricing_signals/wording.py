"""Price claims in words, as the agreement's sheet and the signals timeline show them."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pricing_signals.models import PriceClaim
from rebates.engine.words import money


def _price(value: Decimal, currency=None) -> str:
    """A price in its currency's sign, to the cent, or to four places when it has fractions of a cent."""
    return money(value, 2 if value == value.quantize(Decimal("0.01")) else 4, currency)


def claim_text(claim: PriceClaim) -> str:
    """One claim as the sheet shows it: who, what price, which product, how and when it was reported."""
    return claim_words(competitor=claim.competitor.name, price=claim.claimed_price, currency=claim.customer.currency,
                       sku=claim.product.sku,
                       channel=claim.get_channel_display(), reported_on=claim.reported_on)


def claim_words(*, competitor: str, price: Decimal, sku: str, channel: str, reported_on: date,
                currency=None) -> str:
    """`claim_text` from the claim's values (the price in `currency`, its customer's; the default's when none)."""
    return f"{competitor} {_price(price, currency)} on {sku} ({channel.lower()}, {reported_on:%Y-%m-%d})"


def median_words(price: Decimal, currencies) -> str:
    """A signal's median claimed price in the currency of its claims ("median €11.40"); without a sign, the
    currencies named, when its claims are in several ("median 11.40 (claims in EUR, USD)"); in the default
    currency when none is known."""
    currencies = sorted(set(currencies))
    if len(currencies) <= 1:
        return f"median {_price(price, currencies[0] if currencies else None)}"
    places = 2 if price == price.quantize(Decimal("0.01")) else 4
    unsigned = price.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"median {unsigned:,.{places}f} (claims in {', '.join(currencies)})"
