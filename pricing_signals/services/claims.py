"""Price claims: a customer says a competitor sells a product cheaper (`price_claim_record`, checked within
seconds by a task queued when the claim commits, and again by the nightly sweep), and a claim set aside as
not credible (`price_claim_dismiss`). Each in one transaction with its audit row."""

import hashlib
import logging
import os
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction

from config import clock
from config.celery_app import queue_on_commit
from customers.models import Customer
from customers.services import audit_record
from pricing_signals.models import Competitor, PriceClaim
from pricing_signals.services.decisions import require_decider
from pricing_signals.services.sweep import detection_lock, signals_detect
from rebates.engine.money import DecimalInputError, parse_price
from rebates.models import Product

logger = logging.getLogger(__name__)

UNIT_PRICE_PLACES, UNIT_PRICE_DIGITS = 4, 14
NOTE_MAX_LENGTH = 2000
EVIDENCE_MAX_BYTES = getattr(settings, "PRICE_CLAIM_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
# What evidence may be: a quote or an offer as PDF, a photo or screenshot, an e-mail or a plain note.
# The extension must match the file's first bytes (text has no signature, only no NUL bytes).
EVIDENCE_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".txt": None,
    ".eml": None,
}


class PriceClaimInvalid(ValidationError):
    """The claim cannot be recorded; `message_dict` names each field that is wrong, in plain words."""


def price_claim_record(*, user, customer, product, competitor, claimed_unit_price, reported_on, channel,
                       note="", evidence=None, today: date | None = None) -> PriceClaim:
    """Record a claim reported by `user`, and queue its check once the transaction commits.

    `customer`, `product` and `competitor` are rows or their natural keys (code, SKU, name; a competitor
    named for the first time is added). `claimed_unit_price` is a Decimal or a decimal string, never a
    float; `reported_on` a date or YYYY-MM-DD, not after `today`. `evidence` is an optional file (a Django
    File or upload): at most EVIDENCE_MAX_BYTES, of a type in EVIDENCE_SIGNATURES, stored through the
    default storage with its size and SHA-256. A customer the user may not see is refused exactly as one
    that does not exist. Raises PriceClaimInvalid naming every field that is wrong."""
    if not user.has_perm("pricing_signals.add_priceclaim"):
        raise PermissionDenied("You may not record price claims.")
    today = today or clock.today()
    errors = {}
    customer_row = _visible_customer(user, customer, errors)
    product_row = _product(product, errors)
    competitor_name = _competitor_name(competitor, errors)
    price = _unit_price(claimed_unit_price, "claimed_unit_price", errors)
    day = _day(reported_on, today, errors)
    if channel not in PriceClaim.Channel.values:
        errors["channel"] = f"Channel must be one of: {', '.join(PriceClaim.Channel.values)}."
    note = note or ""
    if not isinstance(note, str):
        errors["note"] = "The note must be text."
    elif len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"The note is too long ({NOTE_MAX_LENGTH} characters at most)."
    digest = _evidence_check(evidence, errors) if evidence is not None else None
    if errors:
        raise PriceClaimInvalid(errors)

    stored = None  # the evidence file's name in the storage, once saved there
    committed = []  # set when the claim's transaction commits: its file stays whatever happens after
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(True))
            competitor_row = competitor if isinstance(competitor, Competitor) else _competitor(competitor_name)
            claim = PriceClaim(customer=customer_row, product=product_row, competitor=competitor_row,
                               claimed_price=price, reported_on=day, channel=channel, reported_by=user,
                               note=note.strip(), check_pending=True)
            if evidence is not None:
                evidence.seek(0)
                claim.evidence_size, claim.evidence_sha256 = digest
                claim.evidence.save(os.path.basename(evidence.name), File(evidence), save=False)
                stored = claim.evidence.name
            claim.save()
            audit_record(
                actor=user, action="price_claim.record", target=claim,
                summary=f"{customer_row.code} says {competitor_row.name} sells {product_row.sku} at {price} "
                        f"({claim.get_channel_display().lower()}, {day:%Y-%m-%d})",
                data={"customer": customer_row.code, "product": product_row.sku, "competitor": competitor_row.name,
                      "claimed_price": str(price), "reported_on": day.isoformat(), "channel": channel,
                      "evidence": claim.evidence.name or "", "evidence_sha256": claim.evidence_sha256},
            )
            from pricing_signals.tasks import price_claim_check as check_task

            queue_on_commit(check_task, claim.pk)
    except BaseException:
        if stored and not committed:  # the claim was not saved: neither is its evidence
            try:
                PriceClaim.evidence.field.storage.delete(stored)
            except Exception:  # the first failure is the one to report
                logger.exception("evidence file %s of a claim that was not saved could not be removed", stored)
        raise
    return claim


