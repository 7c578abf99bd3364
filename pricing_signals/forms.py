"""Forms of the market signal pages. They parse what was typed and put each error next to its field; the
rules (who may, which customer, which price) are the services', whose errors land on the same fields."""

from django import forms
from django.template.loader import render_to_string

from config import clock
from config.forms import ExactDecimalFormField
from config.validators import validate_day
from customers.models import Customer
from pricing_signals.models import MarketSignal, PriceClaim
from rebates.forms import DateInput, MonthField
from rebates.models import Product
from rebates.selectors import claim_products


class QuickSelect(forms.Select):
    """Select's markup from one template (escaped by Django) rather than one template per option: an account
    manager picks from hundreds of customers and products, which the option templates take a tenth of a second
    to render."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        wanted = set(self.format_value(value))
        groups = []  # (group label or None, [(option, label, selected)]): options in <optgroup>s when grouped
        chosen = False
        for option, label in self.choices:
            group, members = (str(option), label) if isinstance(label, list | tuple) else (None, [(option, label)])
            options = []
            for member, member_label in members:
                member = "" if member is None else str(member)
                selected = not chosen and member in wanted
                chosen = chosen or selected
                options.append((member, str(member_label), selected))
            groups.append((group, options))
        return render_to_string("includes/widgets/quick_select.html",
                                {"name": name, "attrs": attrs, "groups": groups})


class PriceClaimForm(forms.Form):
    """A claim heard on a call: the field names are price_claim_record's, so its errors land beside them."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), to_field_name="code", widget=QuickSelect,
                                      error_messages={"required": "Choose the customer who called.",
                                                      "invalid_choice": "Choose one of your customers."})
    product = forms.ModelChoiceField(queryset=Product.objects.order_by("sku"), to_field_name="sku", widget=QuickSelect,
                                     error_messages={"required": "Choose the product the price is for.",
                                                     "invalid_choice": "Choose a product from the list."})
    competitor = forms.CharField(max_length=120, error_messages={"required": "Name the competitor."})
    claimed_unit_price = ExactDecimalFormField(label="Claimed unit price (in the customer currency)",
                                               max_digits=14, decimal_places=4,
                                            widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                            error_messages={"required": "Give the unit price the customer quoted.",
                                                            "invalid": "Give a price like 11.40."})
    reported_on = forms.DateField(label="Reported on", widget=DateInput, validators=[validate_day],
                                  error_messages={"required": "Give the day the customer told you.",
                                                  "invalid": "Give a date as YYYY-MM-DD."})
    channel = forms.ChoiceField(choices=PriceClaim.Channel.choices, initial=PriceClaim.Channel.CALL)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    evidence = forms.FileField(required=False, label="Evidence (PDF, image, e-mail or text; optional)")

    def __init__(self, *args, user, today=None, product_search="", **kwargs):
        super().__init__(*args, **kwargs)
        today = today or clock.today()
        customers = Customer.objects.visible_to(user).order_by("name", "code")
        self.fields["customer"].queryset = customers
        self.fields["customer"].label_from_instance = lambda customer: f"{customer.name} ({customer.code})"
        code = self.data.get("customer") if self.is_bound else self.initial.get("customer")
        # The customer the claim is for, when known: its own products are offered first.
        self.customer = customers.filter(code=code).first() if isinstance(code, str) and code else None
        self.fields["product"].queryset = Product.objects.offered(on=today, customer=self.customer)
        self.fields["product"].widget.choices = product_choices(
            claim_products(customer=self.customer, on=today, search=product_search), self.customer)

    def clean_claimed_unit_price(self):
        price = self.cleaned_data["claimed_unit_price"]
        if price <= 0:
            raise forms.ValidationError("A price is more than zero.")
        return price


class ProductFindForm(forms.Form):
    """Above the claim form, works without a script: a customer (its own products are offered first) and
    words of a product's SKU or name (the product list keeps the products that hold them)."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), to_field_name="code", widget=QuickSelect,
                                      required=False, label="Customer", empty_label="Any customer")
    product_search = forms.CharField(required=False, max_length=100, label="Product: SKU or words of its name",
                                     widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, customers, **kwargs):
        kwargs.setdefault("auto_id", "find-%s")
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        self.fields["customer"].label_from_instance = lambda customer: f"{customer.name} ({customer.code})"


def product_choices(products, customer) -> list:
    """The product select's options: the customer's own products in a group of their own first, then the
    others (one flat list when the customer has none or is not chosen yet)."""
    label = "{0.sku} {0.name}".format
    own = [(product.sku, label(product)) for product, is_own in products if is_own]
    others = [(product.sku, label(product)) for product, is_own in products if not is_own]
    if not own:
        return [("", "---------"), *others]
    return [("", "---------"), (f"Products of {customer.name}", own), *([("Other products", others)] if others else [])]


class AgreementChecklist(forms.CheckboxSelectMultiple):
    """CheckboxSelectMultiple's markup from one template (escaped by Django) rather than one per option: a
    signal covers hundreds of agreements, which the option templates take a tenth of a second to render.
    The loop over the options holds no tag, only values: each option's id and its ` checked` attribute
    (plain text, escaped like the rest) are worked out here. With `shown` (a set of option values), only
    those and the checked ones are listed; every choice stays valid when the form is sent."""

    shown = None  # the options listed besides the checked ones (None: every option)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = set(self.format_value(value))
        box_id = attrs.get("id")
        shown = self.shown
        # An option keeps its id (its place among all the choices) whichever options are listed.
        options = [(str(option), str(label), f"{box_id}_{index}" if box_id else "",
                    " checked" if str(option) in chosen else "")
                   for index, (option, label) in enumerate(self.choices)
                   if shown is None or str(option) in chosen or str(option) in shown]
        return render_to_string("pricing_signals/includes/agreement_checklist.html",
                                {"name": name, "box_id": box_id, "options": options})


class DecisionForm(forms.Form):
    """Match (a new contract price from a month, for chosen agreements) or hold (with a reason)."""

    decision = forms.ChoiceField(choices=MarketSignal.Decision.choices, widget=forms.RadioSelect,
                                 error_messages={"required": "Choose match or hold."})
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required to hold; kept in the evidence record.")
    match_price = ExactDecimalFormField(label="Matched net unit price (in each agreement currency)",
                                        required=False, max_digits=14,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                     decimal_places=4, error_messages={"invalid": "Give a price like 11.40."})
    effective_from = MonthField(label="From month", required=False)
    agreements = forms.MultipleChoiceField(required=False, widget=AgreementChecklist)
    # The match request last previewed: a match is recorded only when what is sent is what was previewed.
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def match_key(self) -> str:
        """The match request sent, as one text: compared with `previewed` before a match is recorded."""
        data = self.cleaned_data
        month = data.get("effective_from")
        return "|".join((str(data.get("match_price") or ""), f"{month:%Y-%m}" if month else "",
                         ",".join(sorted(data.get("agreements") or ()))))

    def __init__(self, *args, agreements=(), **kwargs):  # agreements: selectors.CoveringAgreement
        super().__init__(*args, **kwargs)
        self.fields["agreements"].choices = [
            (agreement.number, f"{agreement.number} · {agreement.customer_name} ({agreement.customer_code})")
            for agreement in agreements
        ]

