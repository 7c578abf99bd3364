"""The value × risk plot as numbers and words: where each cell, count and customer dot goes. The SVG itself
is a template (templates/outlook/includes/value_risk_plot.html), so every text in it is escaped."""

from dataclasses import dataclass

from outlook.selectors import LEVEL_NAMES, GridCell

LEFT, TOP, RIGHT_PAD, BOTTOM = 64, 16, 8, 40
CELL_WIDTH, CELL_HEIGHT = 220, 120
DOTS_PER_ROW, DOT_STEP, DOT_RADIUS = 10, 20, 6
# Risk left to right (as a reader expects "more" to the right), value top to bottom.
COLUMNS = ("low", "medium", "high")
ROWS = ("A", "B", "C")


@dataclass(frozen=True)
class PlotDot:
    x: int
    y: int
    url: str
    title: str
    level: str


@dataclass(frozen=True)
class PlotCell:
    x: int
    y: int
    width: int
    height: int
    label_x: int
    label_y: int
    label: str
    level: str
    tier: str
    dots: tuple[PlotDot, ...]


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    cells: tuple[PlotCell, ...]
    columns: tuple[tuple[int, str], ...]  # (x of the middle, risk level name)
    rows: tuple[tuple[int, str], ...]  # (y of the middle, value tier)
    axis_y: int


def value_risk_plot(cells: list[GridCell]) -> Plot:
    """The grid's nine cells placed: each with its count and its top customers as dots, each dot a link."""
    by_key = {(cell.value_tier, cell.risk_level): cell for cell in cells}
    placed = []
    for row, tier in enumerate(ROWS):
        for col, level in enumerate(COLUMNS):
            cell = by_key.get((tier, level)) or GridCell(tier, level, 0, ())
            x, y = LEFT + col * CELL_WIDTH, TOP + row * CELL_HEIGHT
            dots = tuple(
                PlotDot(x=x + 14 + (i % DOTS_PER_ROW) * DOT_STEP, y=y + 40 + (i // DOTS_PER_ROW) * DOT_STEP,
                        url=customer.url, level=level,
                        title=f"{customer.name} ({customer.code}): value {tier}, {LEVEL_NAMES[level].lower()} risk, "
                              f"{customer.risk_points} points")
                for i, customer in enumerate(cell.customers[:DOTS_PER_ROW * 4]))
            noun = "customer" if cell.count == 1 else "customers"
            shown = f", {len(dots)} shown" if cell.count > len(dots) else ""
            placed.append(PlotCell(x, y, CELL_WIDTH - 4, CELL_HEIGHT - 4, x + 10, y + 22,
                                   f"{cell.count:,} {noun}{shown}", level, tier, dots))
    width = LEFT + 3 * CELL_WIDTH + RIGHT_PAD
    height = TOP + 3 * CELL_HEIGHT + BOTTOM
    return Plot(width, height, tuple(placed),
                tuple((LEFT + col * CELL_WIDTH + CELL_WIDTH // 2, f"{LEVEL_NAMES[level]} risk")
                      for col, level in enumerate(COLUMNS)),
                tuple((TOP + row * CELL_HEIGHT + CELL_HEIGHT // 2, f"Value {tier}") for row, tier in enumerate(ROWS)),
                TOP + 3 * CELL_HEIGHT + 24)
