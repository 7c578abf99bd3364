"""Form fields shared by the apps' pages."""

from django import forms
from django.core.exceptions import ValidationError

from rebates.engine.money import NOT_A_DECIMAL, DecimalInputError, parse_decimal


class ExactDecimalFormField(forms.DecimalField):
    """A decimal typed into a page, read by rebates.engine.money.parse_decimal, the parser the API, the
    imports and the services use; the field's own "invalid" message stands for text that is no number."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(str(value), places=self.decimal_places, digits=self.max_digits)
        except DecimalInputError as error:
            if str(error) == NOT_A_DECIMAL:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            raise ValidationError(str(error), code="invalid") from None
