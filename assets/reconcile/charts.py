"""Small SVG charts for the Dagster UI, embedded in markdown metadata.

Written as SVG text: a few bars and labels take microseconds this way, where a plotting library
took most of a second per run to import and draw them.
"""

from __future__ import annotations

import base64
import math
import re
from xml.sax.saxutils import escape

SLA_COLORS = {
    "met": "#2e7d32",
    "open": "#90a4ae",
    "at_risk": "#f9a825",
    "breached": "#c62828",
    "awaiting_return": "#6a1b9a",
}
CREDITED_COLOR = "#1565c0"
HELD_COLOR = "#ffa000"
FONT = "font-family='DejaVu Sans, Arial, Helvetica, sans-serif'"

CHART_DISTRIBUTORS = 25  # more bars than this are unreadable (and a 10,000-pixel image)
LABEL_CHARACTERS = 28  # a longer distributor id is cut, with an ellipsis
WIDTH = 720
CHARACTER_WIDTH = 7  # of 12-pixel text, about: for the room labels take
ROW_HEIGHT = 22  # one distributor's two bars
BAR_HEIGHT = 9

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    """Text from the data, safe inside an SVG element or attribute."""
    return escape(_NOT_XML.sub("\ufffd", str(value)), {'"': "&quot;", "'": "&apos;"})


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _drawn(value: float) -> float:
    """A bar's length: none for a negative amount (its tooltip tells) or a number that is not one."""
    return value if math.isfinite(value) and value > 0 else 0.0


