"""Forms of the programs pages: a period, and up to three drafted terms; the rules live in the services and
the engine they hand their cleaned data to."""

from decimal import Decimal

from django import forms

from config.forms import ExactDecimalFormField
from programs.selectors import PeriodError, period_check
from programs.whatif import KINDS, MAX_DRAFTS, Draft, DraftError, draft_rule
from rebates.engine.money import DecimalInputError, parse_decimal
from rebates.forms import MonthField

KIND_NAMES = {"per_unit": "Per unit", "percent": "Percent of net amount", "tiered": "Tiered",
              "growth": "Growth over a baseline"}


class PeriodForm(forms.Form):
    period_from = MonthField(label="From", required=False)
    period_to = MonthField(label="To", required=False, help_text="At most 12 months.")

    def __init__(self, *args, default=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        start = data.get("period_from") or self.default.start
        end = data.get("period_to") or self.default.end
        try:
            data["period"] = period_check(start, end)
        except PeriodError as error:
            self.add_error("period_to", str(error))
        return data


class DraftForm(forms.Form):
    """One drafted rule; left without a kind, the draft is not used."""

    kind = forms.ChoiceField(label="Rule", required=False,
                             choices=[("", "Not used"), *((k, KIND_NAMES.get(k, k)) for k in KINDS)])
    rate = ExactDecimalFormField(label="Rate", required=False, max_digits=16, decimal_places=4,
                                 help_text="Money per unit, or a percent (2 means 2%).")
    rate_type = forms.ChoiceField(label="Rate is", choices=[("per_unit", "money per unit"), ("percent", "a percent")],
                                  initial="per_unit")
    bands = forms.CharField(label="Tiers", required=False,
                            help_text="threshold:rate pairs, e.g. 0:1, 1000:2, 5000:3.")
    tier_basis = forms.ChoiceField(label="Tiers read on", required=False, choices=[
        ("", "—"), ("quantity", "quantity"), ("amount", "amount"), ("percent_of_baseline", "% of baseline")])
    tier_method = forms.ChoiceField(label="Tiers pay", required=False, choices=[
        ("", "—"), ("retroactive", "retroactive"), ("retroactive_on_growth", "retroactive on growth"),
        ("incremental", "incremental")])
    baseline = forms.ChoiceField(label="Baseline", required=False,
                                 choices=[("", "—"), ("last_year", "last year"), ("stated", "stated")])
    baseline_amount = ExactDecimalFormField(label="Stated baseline", required=False, max_digits=16, decimal_places=2)
    minimum = ExactDecimalFormField(label="Minimum", required=False, max_digits=16, decimal_places=3)
    cap = ExactDecimalFormField(label="Cap", required=False, max_digits=16, decimal_places=2)

    def clean_bands(self):
        text = self.cleaned_data.get("bands", "").strip()
        if not text:
            return ()
        bands = []
        for pair in text.split(","):
            threshold, _, rate = pair.partition(":")
            try:
                bands.append((parse_decimal(threshold.strip(), places=3, digits=16),
                              parse_decimal(rate.strip(), places=4, digits=16)))
            except DecimalInputError:
                raise forms.ValidationError("Give tiers as threshold:rate pairs, e.g. 0:1, 1000:2.") from None
        return tuple(bands)

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("kind"):
            return data
        draft = self.draft()
        try:
            draft_rule(draft)
        except DraftError as error:
            self.add_error(error.field if error.field in self.fields else None, str(error))
        return data

    def draft(self) -> Draft | None:
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        return Draft(kind=data["kind"], rate=data.get("rate"), rate_type=data.get("rate_type") or "per_unit",
                     bands=data.get("bands") or (), tier_basis=data.get("tier_basis") or "",
                     tier_method=data.get("tier_method") or "", baseline=data.get("baseline") or "",
                     baseline_amount=data.get("baseline_amount"), minimum=data.get("minimum"), cap=data.get("cap"))


def draft_forms(data=None, *, initial_rate: Decimal | None = None) -> list[DraftForm]:
    return [DraftForm(data, prefix=f"draft{i + 1}",
                      initial={"kind": "per_unit", "rate": initial_rate} if i == 0 and data is None else None)
            for i in range(MAX_DRAFTS)]


class TemplateChangeForm(DraftForm):
    """A segment-wide program's new template rule and the month it applies from; the rule is checked by the
    template change's service, as an agreement's rule is."""

    from_month = MonthField(label="From", help_text="The first month the new rule applies to (this month or later).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].required = True
        self.fields["kind"].choices = [choice for choice in self.fields["kind"].choices if choice[0]]

    def rule(self) -> dict:
        """The drafted rule as the catalogue's services take one."""
        draft = self.draft()
        rule = {"kind": draft.kind, "rate_type": draft.rate_type, "rate": draft.rate, "tier_basis": draft.tier_basis,
                "tier_method": draft.tier_method, "baseline": draft.baseline,
                "baseline_amount": draft.baseline_amount, "minimum": draft.minimum, "cap": draft.cap,
                "bands": [{"threshold": threshold, "rate": rate} for threshold, rate in draft.bands]}
        return rule
