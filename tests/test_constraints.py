"""Every database constraint has its field(s) and plain words in config/constraints.py, and every model with
constraints reports them there, so no form, admin page or API answer shows a constraint's name."""

import datetime

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Q

from config.constraints import CONSTRAINT_PROBLEMS, NamedConstraints
from tests.factories import AgreementFactory

OURS = ("customers", "rebates", "pricing_signals")
CONSTRAINED = [model for model in apps.get_models() if model._meta.app_label in OURS and model._meta.constraints]


def referenced(constraint) -> set[str]:
    names = set(getattr(constraint, "fields", ()) or ())
    condition = getattr(constraint, "condition", None)
    if isinstance(condition, Q):
        names |= set(condition.referenced_base_fields)
    for expression in getattr(constraint, "expressions", ()) or ():
        names |= {node.name for node in expression.flatten() if isinstance(getattr(node, "name", None), str)}
    return {name.split("__")[0] for name in names if name}


@pytest.mark.parametrize("model", CONSTRAINED, ids=lambda model: model.__name__)
def test_every_constraint_is_named_in_plain_words_on_fields_it_reads(model):
    assert issubclass(model, NamedConstraints), f"{model.__name__} must build on config.constraints.NamedConstraints"
    for constraint in model._meta.constraints:
        assert constraint.name in CONSTRAINT_PROBLEMS, f"add {constraint.name} to config/constraints.py"
        fields, message = CONSTRAINT_PROBLEMS[constraint.name]
        assert fields and message
        assert set(fields) <= referenced(constraint), (constraint.name, fields, referenced(constraint))


def test_the_model_reports_the_field_not_the_constraint(db):
    agreement = AgreementFactory()
    agreement.start_month, agreement.end_month = datetime.date(2026, 6, 1), datetime.date(2026, 1, 1)
    with pytest.raises(ValidationError) as raised:
        agreement.full_clean()
    assert raised.value.message_dict == {"end_month": ["The term ends before it starts."]}
    agreement.refresh_from_db()
    assert agreement.end_month > agreement.start_month