def _nice_step(largest: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) for about `ticks` ticks up to `largest`."""
    if largest <= 0:
        return 1.0
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _tick_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.2f}"


def _svg(width: int, height: int, body: list[str]) -> bytes:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='12'>"
        f"<rect width='{width}' height='{height}' fill='white'/>" + "".join(body) + "</svg>"
    ).encode()


def _legend(x: float, y: float, entries: list[tuple[str, str]]) -> list[str]:
    """Colored squares with their names, one above the other from (x, y)."""
    out = []
    for index, (name, color) in enumerate(entries):
        top = y + index * 18
        out.append(f"<rect x='{x}' y='{top}' width='12' height='12' fill='{color}'/>")
        out.append(f"<text x='{x + 18}' y='{top + 10}'>{_text(name)}</text>")
    return out


def credits_panels(
    rows: list[tuple[str, str, float, float]],
) -> dict[str, list[tuple[str, str, float, float]]]:
    """The bars of the credits chart, one panel per currency (amounts of two currencies never share
    an axis): in each, the distributors with the most credited plus held value."""
    panels: dict[str, list[tuple[str, str, float, float]]] = {}
    for row in rows:
        panels.setdefault(row[1] or "?", []).append(row)
    return {
        currency: sorted(panel, key=lambda r: (-(r[2] + r[3]), r[0]))[:CHART_DISTRIBUTORS]
        for currency, panel in sorted(panels.items())
    }


def _label(distributor_id: str) -> str:
    if len(distributor_id) > LABEL_CHARACTERS:
        return distributor_id[: LABEL_CHARACTERS - 1] + "\u2026"
    return distributor_id


def credits_chart(rows: list[tuple[str, str, float, float]], quarter: str) -> bytes:
    """Bars per distributor: credit total and accrued liability, a panel per currency.

    Only the distributors with the most credited plus held value are drawn; the preview table
    and the finance summary list them all.
    """
    panels = credits_panels(rows)
    labels = [_label(r[0]) for panel in panels.values() for r in panel]
    left = 16 + CHARACTER_WIDTH * max(len(label) for label in labels) if labels else 60
    right = WIDTH - 44  # room for the last tick's label
    body = [
        f"<text x='{WIDTH / 2}' y='22' text-anchor='middle' font-size='15'>"
        f"Credits by distributor, {_text(quarter)}</text>",
        *_legend(left, 34, [("credited", CREDITED_COLOR), ("accrued liability (held)", HELD_COLOR)]),
    ]
    top = 84
    for currency, panel in panels.items():
        total = sum(1 for row in rows if (row[1] or "?") == currency)
        title = currency + (f" (top {len(panel)} of {total} by value)" if total > len(panel) else "")
        body.append(f"<text x='{left}' y='{top}' font-size='13' font-weight='bold'>{_text(title)}</text>")
        plot_top = top + 10
        plot_height = ROW_HEIGHT * len(panel)
        largest = max(max(_drawn(r[2]), _drawn(r[3])) for r in panel)
        step = _nice_step(largest)
        ticks = max(1, math.ceil(largest / step))
        scale = (right - left) / (step * ticks)
        for tick in range(ticks + 1):
            x = left + tick * step * scale
            body.append(
                f"<line x1='{x:.1f}' y1='{plot_top}' x2='{x:.1f}' y2='{plot_top + plot_height}' "
                f"stroke='{'#444' if tick == 0 else '#ddd'}'/>"
            )
            body.append(
                f"<text x='{x:.1f}' y='{plot_top + plot_height + 14}' text-anchor='middle' "
                f"font-size='11'>{_tick_label(tick * step)}</text>"
            )
        for index, (distributor_id, _, credited, held) in enumerate(panel):
            y = plot_top + index * ROW_HEIGHT + 2
            body.append(
                f"<text x='{left - 6}' y='{y + BAR_HEIGHT + 4}' text-anchor='end'>"
                f"{_text(_label(distributor_id))}</text>"
            )
            for offset, value, color in ((0, credited, CREDITED_COLOR), (BAR_HEIGHT, held, HELD_COLOR)):
                width = _drawn(value) * scale
                body.append(
                    f"<rect x='{left}' y='{y + offset}' width='{width:.1f}' height='{BAR_HEIGHT}' "
                    f"fill='{color}'><title>{_text(distributor_id)}: {_money(value)}</title></rect>"
                )
        body.append(
            f"<text x='{(left + right) / 2}' y='{plot_top + plot_height + 30}' text-anchor='middle'>"
            f"{_text(currency)}</text>"
        )
        top = plot_top + plot_height + 56
    return _svg(WIDTH, top - 16, body)


def sla_mix_chart(rows: list[tuple[str, str, int]]) -> bytes:
    """Stacked bars: SLA status counts per quarter."""
    quarters = sorted({quarter for quarter, _, _ in rows})
    counts = {(quarter, status): count for quarter, status, count in rows}
    totals = [sum(counts.get((quarter, status), 0) for status in SLA_COLORS) for quarter in quarters]
    left, right, plot_top, plot_bottom = 64, WIDTH - 170, 40, 250
    step = _nice_step(max(totals, default=0))
    ticks = max(1, math.ceil(max(totals, default=0) / step))
    scale = (plot_bottom - plot_top) / (step * ticks)
    body = [
        f"<text x='{(left + right) / 2}' y='22' text-anchor='middle' font-size='15'>"
        "Direct SLA status mix by quarter</text>",
        *_legend(right + 20, plot_top, list(SLA_COLORS.items())),
    ]
    for tick in range(ticks + 1):
        y = plot_bottom - tick * step * scale
        body.append(
            f"<line x1='{left}' y1='{y:.1f}' x2='{right}' y2='{y:.1f}' "
            f"stroke='{'#444' if tick == 0 else '#ddd'}'/>"
        )
        body.append(
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11'>"
            f"{_tick_label(tick * step)}</text>"
        )
    slot = (right - left) / max(len(quarters), 1)
    for index, quarter in enumerate(quarters):
        x = left + index * slot + slot * 0.15
        bottom = float(plot_bottom)
        for status, color in SLA_COLORS.items():
            count = counts.get((quarter, status), 0)
            if count <= 0:
                continue
            height = count * scale
            bottom -= height
            body.append(
                f"<rect x='{x:.1f}' y='{bottom:.1f}' width='{slot * 0.7:.1f}' height='{height:.1f}' "
                f"fill='{color}'><title>{_text(quarter)} {status}: {count}</title></rect>"
            )
        body.append(
            f"<text x='{x + slot * 0.35:.1f}' y='{plot_bottom + 16}' text-anchor='middle'>"
            f"{_text(quarter)}</text>"
        )
    return _svg(WIDTH, plot_bottom + 30, body)


def markdown_image(svg: bytes, alt: str) -> str:
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg).decode('ascii')})"
