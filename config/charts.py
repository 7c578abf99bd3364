"""What every chart of the pages shares: the width of its narrow drawing and how many ticks fit."""

# The narrow drawing of each chart, for a phone (390 px wide less the page's margins): drawn at the size it is
# shown, so its text keeps the wide drawing's size and it shows fewer ticks instead.
NARROW_WIDTH = 340
# The room a month label ("Nov 26") takes on an axis, gap included.
MONTH_LABEL_SPACE = 46


def tick_step(count: int, room: float, space: float = MONTH_LABEL_SPACE) -> int:
    """Label every n-th of `count` evenly spaced items so that labels `space` wide fit in `room`: 1 when every
    label fits, 2 for every other one, and so on."""
    if count <= 1:
        return 1
    fits = max(1, int(room // space))
    return max(1, -(-count // fits))
