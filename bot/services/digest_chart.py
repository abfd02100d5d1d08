"""The digest's 8-week chart: team pulse as a line, participation as bars, as a PNG.

matplotlib's object API (`Figure` + `FigureCanvasAgg`): no pyplot, so no global figure state,
no GUI backend and nothing that leaks between the thousand charts of a Monday. A week with no
data is drawn as a gap with a "no data" mark, and a week whose check-ins are still open as a
gap with a "still open" mark: never as a zero, which would read as a fall.

Slack shows the image at the width of the reader's screen, about 360 px on a phone: the figure
is 540 px wide, so the text is drawn large enough to stay readable at about 60 % of its size,
and the legend sits above the plot rather than over the data.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from typing import cast

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text

from bot.services.digest_data import ChartWeek

WIDTH, HEIGHT, DPI = 5.4, 4.6, 100
BAR_COLOR = "#c7d7f5"
LINE_COLOR = "#1f4fb5"
EMPTY_COLOR = "#777777"
TICK_SIZE = 14
LABEL_SIZE = 14
TITLE_SIZE = 16
MARK_SIZE = 13
NO_DATA = "no data"
STILL_OPEN = "still open"


def figure(weeks: Sequence[ChartWeek], title: str = "Team pulse and participation") -> Figure:
    """The chart as a Figure: tests read the plotted values back from its artists."""
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(fig)
    bars_axes = fig.add_subplot(1, 1, 1)
    line_axes = bars_axes.twinx()
    xs = list(range(len(weeks)))
    bars_axes.bar(xs, _heights(weeks), color=BAR_COLOR, width=0.6)
    bars_axes.set_ylim(0, 100)
    bars_axes.set_ylabel("answered %", fontsize=LABEL_SIZE)
    bars_axes.tick_params(axis="y", labelsize=TICK_SIZE)
    _ticks(bars_axes, weeks)
    line_axes.plot(xs, _pulses(weeks), color=LINE_COLOR, marker="o", markersize=7, linewidth=2.5)
    line_axes.set_ylim(1, 5)
    line_axes.set_yticks([1, 2, 3, 4, 5])
    line_axes.set_ylabel("pulse (1-5)", fontsize=LABEL_SIZE)
    line_axes.tick_params(axis="y", labelsize=TICK_SIZE)
    _marks(bars_axes, weeks)
    fig.suptitle(title, fontsize=TITLE_SIZE, y=0.975)
    fig.legend(
        handles=[
            Line2D([], [], color=LINE_COLOR, marker="o", linewidth=2.5, label="pulse (right)"),
            Patch(color=BAR_COLOR, label="answered % (left)"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.915),
        ncol=2,
        fontsize=LABEL_SIZE,
        frameon=False,
        handlelength=1.4,
        handletextpad=0.5,
        columnspacing=1.0,
    )
    # Fixed margins: tight_layout measures every text and doubles the drawing time.
    fig.subplots_adjust(left=0.15, right=0.85, top=0.8, bottom=0.16)
    return fig


def _heights(weeks: Sequence[ChartWeek]) -> list[float]:
    """Bar heights in %: a week without data or still open has no bar, never a zero one."""
    return [
        w.participation * 100 if w.participation is not None and not w.unfinished else 0.0
        for w in weeks
    ]


def _pulses(weeks: Sequence[ChartWeek]) -> list[float]:
    """The line's points, NaN (a gap) for a week without a pulse or still open."""
    return [w.pulse if w.pulse is not None and not w.unfinished else math.nan for w in weeks]


def _ticks(axes: Axes, weeks: Sequence[ChartWeek]) -> None:
    """Week labels on two lines ("23" over "Nov"): eight fit at a phone's width."""
    labels = [w.label.replace(" ", "\n", 1) for w in weeks]
    axes.set_xticks(range(len(weeks)), labels, fontsize=TICK_SIZE)


