"""The base of every API view: role permissions, idempotent writes, the one error shape."""

from rest_framework import generics, viewsets

from config.api.idempotency import idempotency_begin
from config.api.permissions import RolePermission

WRITES = ("POST", "PUT", "PATCH")


class ApiViewMixin:
    """Every REST endpoint inherits this: `required_permissions` maps each action (or lowercase method) to
    the permissions it needs; writes honour Idempotency-Key."""

    permission_classes = [RolePermission]
    required_permissions: dict[str, tuple[str, ...]] = {}

    def initial(self, request, *args, **kwargs):
        self._idempotency = None
        super().initial(request, *args, **kwargs)
        # A method the view has no handler for answers 405, key or no key.
        if request.method in WRITES and getattr(self, request.method.lower(), None) is not None:
            self._idempotency = idempotency_begin(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = getattr(self, "_idempotency", None)
        if claim is not None:
            self._idempotency = None
            claim.finish(response)
        return response


class ApiView(ApiViewMixin, generics.GenericAPIView):
    pass


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    pass
