import base64
import xml.etree.ElementTree as ET

from assets.reconcile.charts import (
    CHART_DISTRIBUTORS,
    CREDITED_COLOR,
    HELD_COLOR,
    SLA_COLORS,
    credits_chart,
    credits_panels,
    markdown_image,
    sla_mix_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: bytes) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element, color: str) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("fill") == color]


def texts(root: ET.Element) -> list[str]:
    return [text.text for text in root.iter(f"{SVG}text")]


def test_credits_chart_draws_a_credited_and_a_held_bar_per_distributor():
    root = parsed(
        credits_chart([("NORTHSTAR", "USD", 169.99, 240.0), ("EUROPA-1", "EUR", 0.0, 0.0)], "2026-Q2")
    )
    assert len(bars(root, CREDITED_COLOR)) == len(bars(root, HELD_COLOR)) == 1 + 2  # a legend square each
    assert {"NORTHSTAR", "EUROPA-1", "Credits by distributor, 2026-Q2"} <= set(texts(root))
    [northstar_held] = [r for r in bars(root, HELD_COLOR) if "NORTHSTAR" in (r.findtext(f"{SVG}title") or "")]
    [northstar_credited] = [
        r for r in bars(root, CREDITED_COLOR) if "NORTHSTAR" in (r.findtext(f"{SVG}title") or "")
    ]
    assert float(northstar_held.get("width")) > float(northstar_credited.get("width")) > 0


def test_sla_mix_chart_stacks_each_quarters_statuses_and_embeds_in_markdown():
    svg = sla_mix_chart([("2026-Q2", "met", 1), ("2026-Q2", "breached", 1), ("2026-Q3", "at_risk", 2)])
    root = parsed(svg)
    drawn = [r.findtext(f"{SVG}title") for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert drawn == ["2026-Q2 met: 1", "2026-Q2 breached: 1", "2026-Q3 at_risk: 2"]
    assert set(SLA_COLORS) <= set(texts(root))  # the legend
    markdown = markdown_image(svg, "mix")
    assert markdown.startswith("![mix](data:image/svg+xml;base64,")
    assert base64.b64decode(markdown.split(",", 1)[1].rstrip(")")) == svg


def test_credits_chart_draws_only_the_largest_distributors():
    rows = [(f"D{i:03d}", "USD", float(i), 0.0) for i in range(300)]
    few = parsed(credits_chart(rows[-25:], "2026-Q2"))
    many = parsed(credits_chart(rows, "2026-Q2"))
    assert many.get("height") == few.get("height") and int(many.get("height")) < 1500
    assert len(bars(many, CREDITED_COLOR)) == CHART_DISTRIBUTORS + 1
    assert (
        "USD (top 25 of 300 by value)" in texts(many) and "D299" in texts(many) and "D274" not in texts(many)
    )


def test_each_currency_has_its_own_panel_and_its_own_ranking():
    # Yen amounts are large numbers: ranked together with dollars they would crowd every USD bar out.
    rows = [(f"JP{i:03d}", "JPY", 1_000_000.0 + i, 0.0) for i in range(40)]
    rows += [("US-SMALL", "USD", 10.0, 0.0), ("US-BIG", "USD", 90.0, 5.0), ("EU-1", "EUR", 0.0, 30.0)]
    panels = credits_panels(rows)
    assert list(panels) == ["EUR", "JPY", "USD"]
    assert [r[0] for r in panels["USD"]] == ["US-BIG", "US-SMALL"]
    assert len(panels["JPY"]) == CHART_DISTRIBUTORS and panels["JPY"][0][0] == "JP039"
    root = parsed(credits_chart(rows, "2026-Q2"))
    panel_titles = [t.text for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"]
    assert panel_titles == ["EUR", "JPY (top 25 of 40 by value)", "USD"]
    # Each panel has its own scale: the biggest dollar bar is as long as the biggest yen bar.
    widths = {r.findtext(f"{SVG}title"): float(r.get("width")) for r in bars(root, CREDITED_COLOR)[1:]}
    assert widths["US-BIG: 90.00"] > 0.8 * widths["JP039: 1,000,039.00"]


def test_text_from_the_data_stays_text():
    hostile = "<script>alert('x')</script>&\x01\"D"
    svg = credits_chart([(hostile, "U&D", 1.0, 2.0)], "2026-Q2")
    root = parsed(svg)  # well-formed despite the markup, the quote and the control character
    assert "<script>" not in svg.decode()
    assert "U&D" in texts(root) and "<script>alert('x')</script>&\ufffd\"D" in {
        r.findtext(f"{SVG}title").rsplit(":", 1)[0] for r in bars(root, CREDITED_COLOR)[1:]
    }
    assert any(t.startswith("<script>alert") and t.endswith("\u2026") for t in texts(root))  # cut to fit


def test_the_same_rows_draw_the_same_bytes():
    rows = [(f"D{i:03d}", "USD" if i % 2 else "EUR", i * 1.5, i * 0.25) for i in range(60)]
    assert credits_chart(rows, "2026-Q2") == credits_chart(list(reversed(rows)), "2026-Q2")
    assert sla_mix_chart([]) == sla_mix_chart([])


def test_a_negative_or_missing_amount_draws_no_bar_and_breaks_nothing():
    root = parsed(credits_chart([("A", "USD", -5.0, float("nan")), ("B", "USD", 0.0, 0.0)], "2026-Q2"))
    titled = {
        r.findtext(f"{SVG}title"): float(r.get("width"))
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    }
    assert titled["A: -5.00"] == titled["A: nan"] == titled["B: 0.00"] == 0.0
