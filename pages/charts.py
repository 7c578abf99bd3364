"""The pages' charts as numbers and words: where each bar, point and label goes. The SVG itself is a
template (templates/pages/includes/), so every text in it is escaped by Django."""

from decimal import Decimal

from config.charts import tick_step
from rebates.engine.words import money


def _nice_top(value: Decimal) -> Decimal:
    """A round axis maximum at or above `value` whose quarters (the grid lines) are round too: 1, 2, 4, 6 or
    8 times a power of ten (quarters of 0.25, 0.5, 1, 1.5 and 2 times it)."""
    if value <= 0:
        return Decimal("1")
    for top in (Decimal("0.04"), Decimal("0.08"), Decimal("0.2")):
        if value <= top:
            return top  # below 20 cents, quarters in whole cents
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal(4), Decimal(6), Decimal(8)):
        top = step.scaleb(exponent)
        if top >= value:
            return top
    return Decimal(10).scaleb(exponent)


def _axis_places(top: Decimal) -> int:
    """Cents on the axis unless every quarter of `top` is a whole number of dollars."""
    return 0 if top >= 20 else 2


def rebate_chart(months, *, width=720, height=260, currency=None) -> dict | None:
    """The agreement's chart: the monthly rebate as bars on the left axis, the cumulative rebate as a line on
    the right axis, a month label under as many bars as there is room for (every one on a wide chart of a
    year, every third at NARROW_WIDTH). None when there are no months."""
    if not months:
        return None
    narrow = width < 500
    left, right, top, bottom = (56, 60, 16, 54) if narrow else (64, 72, 16, 40)
    plot_w, plot_h = width - left - right, height - top - bottom
    monthly_top = _nice_top(max((max(m.monthly_rebate, Decimal(0)) for m in months), default=Decimal(0)))
    cumulative_top = _nice_top(max((max(m.cumulative_rebate, Decimal(0)) for m in months), default=Decimal(0)))
    slot = plot_w / len(months)
    bar_w = max(2.0, slot * 0.6)
    step = tick_step(len(months), plot_w)

    def y_of(value, scale):
        return top + plot_h - float(max(value, Decimal(0)) / scale) * plot_h

    bars, points, labels = [], [], []
    for index, month in enumerate(months):
        x = left + slot * index + (slot - bar_w) / 2
        y = y_of(month.monthly_rebate, monthly_top)
        bars.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{bar_w:.1f}", "height": f"{top + plot_h - y:.1f}",
                     "title": f"{month.month:%b %Y}: {money(month.monthly_rebate, 2, currency)} this month, "
                              f"{money(month.cumulative_rebate, 2, currency)} to date"})
        cx = left + slot * index + slot / 2
        points.append((f"{cx:.1f}", f"{y_of(month.cumulative_rebate, cumulative_top):.1f}"))
        if index % step == 0:
            labels.append({"x": f"{cx:.1f}", "y": height - bottom + 16, "text": f"{month.month:%b %y}"})
    grid = []
    for step in range(5):
        fraction = Decimal(step) / 4
        y = top + plot_h - float(fraction) * plot_h
        grid.append({"y": f"{y:.1f}", "text_y": f"{y + 4:.1f}",
                     "left_label": money(monthly_top * fraction, _axis_places(monthly_top), currency),
                     "right_label": money(cumulative_top * fraction, _axis_places(cumulative_top), currency)})
    return {
        "width": width, "height": height, "left": left, "right_x": width - right,
        "left_label_x": left - 6, "right_label_x": width - right + 6,
        # Narrow: the two legends one above the other; wide: side by side.
        "legend_y": height - 20 if narrow else height - 4, "legend_x": left if narrow else left + 200,
        "legend_line_y": height - 4,
        "grid": grid, "bars": bars, "labels": labels,
        "points": " ".join(f"{x},{y}" for x, y in points),
        "dots": [{"x": x, "y": y} for x, y in points],
    }


def purchases_chart(months, *, width=720, height=180, currency=None) -> dict | None:
    """The customer's chart: the amount bought each month as bars, with the highest month on the axis."""
    if not months:
        return None
    left, right, top, bottom = 70, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((row["amount"] for row in months), default=0) or 1
    slot = plot_w / len(months)
    step = tick_step(len(months), plot_w)
    bars = []
    for index, row in enumerate(months):
        h = float(max(row["amount"], 0) / highest) * plot_h
        x = left + slot * index + slot * 0.2
        bars.append({"x": f"{x:.1f}", "y": f"{top + plot_h - h:.1f}", "width": f"{slot * 0.6:.1f}",
                     "height": f"{h:.1f}",
                     "title": f"{row['month']:%b %Y}: {row['units']:,.0f} units, {money(row['amount'], 2, currency)}",
                     "label_x": f"{left + slot * index + slot / 2:.1f}", "label_y": height - 8,
                     "label": f"{row['month']:%b %y}" if index % step == 0 else ""})
    return {"width": width, "height": height, "left": left, "right_x": width - right, "base_y": top + plot_h,
            "top_label_x": left - 6, "top_label_y": top + 8, "top_label": money(highest, 0, currency), "bars": bars}
