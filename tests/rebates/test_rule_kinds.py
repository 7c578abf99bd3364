"""The model's rule kinds are the engine's, and the database keeps each kind's required settings."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from rebates.engine import RULE_KINDS
from rebates.models import RebateRule
from tests.factories import AgreementFactory

# Settings that satisfy every kind's requirements: a rule of any kind saves with them.
EVERY_SETTING = {"rate": Decimal("0.25"), "rate_type": "percent", "tier_basis": "quantity",
                 "tier_method": "retroactive", "baseline": "last_year", "active_months": 3, "active_window": 4,
                 "clearance_rate": Decimal("3"), "min_product_lines": 2}
REQUIRED = [(code, requirement.name, field)
            for code, kind in RULE_KINDS.items() for requirement in kind.requires for field in requirement.fields]


def missing(field):
    """What the model stores for a setting not given: blank for a choice, null for an amount."""
    return None if RebateRule._meta.get_field(field).null else ""


def refused_by(**values) -> str:
    """The name of the database constraint that refuses a rule with these values."""
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        RebateRule.objects.create(agreement=AgreementFactory(), **values)
    return raised.value.__cause__.diag.constraint_name


def test_the_models_kind_choices_are_the_engines_kinds():
    assert RebateRule._meta.get_field("kind").choices == [(code, kind.name) for code, kind in RULE_KINDS.items()]
    assert RebateRule.Kind.values == list(RULE_KINDS)


def test_every_kind_code_fits_the_kind_column():
    assert max(len(code) for code in RULE_KINDS) <= RebateRule._meta.get_field("kind").max_length


@pytest.mark.parametrize("code", list(RULE_KINDS))
def test_a_rule_with_every_required_setting_saves(db, code):
    rule = RebateRule.objects.create(agreement=AgreementFactory(), kind=code, **EVERY_SETTING)
    assert RebateRule.objects.get(pk=rule.pk).kind == code


@pytest.mark.parametrize(("code", "constraint", "field"), REQUIRED)
def test_the_database_refuses_a_rule_missing_a_setting_its_kind_requires(db, code, constraint, field):
    assert refused_by(**{**EVERY_SETTING, "kind": code, field: missing(field)}) == constraint


@pytest.mark.parametrize(("code", "constraint", "field"), [
    (code, constraint, field) for code, constraint, field in REQUIRED
    if not RebateRule._meta.get_field(field).choices
])
def test_the_database_refuses_a_negative_required_amount(db, code, constraint, field):
    assert refused_by(**{**EVERY_SETTING, "kind": code, field: Decimal("-1")}) == constraint


@pytest.mark.parametrize(("code", "field"), [
    (code, field) for code in RULE_KINDS for field in {field for _, _, field in REQUIRED}
    if (code, field) not in {(kind, field) for kind, _, field in REQUIRED}
])
def test_a_kind_that_does_not_require_a_setting_saves_without_it(db, code, field):
    rule = RebateRule.objects.create(agreement=AgreementFactory(), **{**EVERY_SETTING, "kind": code,
                                                                     field: missing(field)})
    assert getattr(RebateRule.objects.get(pk=rule.pk), field) == missing(field)


def test_the_database_refuses_a_kind_the_engine_does_not_know(db):
    assert refused_by(**EVERY_SETTING, kind="rebate") == "rule_kind_is_known"
