"""The effectiveness chart as numbers and words: for each measure, a bar for the program's customers and one
for the comparison group, from a zero line (growth can be negative). The SVG itself is a template
(templates/programs/includes/effectiveness_chart.html), so every text in it is escaped."""

from decimal import Decimal

LEFT, RIGHT, TOP, ROW, BAR = 190, 70, 28, 46, 16


def effectiveness_chart(measures, *, width=720) -> dict:
    """Units growth, revenue growth, retention and mix shift of the two groups, side by side. A measure that is
    "—" for a group draws no bar for it and says so in its label."""
    rows = [("Units growth", measures.program.units_growth, measures.comparison.units_growth, "%"),
            ("Revenue growth", measures.program.revenue_growth, measures.comparison.revenue_growth, "%"),
            ("Retention", measures.program.retention, measures.comparison.retention, "%"),
            ("Mix shift", measures.program.mix_shift, measures.comparison.mix_shift, " pts")]
    values = [abs(v) for _, a, b, _ in rows for v in (a, b) if v is not None]
    scale = max(values, default=Decimal(0)) or Decimal(1)
    plot_w = width - LEFT - RIGHT
    has_negative = any(v is not None and v < 0 for _, a, b, _ in rows for v in (a, b))
    zero_x = LEFT + (plot_w / 2 if has_negative else 0)
    half = plot_w / 2 if has_negative else plot_w
    bars, labels = [], []
    for index, (name, ours, theirs, unit) in enumerate(rows):
        y = TOP + index * ROW
        labels.append({"x": LEFT - 8, "y": f"{y + BAR + 4:.1f}", "text": name})
        for offset, (group, value) in enumerate((("program", ours), ("comparison", theirs))):
            top = y + offset * (BAR + 2)
            text = "—" if value is None else f"{value}{unit}"
            length = 0.0 if value is None else float(abs(value) / scale) * half
            x = zero_x - length if value is not None and value < 0 else zero_x
            who = "Program customers" if group == "program" else "Comparison group"
            bars.append({"x": f"{x:.1f}", "y": f"{top:.1f}", "width": f"{length:.1f}", "height": BAR, "group": group,
                         "title": f"{name}, {who.lower()}: {text}", "text": text,
                         "text_x": f"{(x + length + 4) if value is None or value >= 0 else (x - 4):.1f}",
                         "text_y": f"{top + BAR - 4:.1f}",
                         "anchor": "start" if value is None or value >= 0 else "end"})
    height = TOP + len(rows) * ROW + 8
    return {"width": width, "height": height, "zero_x": f"{zero_x:.1f}", "top": TOP - 6, "bottom": height - 8,
            "bars": bars, "labels": labels, "legend_y": 14, "legend_x": LEFT, "legend_x2": LEFT + 170}
