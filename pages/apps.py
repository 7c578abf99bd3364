from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The pages that show rebates and market signals together: the dashboard, the customer page, the
    agreement page and its monthly sheet. It depends on both apps; neither depends on it."""

    name = "pages"
    verbose_name = "Rebates and signals pages"
