"""The digest's 8-week chart: team pulse as a line, participation as bars, as a PNG.

matplotlib's object API (`Figure` + `FigureCanvasAgg`): no pyplot, so no global figure state,
no GUI backend and nothing that leaks between the thousand charts of a Monday. A week with no
data is drawn as a gap with a "no data" mark, never as a zero.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from typing import cast

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from bot.services.digest_data import ChartWeek

WIDTH, HEIGHT, DPI = 6.4, 3.0, 100
BAR_COLOR = "#c7d7f5"
LINE_COLOR = "#1f4fb5"
EMPTY_COLOR = "#888888"


def figure(weeks: Sequence[ChartWeek], title: str = "Team pulse and participation") -> Figure:
    """The chart as a Figure: tests read the plotted values back from its artists."""
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(fig)
    bars_axes = fig.add_subplot(1, 1, 1)
    line_axes = bars_axes.twinx()
    xs = list(range(len(weeks)))
    labels = [w.label for w in weeks]
    participation = [(w.participation * 100) if w.participation is not None else 0.0 for w in weeks]
    bars_axes.bar(xs, participation, color=BAR_COLOR, width=0.6, label="participation %")
    bars_axes.set_ylim(0, 100)
    bars_axes.set_ylabel("answered %")
    bars_axes.set_xticks(xs, labels, fontsize=8)
    pulses = [w.pulse if w.pulse is not None else math.nan for w in weeks]
    line_axes.plot(xs, pulses, color=LINE_COLOR, marker="o", linewidth=2, label="pulse")
    line_axes.set_ylim(1, 5)
    line_axes.set_ylabel("pulse (1-5)")
    _empty_marks(bars_axes, weeks)
    bars_axes.set_title(title, fontsize=10)
    # Fixed margins: tight_layout measures every text and doubles the drawing time.
    fig.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.12)
    return fig


def _empty_marks(axes: Axes, weeks: Sequence[ChartWeek]) -> list[Text]:
    """ "no data" on weeks without any, or one line when no week has data: never a zero."""
    if all(w.pulse is None and w.participation is None for w in weeks):
        return [
            axes.text(
                0.5,
                0.5,
                "No check-ins in these 8 weeks yet",
                transform=axes.transAxes,
                ha="center",
                va="center",
                fontsize=12,
                color=EMPTY_COLOR,
            )
        ]
    return [
        axes.text(
            x, 50, "no data", rotation=90, ha="center", va="center", color=EMPTY_COLOR, fontsize=8
        )
        for x, week in enumerate(weeks)
        if week.pulse is None and week.participation is None
    ]


def png(weeks: Sequence[ChartWeek]) -> bytes:
    return _encode(figure(weeks))


class Painter:
    """Draws many charts on one Figure, changing only the data: a Monday's thousand charts
    skip building axes, ticks and fonts each time (about half the cost of a chart).

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
        for patch, week in zip(_bars(bars_axes), weeks, strict=True):
            patch.set_height(week.participation * 100 if week.participation is not None else 0)
        line_axes.get_lines()[0].set_ydata(
            [w.pulse if w.pulse is not None else math.nan for w in weeks]
        )
        bars_axes.set_xticks(range(len(weeks)), [w.label for w in weeks], fontsize=8)
        for old in list(bars_axes.texts):
            old.remove()
        _empty_marks(bars_axes, weeks)
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
