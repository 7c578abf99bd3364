"""Every database constraint in plain words, naming the field(s) it is about.

Django reports a broken check constraint as `Constraint "agreement_term_end_after_start" is violated.` with no
field; the API, the admin and the pages say instead which field is wrong and why: the models validate through
`NamedConstraints.validate_constraints`, and the API's exception handler reads the same table for a constraint
the database itself refused (an IntegrityError: two requests racing for one number, say).
`tests/test_constraints.py` checks that every constraint of every model is here.
"""

from django.core.exceptions import ValidationError
from django.db import router

# constraint name: (the model fields it is about, the problem in plain words). The fields are among those the
# constraint reads, so a form that leaves one out (and so skips the constraint) never gets an error it lacks.
CONSTRAINT_PROBLEMS: dict[str, tuple[tuple[str, ...], str]] = {
    # customers
    "customer_code_not_blank": (("code",), "The code must not be blank."),
    "customer_lost_on_only_when_lost": (("lost_on",), "Only a lost customer has a lost date."),
    "customer_not_referred_by_itself": (("referred_by",), "A customer cannot refer itself."),
    "customer_referral_stated_whole": (("referred_by", "referral_from", "referral_months"),
                                       "A referral needs the referring customer, its first month and its "
                                       "months, or none of them."),
    "customer_referral_months_positive": (("referral_months",), "A referral lasts at least 1 month."),
    "customer_currency_is_code": (("currency",), "A currency is an ISO 4217 code: three capitals, such as USD."),
    "group_membership_not_of_itself": (("member",), "A group is never a member of itself."),
    "group_membership_ends_after_joined": (("ended",), "A membership ends after the month it began."),
    "group_membership_by_month": (("joined", "ended"), "Memberships begin and end on the first of a month."),
    # Kept by a trigger of migration customers 0008_buying_groups (no check constraint can read other rows).
    "group_membership_of_a_group": (("group",), "Only a buying group has members."),
    "group_membership_one_level": (("member",), "A buying group is never a member of another group."),
    "group_membership_one_group_at_a_time": (("joined", "ended"),
                                             "The customer is already a member of a group in those months."),
    "contact_cadence_one_per_cell": (("value_tier", "risk_level"),
                                     "This value tier and risk level already have a cadence."),
    "contact_cadence_days_positive": (("days",), "The days between contacts must be at least 1."),
    # products
    "product_list_price_not_negative": (("list_price",), "The list price must not be negative."),
    "product_sku_not_blank": (("sku",), "The SKU must not be blank."),
    "product_discontinued_after_launch": (("discontinued_on",), "The product is discontinued before its launch."),
    # agreements
    "agreement_term_end_after_start": (("end_month",), "The term ends before it starts."),
    "agreement_start_is_month": (("start_month",), "The start must be the first of a month."),
    "agreement_end_is_month": (("end_month",), "The end must be the first of a month."),
    "agreement_commitment_positive": (("committed_monthly_quantity",),
                                      "The committed monthly quantity must be more than zero."),
    "agreement_terminated_has_date": (("terminated_on",), "A terminated agreement needs its termination date."),
    "agreement_number_not_blank": (("number",), "The number must not be blank."),
    "one_enrolled_agreement_per_customer_and_start": (
        ("start_month",), "The customer already has an agreement enrolled from this program starting this month."),
    "agreement_overridden_only_when_enrolled": (
        ("overridden",), "Only an agreement enrolled from its program's template can be overridden."),
    "agreement_interim_shorter_than_settlement": (
        ("interim_frequency",), "Interim payments must be more frequent than the settlement: quarterly or monthly "
                                "within an annual settlement, monthly within a quarterly one."),
    "one_contract_price_per_date": (("effective_from",), "The agreement already has a price from this date."),
    "contract_price_positive": (("net_price",), "The net price must be more than zero."),
    "one_contract_price_per_product_and_date": (("effective_from",),
                                                "The agreement already prices this product from this date."),
    "one_line_discount_per_line_and_date": (("effective_from",),
                                            "The agreement already has a discount for this line from this date."),
    "line_discount_percent_in_range": (("discount_percent",), "A discount is from 0 to less than 100 percent."),
    # rules, bands, bonuses
    "rule_kind_is_known": (("kind",), "The kind is not one of the rule kinds."),
    "rule_flat_kinds_have_rate": (("rate",),
                                  "A per-unit, percent, growth, conditional, clearance, product mix or "
                                  "referral rule needs a rate of zero or more."),
    "rule_tiered_has_basis_and_method": (("tier_basis", "tier_method"), "A tiered rule needs its basis and method."),
    "rule_growth_has_baseline": (("baseline",), "A growth rule needs a baseline."),
    "rule_clearance_has_clearance_rate": (("clearance_rate",),
                                          "A clearance rule needs its clearance rate, zero or more."),
    "product_clearance_window_in_order": (("clearance_from", "clearance_until"),
                                          "A clearance window needs both months, the last not before the first."),
    "rule_mix_has_a_condition": (("min_product_lines", "focus_share"),
                                 "A product mix rule needs its product lines or its focus line's share."),
    "rule_mix_lines_at_least_one": (("min_product_lines",), "The product lines must be 1 or more."),
    "rule_mix_focus_share_has_line": (("focus_line", "focus_share"),
                                      "A focus share needs its focus line (and a focus line its share), "
                                      "from 0 to 100 percent."),
    "rule_conditional_has_active_months": (("active_months", "active_window"),
                                           "A conditional rule needs its months bought in and the months looked at."),
    "rule_window_holds_active_months": (("active_months", "active_window"),
                                        "The months bought in must be 1 or more and at most the months looked at, "
                                        "which are 12 at most."),
    "rule_stated_baseline_has_amount": (("baseline_amount",),
                                        "A stated baseline needs its amount, zero or more."),
    "rule_minimum_not_negative": (("minimum",), "The minimum must not be negative."),
    "rule_cap_not_negative": (("cap",), "The cap must not be negative."),
    "one_band_per_threshold": (("threshold",), "Another band starts at this threshold."),
    "band_threshold_not_negative": (("threshold",), "The threshold must not be negative."),
    "band_rate_not_negative": (("rate",), "The rate must not be negative."),
    "bonus_minimum_positive": (("minimum_quantity",), "The minimum quantity must be more than zero."),
    "bonus_percent_positive": (("extra_percent",), "The extra percent must be more than zero."),
    # purchases, imports, runs
    "one_idempotency_key_per_user": (("key",), "This Idempotency-Key is already recorded."),
    "purchase_month_is_month": (("month",), "The month must be the first of a month."),
    "purchase_erp_line_id_not_blank": (("erp_line_id",), "The ERP line id must not be blank."),
    "purchase_unit_price_not_negative": (("unit_price",), "The unit price must not be negative."),
    "purchase_unit_figures_with_unit": (("unit",), "A line in another unit keeps its quantity and price as sent; "
                                                   "a line in the base unit has neither."),
    "purchase_currency_figures_with_currency": (("currency",), "A line in another currency keeps its price, "
                                                               "amount and rate; a line in the customer's has none."),
    "exchange_rate_one_per_month": (("month",), "This currency pair already has a rate for the month."),
    "exchange_rate_positive": (("rate",), "A rate is more than 0."),
    "exchange_rate_month_is_month": (("month",), "The month must be the first of a month."),
    "exchange_rate_two_currencies": (("to_currency",), "A rate converts one currency into another."),
    "exchange_rate_codes": (("currency",), "A currency is an ISO 4217 code: three capitals, such as USD."),
    "held_purchase_month_is_month": (("month",), "The month must be the first of a month."),
    "held_purchase_has_currency": (("currency",), "A held line names the currency it was sent in."),
    "product_unit_code_unique": (("code",), "The product already has a unit with this code."),
    "product_unit_base_quantity_positive": (("base_quantity",), "A unit holds more than 0 base units."),
    "product_unit_code_not_blank": (("code",), "The unit code must not be blank."),
    "export_progress_le_100": (("progress",), "Progress is at most 100."),
    "one_running_accrual_run": (("status",), "Another accrual run is running."),
    "run_chunks_done_le_total": (("chunks_done",), "More chunks done than the run has."),
    "one_chunk_number_per_run": (("number",), "The run already has a chunk with this number."),
    "chunk_range_ordered": (("last_agreement_id",), "The chunk's last agreement comes before its first."),
    "mark_names_agreement_or_cell": (("agreement",), "A mark names an agreement, or a customer and a month."),
    # settlements and the ledger
    "settlement_period_ordered": (("period_end",), "The settlement period ends before it starts."),
    "one_closing_per_period": (("period_start",), "The agreement already has a settlement for this period."),
    "one_interim_per_through_month": (("period_end",),
                                      "The agreement already has an interim payment through this month."),
    "settlement_paid_has_date_and_reference": (("paid_on", "payment_reference"),
                                               "A paid settlement needs its payment date and reference."),
    "settlement_approved_has_approver": (("approved_by",), "An approved settlement needs its approver."),
    "settlement_second_approver_differs": (("second_approved_by",),
                                           "The second approval must come from another person than the first."),
    "settlement_part_once_per_member": (("member",), "The settlement already pays this member its part."),
    "settlement_part_credit_note_once": (("payment_reference",),
                                         "That credit note number is already another member's part."),
    "settlement_part_has_credit_note": (("payment_reference",), "A member's part needs its credit note number."),
    "entry_period_is_month": (("period",), "The month must be the first of a month."),
    "entry_payout_and_forfeiture_not_positive": (("amount",), "A payout or forfeiture is not positive."),
    "entry_payout_names_settlement": (("settlement",), "A payout names its settlement."),
    "entry_booked_once": (("booking_key",), "This entry is already booked."),
    "entry_concerns_is_month": (("concerns",), "The month it concerns must be the first of a month."),
    "entry_concerns_not_after_period": (("concerns",), "An entry is never booked before the month it concerns."),
    "period_lock_month_is_month": (("month",), "The month must be the first of a month."),
    "period_lock_reopened_with_reason": (("reopen_reason",), "Reopening a month needs a reason."),
    "forecast_once_per_run": (("agreement",), "This run's outlook of the agreement is stored already."),
    "forecast_months_are_months": (("period_start", "period_end", "payout_month"),
                                   "The period's months and the month of payout must be firsts of months."),
    "forecast_period_ordered": (("period_end",), "The period ends before it starts."),
    # market signals
    "rule_window_positive": (("window_days",), "The window must be at least one day."),
    "rule_min_customers_positive": (("min_customers",), "At least one customer."),
    "rule_tolerance_positive": (("tolerance_percent",), "The tolerance is more than 0 and less than 100 percent."),
    "one_global_detection_rule": (("product_line",), "There is already a global default detection rule."),
    "signal_window_ordered": (("window_end",), "The window ends before it starts."),
    "signal_median_positive": (("median_price",), "The median price must be more than zero."),
    "signal_match_has_price_and_date": (("match_price", "match_effective_from"),
                                        "A match needs its price and the date it applies from."),
    "signal_hold_has_reason": (("decision_reason",), "A hold needs its reason."),
    "decision_match_has_price_and_date": (("match_price", "match_effective_from"),
                                          "A match needs its price and the date it applies from."),
    "decision_hold_has_reason": (("reason",), "A hold needs its reason."),
    "one_current_decision_per_signal": (("signal",), "The signal already has a decision in force."),
    "claim_price_positive": (("claimed_price",), "The claimed price must be more than zero."),
    "claim_corroborated_has_signal": (("signal",), "A corroborated claim names its signal."),
}


def constraint_problem(name: str | None) -> tuple[tuple[str, ...], str] | None:
    """(fields, plain words) for a constraint name; None for a name not in the table."""
    return CONSTRAINT_PROBLEMS.get(name or "")


class NamedConstraints:
    """A model mixin: a constraint its values break is reported on its field(s), in plain words."""

    def validate_constraints(self, exclude=None):
        using = router.db_for_write(self.__class__, instance=self)
        errors = {}
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as error:
                    problem = constraint_problem(constraint.name)
                    if problem is None:
                        errors = error.update_error_dict(errors)
                        continue
                    fields, message = problem
                    for field in fields:
                        errors.setdefault(field, []).append(ValidationError(message, code=constraint.name))
        if errors:
            raise ValidationError(errors)

