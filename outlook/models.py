"""What the outlook keeps between nights: the standing watches of each customer for the dashboard's "What to do
today" (docs/outlook.md)."""

from django.db import models

from customers.models import Customer


class TodayWatch(models.Model):
    """A watch that holds for a customer until the next outlook refresh: a nightly risk factor that is a watch
    (falling against last year, claims below net-net, exposed to an open signal) or months below a committed
    quantity. The money at stake is the customer's unpaid rebate, read with the dashboard, so `words` stop
    before it. Rebuilt with every refresh (`outlook.services.today_watches_write`)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="today_watches")
    kind = models.CharField(max_length=32)
    words = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "kind"], name="outlook_one_watch_of_a_kind")]

    def __str__(self):
        return f"{self.kind}: {self.words}"
