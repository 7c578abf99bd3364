from django import forms

from config import clock
from config.validators import validate_day
from customers.models import Contact
from rebates.forms import DateInput


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of contact", choices=[("", "Choose…"), *Contact.Kind.choices],
                             error_messages={"required": "Say how you were in touch: call, visit, email or meeting."})
    contacted_on = forms.DateField(label="On", widget=DateInput, validators=[validate_day],
                                   error_messages={"required": "Give the date of the contact.",
                                                   "invalid": "Give a date as YYYY-MM-DD."})
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text="What was said, what to follow up.")

    def clean_contacted_on(self):
        day = self.cleaned_data["contacted_on"]
        if day > clock.today():
            raise forms.ValidationError("A contact is logged once it has happened: the date is in the future.")
        return day
