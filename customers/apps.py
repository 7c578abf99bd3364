from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self):
        from django.db.models.signals import post_migrate

        from customers.roles import roles_sync_after_migrate

        # Role groups hang on permissions, which exist only after migrate: keep them in step each time.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="customers.roles_sync")
