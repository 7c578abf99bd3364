"""Forms of the rebates pages: they parse input and say what is wrong next to the field; the rules live in
the services they hand their cleaned data to."""

import re
from datetime import date

from django import forms
from django.template.loader import render_to_string

from config import clock
from config.validators import MONTH_RULE, month_in_range, validate_day
from rebates.engine.periods import add_months, month_of
from rebates.engine.words import money
from rebates.models import ImportBatch

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthField(forms.CharField):
    """YYYY-MM at the edge (2000-01 to 2099-12), a first-of-month date inside."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "YYYY-MM", "inputmode": "numeric"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        found = MONTH.match(value)
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise forms.ValidationError("Give a month as YYYY-MM, for example 2026-09.", code="month")
        month = date(int(found.group(1)), int(found.group(2)), 1)
        if not month_in_range(month):
            raise forms.ValidationError(MONTH_RULE, code="month_range")
        return month

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class DateInput(forms.DateInput):
    input_type = "date"


class AccrualRunForm(forms.Form):
    as_of = forms.DateField(label="Accrue up to", widget=DateInput, validators=[validate_day],
                            error_messages={"required": "Give the date to accrue up to.",
                                            "invalid": "Give a date as YYYY-MM-DD."})
    full = forms.BooleanField(label="Recompute every agreement (a full run)", required=False)

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        today = clock.today()
        # Compared as (year, month, day): a year from 29 February is no date to build.
        if (as_of.year, as_of.month, as_of.day) > (today.year + 1, today.month, today.day):
            raise forms.ValidationError("Accrue up to a date within the next year.")
        return as_of


class SettlementPayForm(forms.Form):
    payment_reference = forms.CharField(label="Payment reference (credit note number)", max_length=80,
                                        error_messages={"required": "Give the credit note number of the payment."})
    paid_on = forms.DateField(label="Paid on", widget=DateInput, validators=[validate_day],
                              error_messages={"required": "Give the payment date.",
                                              "invalid": "Give a date as YYYY-MM-DD."})
    # Set by the confirmation step: a payment is shown once more before it is made.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, parts=(), currency=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A buying group's settlement split among its members (their parts in the agreement's `currency`): a credit
        # note number for each member, or a pattern.
        self.parts = list(parts)
        self.member_fields = []
        if self.parts:
            del self.fields["payment_reference"]
            self.fields["pattern"] = forms.CharField(
                label="Or number them by a pattern", max_length=80, required=False,
                help_text="One {n} where the running number goes, e.g. CN-2026-{n:05d}: the members in the order "
                          "listed get the first number, the next, ...")
            self.fields["start"] = forms.IntegerField(label="First number", min_value=0, initial=1, required=False)
            for part in self.parts:
                name = f"member-{part.member}"
                self.fields[name] = forms.CharField(
                    label=f"Credit note of {part.member} {part.name} ({money(part.amount, 2, currency)})",
                    max_length=80, required=False)
                self.member_fields.append((part, name))

    def clean_payment_reference(self):
        reference = self.cleaned_data["payment_reference"].strip()
        if not reference:
            raise forms.ValidationError("Give the credit note number of the payment.")
        return reference

    def clean(self):
        data = super().clean()
        if self.parts and not (data.get("pattern") or "").strip():
            for part, name in self.member_fields:
                if not (data.get(name) or "").strip():
                    self.add_error(name, f"Give the credit note number of {part.member}, or a pattern.")
        return data

    def member_references(self) -> dict[str, str] | None:
        """The credit note number typed for each member; None when not split or when a pattern numbers them."""
        if not self.parts or (self.cleaned_data.get("pattern") or "").strip():
            return None
        return {part.member: self.cleaned_data[name].strip() for part, name in self.member_fields}

    def member_rows(self):
        """(part, its credit note field) for each member, in the order listed."""
        return [(part, self[name]) for part, name in self.member_fields]

    def member_confirmed(self):
        """(part, the credit note number typed for it) for each member, once valid."""
        return [(part, (self.cleaned_data.get(name) or "").strip()) for part, name in self.member_fields]

    def carried(self) -> list[tuple[str, str]]:
        """The payment as filled in, carried through the confirmation (hidden fields)."""
        names = ["payment_reference"] if not self.parts else ["pattern", "start", *(n for _, n in self.member_fields)]
        return [(name, "" if self.cleaned_data.get(name) is None else str(self.cleaned_data[name])) for name in names]


class SettlementsPayForm(forms.Form):
    """Paying the approved settlements of a selection: a credit note number typed for each (`reference-<id>`
    fields, added by the view) or a numbering pattern."""

    pattern = forms.CharField(label="Credit note numbers", max_length=80, required=False,
                              help_text="One {n} where the running number goes, e.g. CN-2026-{n:05d}; leave empty "
                                        "to type a number for each settlement below.")
    start = forms.IntegerField(label="First number", min_value=0, initial=1, required=False)
    paid_on = forms.DateField(label="Paid on", widget=DateInput, validators=[validate_day],
                              error_messages={"required": "Give the payment date.",
                                              "invalid": "Give a date as YYYY-MM-DD."})

    def __init__(self, *args, settlements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.settlement_fields = []
        for settlement in settlements:
            name = f"reference-{settlement.pk}"
            self.fields[name] = forms.CharField(label=f"Credit note of settlement {settlement.pk}", max_length=80,
                                                required=False)
            self.settlement_fields.append((settlement, name))

    def references(self) -> dict[int, str] | None:
        """The credit note number typed for each settlement, or None when a pattern numbers them."""
        if self.cleaned_data.get("pattern"):
            return None
        return {settlement.pk: self.cleaned_data.get(name, "") for settlement, name in self.settlement_fields}

    def clean(self):
        data = super().clean()
        if not data.get("pattern"):
            blank = [name for _, name in self.settlement_fields if not (data.get(name) or "").strip()]
            for name in blank:
                self.add_error(name, "Give its credit note number, or a pattern above.")
        return data


class SettlementInterimForm(forms.Form):
    agreement = forms.CharField(label="Agreement number", max_length=40)
    through = MonthField(label="Pay through month", help_text="YYYY-MM, inside the agreement's open settlement "
                                                              "period: earned to then, less interims already made.")


class AgreementTerminateForm(forms.Form):
    terminated_on = forms.DateField(label="Customer left on", widget=DateInput,
                                    help_text="Within the term. The unpaid rebate is forfeited.")
    reason = forms.CharField(label="Reason", max_length=200)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the agreement ends.")
        return reason


class CodeList(forms.TextInput):
    """A text input that offers the codes the user may pick (a <datalist>): typing narrows the list, and a code
    past the list can still be typed (the export checks it)."""

    options: list[tuple[str, str]] = []

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        return render_to_string("includes/widgets/datalist.html", {
            "name": name, "value": self.format_value(value) or "", "attrs": attrs,
            "list_id": f"{attrs.get('id', name)}-options", "options": self.options})


class ExportForm(forms.Form):
    """The accrual export's filters, each picked among the codes the user may export (an account manager:
    their own customers); a code that names none of them is an error beside its field, and nothing is made."""

    report = forms.ChoiceField(initial="accruals", choices=(
        ("accruals", "Finance accrual sheet (per agreement and month, liability)"),
        ("liability", "Liability report (as .xlsx: the accrual sheet, which holds it)")))
    format = forms.ChoiceField(choices=(("xlsx", "Excel (.xlsx)"), ("csv", "CSV")), initial="xlsx")
    customer = forms.CharField(label="Customer", required=False, max_length=40, widget=CodeList,
                               help_text="Type a code or a name and pick from the list; empty for every customer.")
    agreement = forms.CharField(label="Agreement", required=False, max_length=40, widget=CodeList,
                                help_text="Empty for every agreement.")
    program = forms.ChoiceField(label="Program", required=False, choices=(),
                                error_messages={"invalid_choice": "No program %(value)s among those you may export; "
                                                                  "pick one from the list."})
    manager = forms.ChoiceField(label="Account manager", required=False, choices=(),
                                error_messages={"invalid_choice": "No account manager %(value)s among those you may "
                                                                  "export; pick one from the list."})
    month_from = MonthField(label="From month", required=False)
    month_to = MonthField(label="To month", required=False)

    def __init__(self, *args, choices: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = choices or {}
        for name in ("customer", "agreement"):
            self.fields[name].widget.options = choices.get(name, [])
        self.fields["program"].choices = [("", "Every program"), *choices.get("program", [])]
        self.fields["manager"].choices = [("", "Every account manager"), *choices.get("manager", [])]

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("month_from"), cleaned.get("month_to")
        if first and last and first > last:
            self.add_error("month_to", "The last month comes after the first.")
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        found = {key: data[key].strip() for key in ("customer", "agreement", "manager", "program")
                 if (data.get(key) or "").strip()}
        for key in ("month_from", "month_to"):
            if data.get(key):
                found[key] = f"{data[key]:%Y-%m}"
        return found


class ImportForm(forms.Form):
    """A file to import, and what it holds among the kinds the user may import (`kinds`; purchase lines when
    only one is offered, the field then hidden)."""

    kind = forms.ChoiceField(label="The file holds", choices=ImportBatch.Kind.choices,
                             initial=ImportBatch.Kind.PURCHASES,
                             error_messages={"invalid_choice": "Choose what the file holds among those offered."})
    file = forms.FileField(label="File (.xlsx or .csv)",
                           error_messages={"required": "Choose a .xlsx or .csv file to import.",
                                           "empty": "The file is empty."})

    def __init__(self, *args, kinds=(ImportBatch.Kind.PURCHASES,), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(value, label) for value, label in ImportBatch.Kind.choices if value in kinds]
        self.fields["kind"].initial = kinds[0]
        if len(kinds) == 1:
            self.fields["kind"].required = False
            self.fields["kind"].widget = forms.HiddenInput()

    def clean_kind(self):
        kind = self.cleaned_data.get("kind") or self.fields["kind"].initial
        if kind not in dict(self.fields["kind"].choices):
            raise forms.ValidationError("Choose what the file holds among those offered.")
        return kind

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError("Only .xlsx and .csv files are imported.")
        return upload


class RatesFileForm(forms.Form):
    file = forms.FileField(label="Rate file (.xlsx or .csv)",
                           error_messages={"required": "Choose a .xlsx or .csv file of exchange rates.",
                                           "empty": "The file is empty."})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError("Only .xlsx and .csv files are imported.")
        return upload


class JournalForm(forms.Form):
    """The months of the GL journal: by default the last complete month."""

    month_from = MonthField(label="From month", required=False)
    month_to = MonthField(label="To month", required=False)

    def clean(self):
        cleaned = super().clean()
        last_complete = add_months(month_of(clock.today()), -1)
        first = cleaned.get("month_from") or cleaned.get("month_to") or last_complete
        last = cleaned.get("month_to") or first
        if "month_from" not in self.errors and "month_to" not in self.errors and first > last:
            self.add_error("month_to", "The last month comes after the first.")
        cleaned["first"], cleaned["last"] = first, last
        return cleaned


class AgedLiabilityForm(forms.Form):
    """How the aged liability is grouped, and the day its ages are counted to (default today)."""

    by = forms.ChoiceField(label="Group by", required=False, choices=[
        ("customer", "Customer"), ("program", "Program"), ("manager", "Account manager")])
    as_of = forms.DateField(label="Aged on", required=False, input_formats=["%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "A day as YYYY-MM-DD."})

    def clean(self):
        cleaned = super().clean()
        cleaned["by"] = cleaned.get("by") or "customer"
        cleaned["as_of"] = cleaned.get("as_of") or clock.today()
        # Months are kept from 2000 to 2099 everywhere (the API's month pattern); ages beyond are no day of ours.
        if not 2000 <= cleaned["as_of"].year <= 2099:
            self.add_error("as_of", "A day from 2000-01-01 to 2099-12-31.")
        return cleaned


class PeriodLockForm(forms.Form):
    """Lock a month, or reopen one with a reason (the months page posts one or the other)."""

    action = forms.ChoiceField(choices=[("lock", "Lock"), ("reopen", "Reopen")])
    month = MonthField(label="Month")
    reason = forms.CharField(label="Why reopen it", max_length=300, required=False, strip=True)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "reopen" and not cleaned.get("reason"):
            self.add_error("reason", "Reopening a month needs a reason.")
        return cleaned
