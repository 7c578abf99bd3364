from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from config import clock
from customers.models import AuditRecord, Contact, ContactCadence, Customer, GroupMembership, Segment

# What else happens, in the same transaction, when a customer is marked lost: rebates registers the
# termination of its agreements here (RebatesConfig.ready), since customers never imports rebates.
_customer_lost_handlers = []


def customer_lost_handler_register(handler):
    """`handler(customer=, lost_on=, by=)` runs inside the transaction that marks a customer lost."""
    if handler not in _customer_lost_handlers:
        _customer_lost_handlers.append(handler)


def _customer_lost(*, customer, by):
    for handler in _customer_lost_handlers:
        handler(customer=customer, lost_on=customer.lost_on, by=by)


def audit_record(*, actor, action, target, summary, data=None, actor_label=""):
    """Write one audit row; call it inside the transaction of the change it describes."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditRecord.objects.create(
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        summary=summary[:300],
        data=data or {},
    )


def audit_records(*, actor, action, rows) -> int:
    """Write one audit row per (target, summary, data) of `rows` in one statement, inside the transaction of
    the change they describe; how many were written."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    written = AuditRecord.objects.bulk_create(
        AuditRecord(actor=user, actor_label="" if user else "system", action=action,
                    target_type=target._meta.label_lower, target_id=str(target.pk), summary=summary[:300],
                    data=data or {})
        for target, summary, data in rows)
    return len(written)


def customer_create(*, by, code, name, segment=None, account_manager=None, status="active", lost_on=None,
                    referred_by=None, referral_from=None, referral_months=None, currency=None, is_group=False):
    """A new customer as the ERP sends it, with its audit row (its value tier and risk are computed nightly).
    Its currency defaults to settings.DEFAULT_CURRENCY."""
    with transaction.atomic():
        customer = Customer(code=code, name=name, segment=segment, account_manager=account_manager, status=status,
                            lost_on=lost_on, referred_by=referred_by, referral_from=referral_from,
                            referral_months=referral_months, is_group=is_group,
                            **({"currency": currency} if currency else {}))
        customer.full_clean()
        customer.save()
        audit_record(actor=by, action="customer.create", target=customer, summary=f"Customer {code} created")
        if customer.status == Customer.Status.LOST:
            _customer_lost(customer=customer, by=by)
        return customer


def customer_update(*, by, customer, **fields):
    """Change a customer's fields (not its code); the audit row names what changed.

    Marked lost (status lost, with lost_on), its active agreements are terminated as of lost_on in the same
    transaction, forfeiting their unpaid rebate.
    """
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        was_lost = customer.status == Customer.Status.LOST
        if fields.get("status", customer.status) != Customer.Status.LOST and "lost_on" not in fields:
            fields["lost_on"] = None  # back from lost (or never lost): no lost date
        changed = {}
        for name, value in fields.items():
            if getattr(customer, name) != value:
                changed[name] = [str(getattr(customer, name)), str(value)]
                setattr(customer, name, value)
        if "currency" in changed and (customer.agreements.exists() or customer.purchases.exists()
                                      or customer.held_purchases.exists()):
            # Its agreements' ledgers and its lines' amounts are in the currency it has.
            raise ValidationError({"currency": "A customer's currency cannot change once it has agreements or "
                                               "purchase lines: their amounts are in it."})
        if changed:
            customer.full_clean()
            _check_group_flag(customer)
            customer.save()
            audit_record(actor=by, action="customer.update", target=customer,
                         summary=f"Customer {customer.code} changed: {', '.join(changed)}", data=changed)
        if customer.status == Customer.Status.LOST and not was_lost:
            _customer_lost(customer=customer, by=by)
        return customer


def _check_group_flag(customer):
    # The database refuses these too (migration 0008_buying_groups); here they are named for the field.
    if customer.is_group and GroupMembership.objects.filter(member=customer).exists():
        raise ValidationError({"is_group": "The customer is a member of a group: a group is never a member."})
    if not customer.is_group and GroupMembership.objects.filter(group=customer).exists():
        raise ValidationError({"is_group": "The customer has members: it stays a group."})


