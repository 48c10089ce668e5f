"""Small PNG charts for the Dagster UI, embedded in markdown metadata."""

from __future__ import annotations

import base64
import io
import threading

SLA_COLORS = {
    "met": "#2e7d32",
    "open": "#90a4ae",
    "at_risk": "#f9a825",
    "breached": "#c62828",
    "awaiting_return": "#6a1b9a",
}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


_IMPORTING = threading.Lock()  # matplotlib.use on one thread while pyplot imports on another would fail


def _pyplot():
    with _IMPORTING:
        import matplotlib

        matplotlib.use("Agg")  # no screen: render to files only
        import matplotlib.pyplot as plt

    return plt


def import_in_background() -> None:
    """Import matplotlib on a thread (about a second), for a caller about to wait on DuckDB."""
    threading.Thread(target=_pyplot, name="import matplotlib", daemon=True).start()


CHART_DISTRIBUTORS = 25  # more bars than this are unreadable (and a 10,000-pixel image)


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


def credits_chart(rows: list[tuple[str, str, float, float]], quarter: str) -> bytes:
    """Bars per distributor: credit total and accrued liability, a panel per currency.

    Only the distributors with the most credited plus held value are drawn; the preview table
    and the finance summary list them all.
    """
    plt = _pyplot()
    panels = credits_panels(rows)
    heights = [0.45 * len(panel) + 0.9 for panel in panels.values()]
    figure, axes = plt.subplots(
        len(panels), 1, figsize=(7, sum(heights) + 0.6), height_ratios=heights, squeeze=False
    )
    for axis, (currency, panel) in zip(axes[:, 0], panels.items(), strict=True):
        shown = len(panel)
        total = sum(1 for row in rows if (row[1] or "?") == currency)
        positions = range(shown)
        axis.barh(
            [p + 0.2 for p in positions], [r[2] for r in panel], height=0.4, label="credited", color="#1565c0"
        )
        axis.barh(
            [p - 0.2 for p in positions],
            [r[3] for r in panel],
            height=0.4,
            label="accrued liability (held)",
            color="#ffa000",
        )
        axis.set_yticks(list(positions), [r[0] for r in panel])
        axis.invert_yaxis()
        axis.set_xlabel(currency)
        axis.set_title(
            f"{currency}" + (f" (top {shown} of {total} by value)" if total > shown else ""), fontsize=10
        )
    axes[0, 0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    figure.suptitle(f"Credits by distributor, {quarter}")
    figure.tight_layout()
    try:
        return _png(figure)
    finally:
        plt.close(figure)


def sla_mix_chart(rows: list[tuple[str, str, int]]) -> bytes:
    """Stacked bars: SLA status counts per quarter."""
    plt = _pyplot()
    quarters = sorted({quarter for quarter, _, _ in rows})
    counts = {(quarter, status): count for quarter, status, count in rows}
    figure, axis = plt.subplots(figsize=(7, 3.5))
    bottoms = [0] * len(quarters)
    for status, color in SLA_COLORS.items():
        values = [counts.get((quarter, status), 0) for quarter in quarters]
        axis.bar(quarters, values, bottom=bottoms, label=status, color=color)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axis.set_title("Direct SLA status mix by quarter")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    try:
        return _png(figure)
    finally:
        plt.close(figure)


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
