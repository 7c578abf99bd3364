"""Who may call what: each API view names the permission each of its actions needs.

The roles (groups) of customers/roles.py hold those permissions, as docs/product.md's Users table says; which
rows a user sees is the separate visibility rule, `visible_to(user)`, applied by every queryset.
"""

from rest_framework.permissions import BasePermission


class RolePermission(BasePermission):
    """Signed in, and holding every permission `view.required_permissions[action]` names.

    `action` is the viewset action ("list", "create", "approve") or, for a plain API view, the lowercase
    HTTP method. An action the view does not name is refused: a new action cannot be open by mistake.
    """

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        if getattr(view, request.method.lower(), None) is None:
            # No handler for the method: let the view answer 405.
            return True
        action = getattr(view, "action", None) or request.method.lower()
        if request.method == "OPTIONS":
            return True
        needed = getattr(view, "required_permissions", {}).get(action)
        if needed is None:
            return False
        return user.has_perms(needed)
