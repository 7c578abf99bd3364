"""Segment-wide programs: a program's template terms, the agreements made from them for the customers of its
target segments, and template changes from a stated month.

Every agreement is changed through the catalogue's own service (agreement_update), so each change carries the
same checks, audit rows and marks for the next incremental accrual run as one the ERP sends.

- An enrollment on or before the template's first month enrolls from that month; a later one (a customer
  who joined the segment since) from the first of the next month. Twice on the same day makes nothing new.
  New agreements are inserted set-based (a segment holds thousands of customers), with the template's rule
  checked once as agreement_create checks each, and one audit row each.
- A customer no longer in a target segment keeps what it earned: its running agreement's term ends with the
  month it left (it expires and settles as any other; nothing is forfeited), and one that had not begun yet
  goes back to draft (never accrued).
- A template change from a month reaches every enrolled agreement whose rule was not overridden: one that
  starts in or after that month takes the new rule; one running at that month ends the month before (keeping
  what it earned under the old rule) and a successor from that month to its end carries the new rule.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from config.validators import validate_term
from customers.models import Customer
from customers.services import audit_record, audit_records
from rebates.engine.periods import add_months, month_of
from rebates.models import (
    BonusCondition,
    ContractPrice,
    LineDiscount,
    Product,
    ProductLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    TierBand,
)
from rebates.services.catalog import RULE_FIELDS, agreement_create, agreement_update, rule_check

ACTIVE = RebateAgreement.Status.ACTIVE
DRAFT = RebateAgreement.Status.DRAFT


class EnrollmentConflict(Exception):
    """The program's state refuses the change (409): say what to do instead."""


@dataclass
class Enrollment:
    """What one enrollment did: the agreements made (or made active again) and those ended or withdrawn."""

    enrolled: list[RebateAgreement] = field(default_factory=list)
    ended: list[RebateAgreement] = field(default_factory=list)
    withdrawn: list[RebateAgreement] = field(default_factory=list)


# --- the template as stored (ids and strings) and as the services take it (dates, rows, Decimals) -------------


def _text(value):
    return None if value is None else str(value)


def _plain(value) -> str:
    """A Decimal as its shortest exact text ("0.25" for 0.250000, "100" for 1E+2), so a rule sent back as the
    API shows it is the rule held."""
    return format(Decimal(value).normalize(), "f")


def rule_json(rule: dict) -> dict:
    """The rule as stored on the program: every field (its default when not given), Decimals as plain text,
    rows by id; two rules that say the same are stored the same."""
    stored = {}
    for name in RULE_FIELDS:
        value = rule[name] if name in rule else RebateRule._meta.get_field(name).get_default()
        if name == "focus_line":
            stored[name] = value.pk if value is not None else None
        elif isinstance(value, bool | int | str) or value is None:
            stored[name] = value
        else:
            stored[name] = _plain(value)
    stored["bands"] = sorted(({"threshold": _plain(b["threshold"]), "rate": _plain(b["rate"])}
                              for b in rule.get("bands", [])), key=lambda b: Decimal(b["threshold"]))
    stored["bonuses"] = [{"product": b["product"].pk, "minimum_quantity": _plain(b["minimum_quantity"]),
                          "extra_percent": _plain(b["extra_percent"])} for b in rule.get("bonuses", [])]
    return stored


DECIMAL_RULE_FIELDS = ("rate", "baseline_amount", "minimum", "cap", "clearance_rate", "focus_share")


def rule_from_json(stored: dict, *, products: dict | None = None, lines: dict | None = None) -> dict:
    """The stored rule as the services take it; `products` and `lines` by id when the caller read them."""
    if products is None:
        products = Product.objects.in_bulk([b["product"] for b in stored.get("bonuses", [])])
    if lines is None:
        lines = ProductLine.objects.in_bulk([stored["focus_line"]] if stored.get("focus_line") else [])
    rule = {}
    for name in RULE_FIELDS:
        if name not in stored:
            continue
        value = stored[name]
        if name == "focus_line":
            value = lines[value] if value is not None else None
        elif name in DECIMAL_RULE_FIELDS and value is not None:
            value = Decimal(value)
        rule[name] = value
    rule["bands"] = [{"threshold": Decimal(b["threshold"]), "rate": Decimal(b["rate"])} for b in stored["bands"]]
    rule["bonuses"] = [{"product": products[b["product"]], "minimum_quantity": Decimal(b["minimum_quantity"]),
                        "extra_percent": Decimal(b["extra_percent"])} for b in stored["bonuses"]]
    return rule


@dataclass(frozen=True)
class Template:
    """A program's template terms, read back from the program."""

    start_month: date
    end_month: date
    settlement_frequency: str
    products: list
    product_lines: list
    rule: dict


