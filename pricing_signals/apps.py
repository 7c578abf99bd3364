from django.apps import AppConfig


class PricingSignalsConfig(AppConfig):
    name = "pricing_signals"
    verbose_name = "Market pricing signals"