def _marks(axes: Axes, weeks: Sequence[ChartWeek]) -> list[Text]:
    """ "no data" or "still open" on the weeks that have nothing to draw, or one line when no
    week has data: never a zero."""
    if all(w.pulse is None and w.participation is None and not w.unfinished for w in weeks):
        return [
            axes.text(
                0.5,
                0.5,
                "No check-ins in these 8 weeks yet",
                transform=axes.transAxes,
                ha="center",
                va="center",
                fontsize=MARK_SIZE + 2,
                color=EMPTY_COLOR,
            )
        ]
    marks = []
    for x, week in enumerate(weeks):
        if week.unfinished:
            word = STILL_OPEN
        elif week.pulse is None and week.participation is None:
            word = NO_DATA
        else:
            continue
        marks.append(
            axes.text(
                x,
                50,
                word,
                rotation=90,
                ha="center",
                va="center",
                color=EMPTY_COLOR,
                fontsize=MARK_SIZE,
                style="italic",
            )
        )
    return marks


def png(weeks: Sequence[ChartWeek]) -> bytes:
    return _encode(figure(weeks))


class Painter:
    """Draws many charts on one Figure, changing only the data: a Monday's thousand charts
    skip building axes, ticks, fonts and the legend each time (about half the cost of a chart).

    One per thread of work (a run of the minute job, the bench); never shared or global."""

    def __init__(self) -> None:
        self._fig: Figure | None = None
        self._size = 0

    def png(self, weeks: Sequence[ChartWeek]) -> bytes:
        if self._fig is None or len(weeks) != self._size:
            self._fig = figure(weeks)
            self._size = len(weeks)
            return _encode(self._fig)
        bars_axes, line_axes = self._fig.axes[0], self._fig.axes[1]
        for patch, height in zip(_bars(bars_axes), _heights(weeks), strict=True):
            patch.set_height(height)
        line_axes.get_lines()[0].set_ydata(_pulses(weeks))
        _ticks(bars_axes, weeks)
        for old in list(bars_axes.texts):
            old.remove()
        _marks(bars_axes, weeks)
        return _encode(self._fig)

    @property
    def figure(self) -> Figure | None:
        """The figure as last drawn (tests read its plotted values)."""
        return self._fig


def _encode(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # figure() attached a FigureCanvasAgg; Figure types its canvas as the base class.
    canvas = cast(FigureCanvasAgg, fig.canvas)
    # A faster zlib level: the chart is flat colour, so the file grows by a few per cent.
    faster = {"compress_level": 1}
    canvas.print_png(buffer, pil_kwargs=faster)  # type: ignore[no-untyped-call]  # Agg: untyped
    return buffer.getvalue()


def _bars(axes: Axes) -> Sequence[Rectangle]:
    # Axes type their patches as any Patch; the only ones here are the Rectangles `bar` drew.
    return cast("Sequence[Rectangle]", axes.patches)


def plotted(fig: Figure) -> tuple[list[float | None], list[float]]:
    """(pulse line values, None for a gap; bar heights in %) as drawn on `fig`."""
    bars_axes, line_axes = fig.axes[0], fig.axes[1]
    line = line_axes.get_lines()[0]
    # Line2D types its data as any array-like; this line was given floats (NaN for a gap).
    ydata = cast("Iterable[float]", line.get_ydata())
    pulses = [None if math.isnan(v) else float(v) for v in ydata]
    heights = [float(patch.get_height()) for patch in _bars(bars_axes)]
    return pulses, heights


def legend_labels(fig: Figure) -> list[str]:
    """The legend's entries, as drawn (tests check the chart explains itself)."""
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def marks(fig: Figure) -> list[tuple[int, str]]:
    """(week index, "no data" | "still open") for each marked week, as drawn."""
    return [
        (round(text.get_position()[0]), text.get_text())
        for text in fig.axes[0].texts
        if text.get_text() in (NO_DATA, STILL_OPEN)
    ]