def price_claim_dismiss(*, user, claim: PriceClaim, reason: str, as_of: date | None = None) -> PriceClaim:
    """Set a claim aside as not credible (a pricing manager's call): it leaves detection, and its
    product's signals are recomputed at once without it. Again on a dismissed claim: nothing."""
    require_decider(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the claim is dismissed."})
    with transaction.atomic():
        detection_lock()  # the product's signals are recomputed below, which needs every check to wait
        claim = PriceClaim.objects.select_for_update().get(pk=claim.pk)
        if claim.status == PriceClaim.Status.DISMISSED:
            return claim
        before = claim.status
        claim.status, claim.signal = PriceClaim.Status.DISMISSED, None
        claim.save(update_fields=["status", "signal"])
        audit_record(actor=user, action="price_claim.dismiss", target=claim,
                     summary=f"Claim {claim.pk} dismissed (was {before}): {reason}",
                     data={"from": before, "reason": reason})
        signals_detect(as_of=as_of or clock.today(), products=[claim.product_id])
    return claim


def _visible_customer(user, customer, errors):
    code = customer.code if isinstance(customer, Customer) else customer
    if not code or not isinstance(code, str):
        errors["customer"] = "Name the customer (its ERP code)."
        return None
    # The same answer for a customer that does not exist and one the user may not see.
    row = Customer.objects.visible_to(user).filter(code=code).first()
    if row is None:
        errors["customer"] = f"No customer {code!r} among yours."
    return row


def _product(product, errors):
    if isinstance(product, Product):
        return product
    row = Product.objects.filter(sku=product).first() if isinstance(product, str) and product else None
    if row is None:
        errors["product"] = f"No product with SKU {product!r}." if product else "Name the product (its SKU)."
    return row


def _competitor(name):
    """The competitor of that name (any case), added when named for the first time, also when two claims
    name it at once."""
    found = Competitor.objects.filter(name__iexact=name).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Competitor.objects.create(name=name)
    except IntegrityError:
        return Competitor.objects.get(name=name)


def _competitor_name(competitor, errors):
    if isinstance(competitor, Competitor):
        return competitor.name
    name = " ".join(competitor.split()) if isinstance(competitor, str) else ""
    if not name:
        errors["competitor"] = "Name the competitor."
    elif len(name) > Competitor._meta.get_field("name").max_length:
        errors["competitor"] = "The competitor's name is too long (120 characters at most)."
    return name


def _unit_price(value, name, errors):
    try:
        return parse_price(value, places=UNIT_PRICE_PLACES, digits=UNIT_PRICE_DIGITS)
    except DecimalInputError as error:
        errors[name] = str(error)
        return None


def _day(value, today, errors):
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors["reported_on"] = "Give the date the customer reported the price as YYYY-MM-DD."
            return None
    if not isinstance(value, date) or isinstance(value, datetime):
        errors["reported_on"] = "Give the date the customer reported the price."
        return None
    if value > today:
        errors["reported_on"] = f"{value.isoformat()} is in the future."
    return value


def _evidence_check(evidence, errors):
    """(size, SHA-256) of an acceptable evidence file; adds an error and returns None otherwise."""
    name = os.path.basename(getattr(evidence, "name", "") or "")
    extension = os.path.splitext(name)[1].lower()
    if extension not in EVIDENCE_SIGNATURES:
        errors["evidence"] = (f"Evidence must be one of {', '.join(sorted(EVIDENCE_SIGNATURES))}; "
                              f"{name or 'the file'} is not.")
        return None
    size = getattr(evidence, "size", None)
    if size is not None and size > EVIDENCE_MAX_BYTES:
        errors["evidence"] = f"Evidence files are at most {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB."
        return None
    evidence.seek(0)
    head = evidence.read(8192)
    signatures = EVIDENCE_SIGNATURES[extension]
    if not head:
        errors["evidence"] = "The evidence file is empty."
        return None
    if signatures is None and b"\x00" in head:
        errors["evidence"] = f"{name} is not a text file."
        return None
    if signatures is not None and not head.startswith(signatures):
        errors["evidence"] = f"{name} is not really a {extension[1:].upper()} file."
        return None
    digest, total = hashlib.sha256(head), len(head)
    for chunk in iter(lambda: evidence.read(1 << 20), b""):
        total += len(chunk)
        if total > EVIDENCE_MAX_BYTES:  # the declared size is the sender's word; count what arrives
            errors["evidence"] = f"Evidence files are at most {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB."
            return None
        digest.update(chunk)
    return total, digest.hexdigest()
