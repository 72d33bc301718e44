"""KPI targets on the pages, by hand: met or missed at and around each bound, the tile's colour and words, the
table cells' colours, and the target rules a trend chart draws."""

from __future__ import annotations

import math

import polars as pl
import pytest

from dashboards import charts, formatting, kpis
from pipelines.alerts.targets import Target

AT_LEAST = Target("otif_rate", min=0.95)
AT_MOST = Target("stockout_rate", max=0.02)
BETWEEN = Target("forecast_bias", min=-0.05, max=0.05)


@pytest.mark.parametrize(
    ("target", "value", "met"),
    [
        (AT_LEAST, 0.95, True),  # on the bound is met
        (AT_LEAST, 0.951, True),
        (AT_LEAST, 0.9499, False),
        (AT_MOST, 0.02, True),
        (AT_MOST, 0.0, True),
        (AT_MOST, 0.0201, False),
        (BETWEEN, 0.0, True),
        (BETWEEN, -0.06, False),
        (BETWEEN, 0.06, False),
        (AT_LEAST, None, None),  # no value: neither
        (AT_LEAST, math.nan, None),
        (None, 0.5, None),  # no target: neither
    ],
)
def test_met_or_missed(target, value, met):
    assert formatting.on_target(target, value) is met


def test_a_tile_is_green_when_met_red_when_missed_and_by_direction_without_a_target():
    otif, stockouts = kpis.KPIS["otif_rate"], kpis.KPIS["stockout_rate"]
    assert kpis.target_color(True, otif) == "green"
    assert kpis.target_color(False, otif) == "red"
    # Not by direction: a stockout rate that misses is red whichever way it moved.
    assert kpis.target_color(False, stockouts) == "red"
    assert kpis.target_color(None, otif) == "normal"
    assert kpis.target_color(None, stockouts) == "inverse"


def test_the_target_in_words():
    assert kpis.target_text(AT_LEAST, "rate") == "at least 95.0%"
    assert kpis.target_text(AT_MOST, "rate") == "at most 2.0%"
    assert kpis.target_text(BETWEEN, "rate") == "-5.0% – 5.0%"
    assert kpis.target_note(AT_LEAST, 0.9, "rate") == " Target at least 95.0%: missed."
    assert kpis.target_note(AT_MOST, 0.01, "rate") == " Target at most 2.0%: met."
    assert kpis.target_note(AT_MOST, None, "rate") == " Target at most 2.0%: no value to compare."
    assert kpis.target_note(None, 0.01, "rate") == ""


def test_table_cells_are_coloured_against_the_target():
    met, missed = formatting.TARGET_STYLES[True], formatting.TARGET_STYLES[False]
    assert formatting.target_styles([0.97, 0.95, 0.94, None, math.nan], AT_LEAST) == [met, met, missed, "", ""]
    assert formatting.target_styles([0.97], None) == [""]


def test_a_trend_draws_each_plotted_kpis_target_in_its_series():
    targets = {"line_otif_rate": AT_LEAST, "stockout_rate": AT_MOST, "forecast_bias": BETWEEN}
    columns = {"line_otif_rate": "OTIF", "line_on_time_rate": "on time", "forecast_bias": "bias"}
    rules = charts.target_lines(columns, targets, "rate")
    # stockout_rate is not plotted, on time has no target, the bias has two bounds.
    assert rules.rows() == [
        ("OTIF", 0.95, "at least 95.0%"),
        ("bias", -0.05, "at least -5.0%"),
        ("bias", 0.05, "at most 5.0%"),
    ]
    assert charts.target_lines(columns, None, "rate").is_empty()
    monthly = pl.DataFrame({"month": ["2025-01-01"], "line_otif_rate": [0.9], "line_on_time_rate": [0.92]})
    monthly = monthly.with_columns(pl.col("month").str.to_date())
    spec = charts.trend(monthly, "month", {"line_otif_rate": "OTIF"}, "rate", targets=targets).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    assert (
        "layer"
        not in charts.trend(monthly, "month", {"line_on_time_rate": "on time"}, "rate", targets=targets).to_dict()
    )


# pipelines/alerts/targets.toml's defaults for the Overview's tiles, by hand.
OVERVIEW_TARGETS = {
    "OTIF": ("otif_rate", 0.95, None),
    "Fill rate": ("unit_fill_rate", 0.95, None),
    "Stockout rate": ("stockout_rate", None, 0.02),
    "Supplier on-time": ("supplier_on_time_rate", 0.90, None),
    "Return rate": ("return_rate_units", None, 0.10),
}


@pytest.mark.slow
def test_the_overviews_tiles_are_coloured_against_their_targets(data_env, marts):
    from streamlit.proto.Metric_pb2 import Metric

    from tests.dashboards.test_pages import default_last_month, metrics, run_app

    shown = metrics(run_app())
    last = default_last_month(marts)
    for label, (kpi, low, high) in OVERVIEW_TARGETS.items():
        value = marts.one(
            "select value from marts.kpi_monthly where kpi = $k and month <= $m order by month desc limit 1",
            k=kpi,
            m=last,
        )
        met = (low is None or value >= low) and (high is None or value <= high)
        tile = shown[label].proto
        assert tile.color == (Metric.MetricColor.GREEN if met else Metric.MetricColor.RED), label
        assert tile.delta_description.endswith("target met" if met else "target missed"), label
        assert ("met." if met else "missed.") in tile.help, label
    # Without a target a tile is coloured by its direction alone, and says nothing of a target.
    assert "target" not in shown["Inventory turns"].proto.delta_description


def test_bars_are_coloured_against_the_target():
    frame = pl.DataFrame({"member": ["a", "b", "c"], "line_otif_rate": [0.97, 0.9, None]})
    spec = charts.bars(frame, "member", "line_otif_rate", "rate", target=AT_LEAST).to_dict()
    bar = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "bar")
    assert bar["encoding"]["color"]["scale"] == {
        "domain": ["target met", "target missed", "no value"],
        "range": ["#21c354", "#ff4b4b", "#bdbdbd"],
    }
    rows = next(iter(spec["datasets"].values()))
    assert [r["target_status"] for r in rows] == ["target met", "target missed", "no value"]
    # Without a target, no colour by status.
    plain = charts.bars(frame, "member", "line_otif_rate", "rate").to_dict()
    assert all("color" not in layer.get("encoding", {}) for layer in plain["layer"])
