"""Charts as SVG shapes, computed here and drawn by the ``chart`` macro: horizontal stacked bars, one
row per label, one segment per series. Each series has its own colour AND pattern (solid, hatched,
dotted…), so the chart reads without colour vision and in grey print; every number is also in the
table beside it. No styles: only SVG attributes, which the Content-Security-Policy allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH = 190  # the labels' column (room for a Russian week or status name)
PLOT_WIDTH = 420
NOTE_WIDTH = 150  # the figure written after each bar
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
LABEL_CHARS = 26  # a longer label is shortened on the chart; its row's <title> holds all of it
# (colour, pattern) of each style: the pattern keeps series apart where colours cannot
STYLES = (("#1d6b2f", "solid"), ("#a3131b", "hatch"), ("#0b5cad", "dots"), ("#8a5300", "cross"),
          ("#4a5360", "lines"), ("#0b5cad", "solid"), ("#6b7480", "dots"))


@dataclass(frozen=True)
class Series:
    """One kind of value in the bars (``met``, ``breached``…): its name in words and its style (STYLES)."""

    key: str
    label: str
    style: int


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    series: str
    style: int
    value: float
    title: str  # "Met: 7", shown as the segment's tooltip


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the label as drawn (maybe shortened)
    y: float
    segments: tuple[Segment, ...]
    note: str  # what is written after the bar ("70%", "2 h of 10 h")
    note_x: float
    mark: float | None  # x of a target line (a budget), if the row has one


@dataclass(frozen=True)
class Chart:
    """An SVG's worth of shapes; ``key`` makes its pattern ids unique on the page."""

    key: str
    title: str
    desc: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    series: tuple[Series, ...]
    colours: tuple[tuple[str, str], ...] = STYLES
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def empty(self) -> bool:
        return not any(s.value for b in self.bars for s in b.segments)


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def stacked_bars(key: str, title: str, desc: str, series: Sequence[Series],
                 rows: Sequence[tuple[str, Sequence[float], str]], marks: Sequence[float | None] | None = None
                 ) -> Chart:
    """Rows of (label, one value per series, note) as bars on one scale: a bar's length is its total,
    each segment's its value (``marks``: a target per row, e.g. a budget, drawn as a line)."""
    marks = list(marks) if marks is not None else [None] * len(rows)
    scale = max([sum(v for v in values if v > 0) for _, values, _ in rows] + [m or 0 for m in marks] + [0])
    bars = []
    for index, ((label, values, note), mark) in enumerate(zip(rows, marks, strict=True)):
        x, segments = float(LABEL_WIDTH), []
        for one, value in zip(series, values, strict=True):
            width = PLOT_WIDTH * value / scale if scale and value > 0 else 0.0
            if width:
                segments.append(Segment(round(x, 2), round(width, 2), one.key, one.style, value,
                                        f"{one.label}: {_number(value)}"))
            x += width
        bars.append(Bar(label, shorten(label), TOP + index * ROW_HEIGHT, tuple(segments), note, round(x + 6, 2),
                        round(LABEL_WIDTH + PLOT_WIDTH * mark / scale, 2) if mark is not None and scale else None))
    return Chart(key, title, desc, LABEL_WIDTH + PLOT_WIDTH + NOTE_WIDTH, TOP * 2 + ROW_HEIGHT * max(len(rows), 1),
                 tuple(bars), tuple(series))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")
