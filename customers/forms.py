from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from customers.sign_in import sign_in_failure_record, sign_in_success_record, sign_in_wait_minutes


class ThrottledSignIn:
    """Refuses further sign-in attempts for a while after too many failures (customers.sign_in)."""

    def _who(self):
        username = self.data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        return {"username": username if isinstance(username, str) else "", "address": address}

    def clean(self):
        who = self._who()
        minutes = sign_in_wait_minutes(**who)
        if minutes:
            raise ValidationError(
                "Too many sign-in attempts. Try again in %(minutes)d minute%(plural)s.",
                code="too_many_attempts", params={"minutes": minutes, "plural": "" if minutes == 1 else "s"})
        try:
            cleaned = super().clean()
        except ValidationError:
            # A wrong password or an unknown name counts; a right password refused for another reason
            # (an account without admin access at the admin sign-in) does not.
            if self.user_cache is None:
                sign_in_failure_record(**who)
            raise
        if self.user_cache is not None:
            sign_in_success_record(**who)
        return cleaned


class SignInForm(ThrottledSignIn, AuthenticationForm):
    """The app's sign-in form."""


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in form, throttled by the same rule."""
