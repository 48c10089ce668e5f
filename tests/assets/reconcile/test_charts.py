import base64
import subprocess
import sys
from pathlib import Path

from assets.reconcile.charts import (
    CHART_DISTRIBUTORS,
    credits_chart,
    credits_panels,
    markdown_image,
    sla_mix_chart,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_credits_chart_is_a_png():
    png = credits_chart([("NORTHSTAR", "USD", 169.99, 240.0), ("EUROPA-1", "EUR", 0.0, 0.0)], "2026-Q2")
    assert png.startswith(PNG_MAGIC) and len(png) > 1000


def test_sla_mix_chart_and_markdown_embedding():
    png = sla_mix_chart([("2026-Q2", "met", 1), ("2026-Q2", "breached", 1), ("2026-Q3", "at_risk", 2)])
    markdown = markdown_image(png, "mix")
    assert markdown.startswith("![mix](data:image/png;base64,")
    assert base64.b64decode(markdown.split(",", 1)[1].rstrip(")")) == png


def test_credits_chart_draws_only_the_largest_distributors():
    rows = [(f"D{i:03d}", "USD", float(i), 0.0) for i in range(300)]
    few = credits_chart(rows[-25:], "2026-Q2")
    many = credits_chart(rows, "2026-Q2")
    height = lambda png: int.from_bytes(png[20:24], "big")  # noqa: E731 (PNG IHDR height)
    assert height(many) == height(few) < 1500


def test_each_currency_has_its_own_panel_and_its_own_ranking():
    # Yen amounts are large numbers: ranked together with dollars they would crowd every USD bar out.
    rows = [(f"JP{i:03d}", "JPY", 1_000_000.0 + i, 0.0) for i in range(40)]
    rows += [("US-SMALL", "USD", 10.0, 0.0), ("US-BIG", "USD", 90.0, 5.0), ("EU-1", "EUR", 0.0, 30.0)]
    panels = credits_panels(rows)
    assert list(panels) == ["EUR", "JPY", "USD"]
    assert [r[0] for r in panels["USD"]] == ["US-BIG", "US-SMALL"]
    assert len(panels["JPY"]) == CHART_DISTRIBUTORS and panels["JPY"][0][0] == "JP039"
    assert credits_chart(rows, "2026-Q2").startswith(PNG_MAGIC)


def test_a_chart_drawn_while_matplotlib_imports_in_the_background():
    # A fresh interpreter: the chart asks for pyplot while the thread is still importing it.
    script = (
        "from assets.reconcile.charts import credits_chart, import_in_background\n"
        "import_in_background()\n"
        "print(credits_chart([('NORTHSTAR', 'USD', 169.99, 240.0)], '2026-Q2')[:8].hex())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[3]
    )
    assert result.returncode == 0, result.stderr
    assert bytes.fromhex(result.stdout.strip()) == PNG_MAGIC
