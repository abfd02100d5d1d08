"""The digest's 8-week chart: team pulse as a line, participation as bars, as a PNG.

matplotlib's object API (`Figure` + `FigureCanvasAgg`): no pyplot, so no global figure state,
no GUI backend and nothing that leaks between the thousand charts of a Monday. A week with no
data is drawn as a gap with a "no data" mark, never as a zero.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.digest import ChartWeek

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
    nothing = all(w.pulse is None and w.participation is None for w in weeks)
    for x, week in zip(xs, weeks, strict=True):
        if not nothing and week.pulse is None and week.participation is None:
            bars_axes.text(
                x,
                50,
                "no data",
                rotation=90,
                ha="center",
                va="center",
                color=EMPTY_COLOR,
                fontsize=8,
            )
    if nothing:
        bars_axes.text(
            0.5,
            0.5,
            "No check-ins in these 8 weeks yet",
            transform=bars_axes.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color=EMPTY_COLOR,
        )
    bars_axes.set_title(title, fontsize=10)
    # Fixed margins: tight_layout measures every text and doubles the drawing time.
    fig.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.12)
    return fig


def png(weeks: Sequence[ChartWeek]) -> bytes:
    buffer = io.BytesIO()
    fig = figure(weeks)
    fig.canvas.print_png(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def plotted(fig: Figure) -> tuple[list[float | None], list[float]]:
    """(pulse line values, None for a gap; bar heights in %) as drawn on `fig`."""
    bars_axes, line_axes = fig.axes[0], fig.axes[1]
    line = line_axes.get_lines()[0]
    pulses = [None if math.isnan(v) else float(v) for v in line.get_ydata()]
    heights = [float(patch.get_height()) for patch in bars_axes.patches]
    return pulses, heights