def templates_of(programs) -> dict[int, Template]:
    """Per program id, its template terms (programs without are left out), in two queries however many."""
    stored = {program.pk: program.template for program in programs if program.template}
    product_ids, line_ids = set(), set()
    for template in stored.values():
        product_ids.update(template["products"])
        product_ids.update(b["product"] for b in template["rule"].get("bonuses", []))
        line_ids.update(template["product_lines"])
        if template["rule"].get("focus_line"):
            line_ids.add(template["rule"]["focus_line"])
    products = Product.objects.in_bulk(product_ids) if product_ids else {}
    lines = ProductLine.objects.in_bulk(line_ids) if line_ids else {}
    return {
        pk: Template(
            start_month=date.fromisoformat(template["start_month"]),
            end_month=date.fromisoformat(template["end_month"]),
            settlement_frequency=template["settlement_frequency"],
            products=[products[i] for i in template["products"]],
            product_lines=[lines[i] for i in template["product_lines"]],
            rule=rule_from_json(template["rule"], products=products, lines=lines),
        )
        for pk, template in stored.items()
    }


def template_of(program: RebateProgram) -> Template | None:
    return templates_of([program]).get(program.pk)


def template_in_words(template: Template) -> str:
    """The template's rule as an agreement's terms read ("$0.25 a unit"), by the engine kind's own words."""
    from rebates.models import RebateRule
    from rebates.terms import rule_terms

    rule = template.rule
    terms = rule_terms(start_month=template.start_month, end_month=template.end_month,
                       settlement_frequency=template.settlement_frequency,
                       rule=RebateRule(**{name: rule[name] for name in RULE_FIELDS if name in rule}),
                       bands=[(b["threshold"], b["rate"]) for b in rule["bands"]],
                       bonuses=[(b["product"].sku, b["minimum_quantity"], b["extra_percent"])
                                for b in rule["bonuses"]])
    return terms.rule.kind_class.description(terms.rule)


def enrolled_number(program: RebateProgram, customer_id: int, start_month: date) -> str:
    """An enrolled agreement's number: program, customer and first month, so a second enrollment finds it."""
    return f"EN-{program.pk}-{customer_id}-{start_month:%Y%m}"


# --- services ------------------------------------------------------------------------------------------------


def program_template_set(*, by, program: RebateProgram, start_month: date, end_month: date, rule: dict,
                         settlement_frequency: str = RebateAgreement.SettlementFrequency.ANNUAL, products=(),
                         product_lines=(), target_segments=()) -> RebateProgram:
    """Give a program its template terms and target segments (nobody is enrolled until program_enroll runs).

    The rule is checked as agreement_create checks one (rebates.services.catalog.rule_check). Once agreements
    are enrolled only the target segments may change here: a new rule goes through program_template_change,
    from a month; a different term or scope is a new program (EnrollmentConflict)."""
    problems = {}
    for name, month in (("start_month", start_month), ("end_month", end_month)):
        if month.day != 1:
            problems[name] = "A month (the first of the month)."
    if not problems and end_month < start_month:
        problems["end_month"] = "The term ends in or after its first month."
    if problems:
        raise ValidationError(problems)
    validate_term(start_month, end_month)
    if not products and not product_lines:
        raise ValidationError({"product_lines": "Name the products or product lines the template's agreements "
                                                "cover."})
    rule_check(rule=rule, start_month=start_month, end_month=end_month, settlement_frequency=settlement_frequency)
    wanted = {"start_month": start_month.isoformat(), "end_month": end_month.isoformat(),
              "settlement_frequency": str(settlement_frequency),
              "products": sorted(p.pk for p in products), "product_lines": sorted(line.pk for line in product_lines),
              "rule": rule_json(rule)}
    with transaction.atomic():
        program = RebateProgram.objects.select_for_update().get(pk=program.pk)
        if (program.template and program.template != wanted
                and RebateAgreement.objects.filter(program=program, enrolled=True).exists()):
            raise EnrollmentConflict(
                f"Program {program.code} has enrolled agreements: change its rule through a template change from "
                "a month; its term and scope stay as they were (start a new program for others).")
        segments = sorted(s.code for s in target_segments)
        held = sorted(program.target_segments.values_list("code", flat=True))
        changed = {}
        if program.template != wanted:
            changed["template"] = wanted
            program.template = wanted
            program.save(update_fields=["template"])
        if segments != held:
            changed["target_segments"] = [held, segments]
            program.target_segments.set(target_segments)
        if changed:
            audit_record(actor=by, action="program.template_set", target=program,
                         summary=f"Program {program.code} template terms set: {', '.join(changed)}", data=changed)
        return program


