from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from config.shared_cache import counter_get, counter_incr


class SignInForm(AuthenticationForm):
    """The sign-in form, refusing further attempts for a while after too many failures.

    Failures are counted in the shared cache; with Redis away they are counted in this process, so sign-in
    keeps working and stays limited (config/shared_cache.py)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "too_many_attempts": "Too many sign-in attempts. Wait a few minutes and try again.",
    }

    def _throttle_keys(self):
        username = (self.data.get("username") or "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        return [f"sign-in:user:{username}", f"sign-in:addr:{address}"]

    def clean(self):
        keys = self._throttle_keys()
        limit = settings.SIGN_IN_MAX_ATTEMPTS
        if any(counter_get(key) >= limit for key in keys):
            raise ValidationError(self.error_messages["too_many_attempts"], code="too_many_attempts")
        try:
            return super().clean()
        except ValidationError:
            for key in keys:
                counter_incr(key, timeout=settings.SIGN_IN_WINDOW_SECONDS)
            raise
