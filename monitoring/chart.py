"""A line chart as inline SVG, drawn on the server: the status page loads nothing from anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 28


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: list[int]
    # Dashed: a series that often equals another (enriched follows accepted) stays visible over it.
    dashed: bool = False


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def line_chart(series: list[Series], first_label: str, last_label: str, title: str) -> str:
    """One polyline per series over a shared x axis (the values' positions) and a y axis from 0."""
    points = max((len(s.values) for s in series), default=0)
    top = _nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (points - 1) if points > 1 else 0)

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = round(top * fraction)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="axis">{value:,}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" class="axis">{escape(first_label)}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" class="axis">{escape(last_label)}</text>'
    )
    for s in series:
        coordinates = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(
            f'<polyline fill="none" stroke="{escape(s.color)}" stroke-width="2" points="{coordinates}" '
            + ('stroke-dasharray="6 4" ' if s.dashed else "")
            + f'data-series="{escape(s.name)}">'
            + f"<title>{escape(s.name)}: {sum(s.values):,} in the hour</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)