def group_membership_record(*, by, group, member, joined, ended=None):
    """State that `member` belongs to buying group `group` from month `joined` to the month before `ended`
    (None: still a member). The membership of that member in that group from that month is changed if there
    is one, made otherwise; with its audit row. The group's agreements are marked for the next accrual run by
    the database.

    ValidationError naming the field: a group that is not a buying group, a member that is one, months out of
    order, or months that overlap another membership of the member (one group at a time)."""
    with transaction.atomic():
        # The member's row first: two memberships of one member are stated one after the other.
        member = Customer.objects.select_for_update().get(pk=member.pk)
        if not group.is_group:
            raise ValidationError({"group": f"{group.code} is not a buying group: set is_group first."})
        if member.is_group:
            raise ValidationError({"member": f"{member.code} is a buying group: a group is never a member."})
        membership = (GroupMembership.objects.select_for_update().filter(group=group, member=member, joined=joined)
                      .first() or GroupMembership(group=group, member=member, joined=joined))
        membership.ended = ended
        membership.full_clean()
        overlapping = (GroupMembership.objects.filter(member=member).exclude(pk=membership.pk)
                       .filter(joined__lt=ended or date.max))
        overlapping = [other for other in overlapping if other.ended is None or joined < other.ended]
        if overlapping:
            other = overlapping[0]
            raise ValidationError({"joined": f"{member.code} is a member of {other.group.code} from "
                                             f"{other.joined:%Y-%m} in those months: one group at a time."})
        created = membership.pk is None
        membership.save()
        until = f" to {ended:%Y-%m}" if ended else ""
        audit_record(actor=by, action="group_membership.create" if created else "group_membership.update",
                     target=membership, summary=f"{member.code} in group {group.code} from {joined:%Y-%m}{until}",
                     data={"group": group.code, "member": member.code, "joined": joined.isoformat(),
                           "ended": ended.isoformat() if ended else None})
        return membership


def segment_create(*, by, code, name):
    """A new customer segment, with its audit row."""
    with transaction.atomic():
        segment = Segment(code=code, name=name)
        segment.full_clean()
        segment.save()
        audit_record(actor=by, action="segment.create", target=segment, summary=f"Segment {code} created")
        return segment


def segment_update(*, by, segment, **fields):
    """Change a segment's code or name; the audit row names what changed."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        changed = {}
        for name, value in fields.items():
            if getattr(segment, name) != value:
                changed[name] = [str(getattr(segment, name)), str(value)]
                setattr(segment, name, value)
        if changed:
            segment.full_clean()
            segment.save()
            audit_record(actor=by, action="segment.update", target=segment,
                         summary=f"Segment {segment.code} changed: {', '.join(changed)}", data=changed)
        return segment


def contact_log(*, by, customer, kind, contacted_on: date, note=""):
    """Record a call, visit, email or meeting `by` had with `customer` (one of theirs), with its audit row.

    PermissionDenied when `by` may not see the customer; ValidationError naming the field for a kind that is
    not one of Contact.Kind, a date in the future, or a note too long.
    """
    if not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
        raise PermissionDenied("You may only log contacts with your own customers.")
    if contacted_on > clock.today():
        raise ValidationError({"contacted_on": "A contact is logged once it has happened: the date is in the future."})
    with transaction.atomic():
        contact = Contact(customer=customer, manager=by, kind=kind, note=note, contacted_on=contacted_on)
        contact.full_clean()
        contact.save()
        audit_record(actor=by, action="contact.log", target=contact,
                     summary=f"{contact.get_kind_display()} with {customer.code} on {contacted_on:%Y-%m-%d}",
                     data={"customer": customer.code, "kind": kind})
        return contact


def contact_cadence_update(*, by, cadence, days):
    """Change the days between contacts of one value tier and risk level; the audit row names the change."""
    with transaction.atomic():
        cadence = ContactCadence.objects.select_for_update().get(pk=cadence.pk)
        if cadence.days != days:
            before = cadence.days
            cadence.days = days
            cadence.full_clean()
            cadence.save(update_fields=["days"])
            audit_record(actor=by, action="contact_cadence.update", target=cadence,
                         summary=f"Contact cadence {cadence.value_tier} × {cadence.risk_level}: {before} → {days} days",
                         data={"days": [before, days]})
        return cadence
