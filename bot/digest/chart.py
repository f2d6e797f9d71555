"""The digest's trend chart: reply rate and open comments over the last eight weeks, as a small PNG.

Pure: points in, bytes out. Drawn on a `Figure` of its own with the Agg canvas rather than
through pyplot, so that no display is needed and digests rendered on several threads share
no global figure state. matplotlib is imported on the first chart, not when twoway starts.

Composing a digest reads the ledger and returns its chart as `ChartData`, undrawn: the publisher
draws it once the session is closed, since drawing is most of a digest's CPU time, and previews
never draw it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.metrics import Rate
from bot.zones import zone as iana_zone

CHART_PERIODS = 8

_RATE_COLOUR = "#1d9bd1"
_OPEN_COLOUR = "#e8912d"


@dataclass(frozen=True)
class HistoryPoint:
    period_end: datetime
    rate: Rate
    open_comments: int


@dataclass(frozen=True)
class ChartData:
    """What a digest's chart shows: its periods' points, their weeks labelled in the channel's ``zone``."""

    points: Sequence[HistoryPoint]
    zone: str = "UTC"


def _has_data(point: HistoryPoint) -> bool:
    return point.rate.value is not None or point.rate.replies > 0 or point.open_comments > 0


def render_chart(chart: ChartData) -> bytes | None:
    """A small PNG: the last 8 periods' reply rate (%) and open-comment count, drawn with matplotlib.

    None when there is no history (fewer than 2 points with any data). Weeks are labelled by
    the local date they ended in the chart's zone, the channel's, since a Monday-morning slot in
    Sydney is still Sunday in UTC. A week without comments has no rate and leaves a gap in the
    line rather than a fall to 0%.
    """
    recent = sorted(chart.points, key=lambda p: p.period_end)[-CHART_PERIODS:]
    if sum(_has_data(p) for p in recent) < 2:
        return None
    tz = iana_zone(chart.zone)
    ends = [p.period_end.astimezone(tz) for p in recent]
    labels = [f"{end.day} {end:%b}" for end in ends]
    x = list(range(len(recent)))
    rates = [p.rate.value * 100 if p.rate.value is not None else float("nan") for p in recent]

    # Imported here: matplotlib and numpy are most of a replica's memory, and only a digest with
    # history needs them.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6, 2.4), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    open_axes = figure.add_subplot()
    open_axes.bar(x, [p.open_comments for p in recent], color=_OPEN_COLOUR, alpha=0.35, width=0.6)
    open_axes.set_ylabel("Open comments", color=_OPEN_COLOUR)
    open_axes.set_ylim(bottom=0, top=max(1, *(p.open_comments for p in recent)) * 1.15)
    open_axes.yaxis.set_major_locator(MaxNLocator(integer=True))

    rate_axes = open_axes.twinx()
    rate_axes.plot(x, rates, color=_RATE_COLOUR, marker="o", linewidth=2)
    rate_axes.set_ylim(0, 105)
    rate_axes.set_ylabel("Reply rate %", color=_RATE_COLOUR)

    open_axes.set_xticks(x, labels)
    open_axes.set_title("Reply rate and open comments, by week ending", fontsize=9)
    for axes in (open_axes, rate_axes):
        axes.tick_params(labelsize=8)
        axes.spines["top"].set_visible(False)

    buffer = io.BytesIO()
    # No Software/creation metadata, so the same history always makes the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
