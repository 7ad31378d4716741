"""Line charts as inline SVG text: axes with ticks and units, a legend, no script and no library.

A chart is a list of :class:`Series` drawn into one plot box; numbers become
SVG coordinates here and nowhere else. Not implemented: log scales, more than
one y axis, interactivity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    """One line: ``xs`` and ``ys`` of equal length; ``dots`` marks every point (sparse series)."""

    name: str
    xs: list[float]
    ys: list[float]
    colour: str
    dots: bool = False
    width: float = 1.5
    opacity: float = 1.0


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, k = [], 0
    while first + k * step <= high + step * 1e-9:
        ticks.append(round(first + k * step, 12))
        k += 1
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def line_chart(series: list[Series], *, title: str, x_label: str, y_label: str, width: int = 560,
               height: int = 320) -> str:
    """An SVG element of the series (the empty ones are skipped); a note when there is nothing to draw."""
    drawn = [s for s in series if s.xs]
    if not drawn:
        return f'<p class="empty">{escape(title)}: no records yet.</p>'
    left, right, top, bottom = 64, 16, 28, 48 + 18 * len(drawn)
    xs = [x for s in drawn for x in s.xs]
    ys = [y for s in drawn for y in s.ys]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    box_w, box_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * box_w

    def py(y: float) -> float:
        return top + box_h - (y - y0) / (y1 - y0) * box_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{width / 2:.1f}" y="17" text-anchor="middle" font-size="14" font-weight="bold">'
           f'{escape(title)}</text>']
    for t in x_ticks:
        out.append(f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{top + box_h}" stroke="#eee"/>')
        out.append(f'<text x="{px(t):.1f}" y="{top + box_h + 15}" text-anchor="middle" font-size="11">{_fmt(t)}</text>')
    for t in y_ticks:
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + box_w}" y2="{py(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="11">{_fmt(t)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{box_w}" height="{box_h}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + box_w / 2:.1f}" y="{top + box_h + 32}" text-anchor="middle" font-size="12">'
               f'{escape(x_label)}</text>')
    out.append(f'<text transform="translate(16 {top + box_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'font-size="12">{escape(y_label)}</text>')
    for s in drawn:
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(s.xs, s.ys))
        out.append(f'<polyline class="series" points="{points}" fill="none" stroke="{s.colour}" '
                   f'stroke-width="{s.width}" stroke-opacity="{s.opacity}"/>')
        if s.dots:
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s.colour}"/>' for x, y in zip(s.xs, s.ys)]
    for k, s in enumerate(drawn):  # the legend, one line per series under the x label
        y = top + box_h + 48 + 18 * k
        out.append(f'<line x1="{left}" y1="{y - 4}" x2="{left + 24}" y2="{y - 4}" stroke="{s.colour}" '
                   'stroke-width="3"/>')
        out.append(f'<text x="{left + 30}" y="{y}" font-size="12">{escape(s.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _fmt(value: float) -> str:
    return f"{value:.6g}"
