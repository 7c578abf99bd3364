from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "rebates"
    verbose_name = "Rebates"

    def ready(self):
        from customers.services import customer_lost_handler_register
        from rebates.services.settlement import customer_agreements_terminate

        # A customer marked lost (API, admin) ends its active agreements in the same transaction.
        customer_lost_handler_register(customer_agreements_terminate)
