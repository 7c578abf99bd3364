"""The admin's saves through the services: a change the service refuses is shown on the form, not a 500.

A ModelAdmin that saves through a service (its `save_model`/`save_related` call it) subclasses
`ServiceAdmin`. The admin saves inside a transaction; when the service raises a ValidationError that
transaction is rolled back and the form is shown again, bound to what was sent, with the service's
messages on the fields they name (the rest above the form).
"""

from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.module_loading import import_string


class ServiceAdmin(admin.ModelAdmin):
    # Field names the service uses, as the admin form names them ("rule.kind" -> "kind").
    refusal_prefixes = ("rule.",)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:
            if request.method != "POST" or getattr(request, "service_refusal", None) is not None:
                raise
            # Nothing was kept (the admin's transaction rolled back): show the form again with the reasons.
            request.service_refusal = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "service_refusal", None)
        return form if refused is None else _refused_form(form, refused, self.refusal_prefixes)

    @staticmethod
    def formsets_saved(formsets):
        """What the admin's change message reads of formsets it did not save itself (the service did)."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class CreateUpdateServiceAdmin(ServiceAdmin):
    """A model the admin saves through a pair of services, named by dotted path (imported when used, so the
    admin imports no service at load): `create_service(by=, **fields)` and
    `update_service(by=, <service_target>=obj, **fields)`, with the form's `fields`."""

    create_service = ""
    update_service = ""
    service_target = ""

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data}
        if change:
            import_string(self.update_service)(by=request.user, **{self.service_target: obj}, **fields)
        else:
            obj.pk = import_string(self.create_service)(by=request.user, **fields).pk


def refusal_messages(refused: ValidationError) -> list[tuple[str | None, list[str]]]:
    """(field or None, messages) of a ValidationError, in the order raised."""
    if hasattr(refused, "error_dict"):
        return [(None if field == NON_FIELD_ERRORS else field, messages)
                for field, messages in refused.message_dict.items()]
    return [(None, refused.messages)]


def _refused_form(form_class, refused: ValidationError, prefixes):
    class RefusedForm(form_class):
        def clean(self):
            cleaned = super().clean()
            for field, messages in refusal_messages(refused):
                name = field
                for prefix in prefixes:
                    if name and name not in self.fields and name.startswith(prefix):
                        name = name.removeprefix(prefix)
                if name in self.fields:
                    self.add_error(name, messages)
                else:
                    self.add_error(None, [f"{field}: {message}" if field else message for message in messages])
            return cleaned

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record the app writes and the admin only reads (the ledger, the audit trail, checks, contacts)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