def program_enroll(*, program: RebateProgram, as_of: date, by) -> Enrollment:
    """Enroll the active customers of the program's target segments who have no agreement of it for the
    month they would start, and end the enrolled agreements of customers who left those segments.

    Safe twice (the program row is locked and the agreements' numbers name their start), safe killed midway
    (one transaction). A program without template terms enrolls nobody."""
    done = Enrollment()
    with transaction.atomic():
        program = RebateProgram.objects.select_for_update().get(pk=program.pk)
        template = template_of(program)
        if template is None:
            return done
        this_month = month_of(as_of)
        segment_ids = set(program.target_segments.values_list("pk", flat=True))
        _leavers_end(program, segment_ids, this_month, by, done)
        start = template.start_month if this_month <= template.start_month else add_months(this_month, 1)
        if start > template.end_month:
            return done
        covered = (RebateAgreement.objects.filter(program=program, start_month__lte=start, end_month__gte=start)
                   .filter(Q(enrolled=False) & ~Q(status=RebateAgreement.Status.TERMINATED)
                           | Q(enrolled=True, status=ACTIVE))
                   .values("customer_id"))
        joiners = (Customer.objects.filter(status=Customer.Status.ACTIVE, segment_id__in=segment_ids)
                   .exclude(pk__in=covered).order_by("pk"))
        withdrawn = {a.customer_id: a for a in RebateAgreement.objects.filter(
            program=program, enrolled=True, status=DRAFT, start_month=start).order_by("pk")}
        new = []
        for customer in joiners:
            if customer.pk in withdrawn:
                # A customer who left before its agreement began and is back in time for it.
                done.enrolled.append(agreement_update(by=by, agreement=withdrawn[customer.pk], status=ACTIVE))
            else:
                new.append(customer)
        if new:
            # The template's rule is checked once, as agreement_create would check each agreement's.
            rule_check(rule=template.rule, start_month=start, end_month=template.end_month,
                       settlement_frequency=template.settlement_frequency)
            done.enrolled.extend(_agreements_make(program, template, new, start, by))
        if done.enrolled or done.ended or done.withdrawn:
            audit_record(actor=by, action="program.enroll", target=program,
                         summary=f"Program {program.code} enrolled {len(done.enrolled)}, ended {len(done.ended)}, "
                                 f"withdrew {len(done.withdrawn)} as of {as_of:%Y-%m-%d}",
                         data={"as_of": as_of.isoformat(), "enrolled": [a.number for a in done.enrolled],
                               "ended": [a.number for a in done.ended],
                               "withdrawn": [a.number for a in done.withdrawn]})
    return done


def _agreements_make(program, template, customers, start, by) -> list[RebateAgreement]:
    """The template's agreements from `start` for `customers`, set-based: one insert per table however many
    (the database's triggers mark each for the next incremental run), and one audit row each, as
    agreement_create writes."""
    agreements = RebateAgreement.objects.bulk_create(
        RebateAgreement(number=enrolled_number(program, customer.pk, start), customer=customer, program=program,
                        start_month=start, end_month=template.end_month,
                        settlement_frequency=template.settlement_frequency, status=ACTIVE, enrolled=True)
        for customer in customers)
    products, lines = RebateAgreement.products.through, RebateAgreement.product_lines.through
    products.objects.bulk_create(products(rebateagreement_id=a.pk, product_id=p.pk)
                                 for a in agreements for p in template.products)
    lines.objects.bulk_create(lines(rebateagreement_id=a.pk, productline_id=line.pk)
                              for a in agreements for line in template.product_lines)
    rule = template.rule
    fields = {name: rule[name] for name in RULE_FIELDS if name in rule}
    rules = RebateRule.objects.bulk_create(RebateRule(agreement=a, **fields) for a in agreements)
    TierBand.objects.bulk_create(TierBand(rule=r, threshold=b["threshold"], rate=b["rate"])
                                 for r in rules for b in sorted(rule["bands"], key=lambda b: b["threshold"]))
    BonusCondition.objects.bulk_create(
        BonusCondition(rule=r, product=b["product"], minimum_quantity=b["minimum_quantity"],
                       extra_percent=b["extra_percent"]) for r in rules for b in rule["bonuses"])
    audit_records(actor=by, action="agreement.create", rows=[
        (a, f"Agreement {a.number} created for {a.customer.code}", {"enrolled_from": program.code})
        for a in agreements])
    return agreements


