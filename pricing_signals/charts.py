"""The signals timeline as numbers and words: where each product's row, claim and signal window goes. The
SVG itself is a template (templates/pricing_signals/includes/timeline.html), so every text is escaped."""

from datetime import date

from config.charts import tick_step
from pricing_signals.wording import claim_words, median_words
from rebates.engine.periods import add_months

STATUS_CLASS = {"corroborated": "good", "pending": "wait", "unsubstantiated": "bad", "dismissed": "bad"}


def timeline_chart(rows, *, start: date, end: date, signal_url: str, claim_url: str, width=960) -> dict | None:
    """One row per product, its claims as dots by date (coloured by status) linked to `claim_url`, each signal's
    window as a band labelled with its number and linked to `signal_url` (format strings taking the id): each
    a link named in words, so a keyboard reaches and a screen reader reads every claim and window. Month ticks
    as many as there is room for (every month wide, every other one on a phone). None when there are no rows."""
    if not rows:
        return None
    narrow = width < 500
    label_w, right, top, row_h, axis_h = (72, 10, 24, 34, 24) if narrow else (170, 16, 24, 34, 24)
    plot_w = width - label_w - right
    height = top + row_h * len(rows) + axis_h
    days = max(1, (end - start).days)

    def x_of(day):
        return label_w + plot_w * max(0, min(days, (day - start).days)) / days

    firsts, month = [], start.replace(day=1)
    while month <= end:
        if month >= start:
            firsts.append(month)
        month = add_months(month, 1)
    step = tick_step(len(firsts), plot_w)
    months = [{"x": f"{x_of(month):.1f}", "text": f"{month:%b %y}"} for index, month in enumerate(firsts)
              if index % step == 0]
    products = []
    for index, row in enumerate(rows):
        y = top + row_h * index
        windows = []
        for signal in row.signals:
            x1, x2 = x_of(signal.window_start), x_of(signal.window_end)
            windows.append({
                "url": signal_url.format(signal.pk), "status": signal.status, "pk": signal.pk,
                "x": f"{x1:.1f}", "y": f"{y + 3:.1f}", "width": f"{max(3.0, x2 - x1):.1f}", "height": row_h - 6,
                "label_x": f"{x1 + 2:.1f}", "label_y": f"{y + 12:.1f}",
                "title": f"Signal #{signal.pk} on {row.product.sku} ({signal.get_status_display().lower()}): "
                         f"{signal.window_start:%-d %B %Y} to {signal.window_end:%-d %B %Y}, "
                         f"{signal.customer_count} customers, "
                         f"{median_words(signal.median_price, row.signal_currencies.get(signal.pk, ()))}",
            })
        claims = []
        for claim in row.claims:
            words = claim_words(competitor=claim.competitor_name, price=claim.claimed_price, sku=row.product.sku,
                                channel=claim.get_channel_display(), reported_on=claim.reported_on,
                                currency=claim.currency)
            claims.append({
                "url": claim_url.format(claim.pk),
                "status_class": STATUS_CLASS.get(claim.status, ""), "x": f"{x_of(claim.reported_on):.1f}",
                "title": f"Claim of {claim.customer_code}: {words} ({claim.get_status_display().lower()})",
            })
        products.append({"sku": row.product.sku, "label_y": f"{y + row_h / 2 + 4:.1f}",
                         "middle": f"{y + row_h / 2:.1f}", "windows": windows, "claims": claims})
    return {"width": width, "height": height, "grid_x1": label_w, "grid_x2": width - right,
            "axis_y": top + row_h * len(rows) + 16, "months": months, "products": products}