def _leavers_end(program, segment_ids, this_month, by, done):
    """Enrolled agreements running past this month whose customer is no longer in a target segment: a
    running one ends with this month, one not begun yet goes back to draft."""
    leaving = (RebateAgreement.objects.filter(program=program, enrolled=True, status=ACTIVE, end_month__gt=this_month)
               .filter(Q(customer__segment__isnull=True) | ~Q(customer__segment_id__in=segment_ids)).order_by("pk"))
    for agreement in leaving:
        if agreement.start_month <= this_month:
            done.ended.append(agreement_update(by=by, agreement=agreement, end_month=this_month))
        else:
            done.withdrawn.append(agreement_update(by=by, agreement=agreement, status=DRAFT))


def program_template_change(*, program: RebateProgram, rule: dict, from_month: date, as_of: date,
                            by) -> list[RebateAgreement]:
    """Give the program's template a new rule from `from_month` (this month or later, within the template's
    term) and apply it to every enrolled, active agreement not overridden that runs in or after that month.

    Each agreement changes through agreement_update (its audit row and its mark for the next incremental
    run); one running at `from_month` ends the month before and a successor carries the new rule from it.
    Returns the agreements that now hold the new rule."""
    with transaction.atomic():
        program = RebateProgram.objects.select_for_update().get(pk=program.pk)
        template = template_of(program)
        if template is None:
            raise EnrollmentConflict(f"Program {program.code} has no template terms to change: set them first.")
        if from_month.day != 1:
            raise ValidationError({"from_month": "A month (YYYY-MM)."})
        if not template.start_month <= from_month <= template.end_month:
            raise ValidationError({"from_month": (
                f"A month of the template's term ({template.start_month:%Y-%m} to {template.end_month:%Y-%m}).")})
        if from_month < month_of(as_of):
            raise ValidationError({"from_month": (
                f"This month ({month_of(as_of):%Y-%m}) or later: months already accrued keep the rule they had.")})
        rule_check(rule=rule, start_month=template.start_month, end_month=template.end_month,
                   settlement_frequency=template.settlement_frequency)
        stored = rule_json(rule)
        held = program.template["rule"]
        program.template = {**program.template, "rule": stored}
        program.save(update_fields=["template"])
        audit_record(actor=by, action="program.template_change", target=program,
                     summary=f"Program {program.code} template rule changed from {from_month:%Y-%m}",
                     data={"from_month": from_month.isoformat(), "rule": [held, stored]})
        changed = []
        due = RebateAgreement.objects.filter(program=program, enrolled=True, overridden=False,
                                             status__in=(ACTIVE, DRAFT), end_month__gte=from_month).order_by("pk")
        for agreement in due:
            # A withdrawn agreement (never accrued) takes the rule whole, ready if its customer comes back.
            if agreement.start_month >= from_month or agreement.status == DRAFT:
                changed.append(agreement_update(by=by, agreement=agreement, rule=rule, template_change=True))
            else:
                changed.append(_successor(agreement, rule=rule, from_month=from_month, by=by))
        return changed


def _successor(agreement, *, rule, from_month, by):
    """End `agreement` the month before `from_month`; the same terms with `rule` from then to its end, with
    the contract prices and line discounts in force at `from_month`."""
    end_month = agreement.end_month
    prices = []
    for product_id in (ContractPrice.objects.filter(agreement=agreement, effective_from__lte=from_month)
                       .values_list("product_id", flat=True).distinct()):
        step = (ContractPrice.objects.filter(agreement=agreement, product_id=product_id,
                                             effective_from__lte=from_month)
                .select_related("product").order_by("-effective_from").first())
        prices.append({"product": step.product, "net_price": step.net_price})
    discounts = []
    for line_id in (LineDiscount.objects.filter(agreement=agreement, effective_from__lte=from_month)
                    .values_list("product_line_id", flat=True).distinct()):
        step = (LineDiscount.objects.filter(agreement=agreement, product_line_id=line_id,
                                            effective_from__lte=from_month)
                .select_related("product_line").order_by("-effective_from").first())
        discounts.append({"product_line": step.product_line, "discount_percent": step.discount_percent})
    products, product_lines = list(agreement.products.all()), list(agreement.product_lines.all())
    agreement_update(by=by, agreement=agreement, end_month=add_months(from_month, -1))
    return agreement_create(
        by=by, number=enrolled_number(agreement.program, agreement.customer_id, from_month),
        customer=agreement.customer, program=agreement.program, start_month=from_month, end_month=end_month,
        committed_monthly_quantity=agreement.committed_monthly_quantity,
        settlement_frequency=agreement.settlement_frequency, interim_frequency=agreement.interim_frequency,
        status=ACTIVE, products=products, product_lines=product_lines, rule=rule, prices=prices,
        line_discounts=discounts, enrolled=True)
