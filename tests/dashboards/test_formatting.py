"""How a value reads on the dashboards: money in the configured currency with thousands separators and cents,
shares as percent to a decimal, days and units with their unit, and a dash for anything empty."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import formatting, kpis
from dashboards.formatting import EMPTY


def test_money_has_the_currency_thousands_separators_and_cents(monkeypatch):
    monkeypatch.delenv("SCM_CURRENCY", raising=False)
    assert formatting.money(638.116) == "€638.12"
    assert formatting.money(1234567.5) == "€1,234,567.50"
    assert formatting.money(-12.5) == "-€12.50"
    monkeypatch.setenv("SCM_CURRENCY", "usd")
    assert formatting.money(1234.5) == "$1,234.50"
    monkeypatch.setenv("SCM_CURRENCY", "DKK")
    assert formatting.money(1234.5) == "DKK 1,234.50"
    assert kpis.fmt(1234.5, "money") == "DKK 1,234.50"


def test_rates_days_and_units():
    assert formatting.rate(0.8812) == "88.1%"
    assert formatting.rate(1) == "100.0%"
    assert formatting.days(3.44) == "3.4 days"
    assert formatting.days(1) == "1.0 day"
    assert formatting.units(12345) == "12,345 units"
    assert formatting.value(4.25, "turns") == "4.2×"
    assert formatting.value(1520.4, "ppm") == "1,520 ppm"
    assert formatting.value(12345, "count") == "12,345"


@pytest.mark.parametrize("empty", [None, float("nan")])
@pytest.mark.parametrize("unit", ["rate", "money", "days", "turns", "count", "units", "ppm"])
def test_an_empty_value_is_a_dash_in_every_unit(empty, unit):
    assert formatting.value(empty, unit) == EMPTY
    assert kpis.fmt_delta(empty, 0.5, unit) is None
    assert kpis.fmt_delta(0.5, empty, unit) is None


def test_text_never_shows_none_or_nan():
    assert [formatting.text(v) for v in (None, float("nan"), "web", 0)] == [EMPTY, EMPTY, "web", "0"]


def test_axis_titles_carry_the_unit(monkeypatch):
    monkeypatch.setenv("SCM_CURRENCY", "EUR")
    assert formatting.axis_title("Stock value", "money") == "Stock value (€)"
    assert formatting.axis_title("Lead time", "days") == "Lead time (days)"
    assert formatting.axis_title("OTIF", "rate") == "OTIF"  # the axis labels say percent
    assert formatting.axis_title(None, "rate") is None


def test_a_table_keeps_numbers_numeric_shows_them_in_their_unit_and_empty_cells_as_the_dash(monkeypatch):
    monkeypatch.setenv("SCM_CURRENCY", "EUR")
    frame = pl.DataFrame(
        {
            "reason_code": ["no_longer_needed", None, "something_new"],
            "line_otif_rate": [0.9, float("nan"), None],
            "stock_value": [1.5, 2.0, None],
            "lead_time_days": [3.5, None, 1.0],
            "due_lines": [10, 20, None],
            "recommended_order_qty": [1.0, 2.5, 0.0],
        }
    )
    shown = formatting.for_display(frame, {"reason_code": "reason"})
    assert shown["reason_code"].to_list() == ["No longer needed", None, "something_new"]
    # NaN becomes null, which st.dataframe draws as its placeholder (the dash); the column stays a float column.
    assert shown["line_otif_rate"].to_list() == [0.9, None, None]
    assert shown.schema["line_otif_rate"] == pl.Float64
    config = formatting.column_config(shown)
    assert {c: config[c]["label"] for c in config} == {
        "reason_code": "Reason",
        "line_otif_rate": "Line OTIF",
        "stock_value": "Stock value",
        "lead_time_days": "Lead time",
        "due_lines": "Due lines",
        "recommended_order_qty": "Order quantity",
    }
    formats = {c: config[c].get("type_config", {}).get("format") for c in config}
    assert formats == {
        "reason_code": None,
        "line_otif_rate": "percent",
        "stock_value": "€%,.2f",
        "lead_time_days": "%,.1f days",
        "due_lines": "%,d",
        "recommended_order_qty": "%,.1f units",
    }
    # Streamlit's percent format shows (step's decimals - 2) decimals: 0.001 -> one decimal of percent.
    assert config["line_otif_rate"]["type_config"]["step"] == 0.001
    # An explicit unit wins over the name's.
    assert formatting.column_config(shown, {"due_lines": "units"})["due_lines"]["type_config"]["format"] == "%,d units"


def test_month_to_date_only_while_the_as_of_month_is_not_over():
    assert kpis.is_month_to_date(date(2025, 2, 1), date(2025, 2, 3))
    assert not kpis.is_month_to_date(date(2025, 2, 1), date(2025, 2, 28))  # the month is complete
    assert not kpis.is_month_to_date(date(2025, 1, 1), date(2025, 2, 3))
    assert not kpis.is_month_to_date(date(2024, 12, 1), date(2024, 12, 31))
    assert kpis.is_month_to_date(date(2024, 12, 1), date(2024, 12, 30))
    assert not kpis.is_month_to_date("run of 01 Feb 2025", date(2025, 2, 3))


def test_the_stale_banner_after_the_configured_days(monkeypatch):
    today = date(2025, 3, 10)
    monkeypatch.delenv("SCM_STALE_DAYS", raising=False)
    assert kpis.staleness(date(2025, 3, 8), today) is None  # two days: the default limit
    assert kpis.staleness(date(2025, 3, 7), today).startswith("The data is 3 days old: as of 07 Mar 2025")
    monkeypatch.setenv("SCM_STALE_DAYS", "5")
    assert kpis.staleness(date(2025, 3, 7), today) is None
    assert "6 days old" in kpis.staleness(date(2025, 3, 4), today)
    assert kpis.staleness(None, today) is None


def test_a_table_through_streamlit_has_the_dash_for_empty_cells_and_the_given_column_config_laid_over(tmp_path):
    script = tmp_path / "table.py"
    script.write_text(
        "import polars as pl\n"
        "import streamlit as st\n"
        "from dashboards import formatting\n"
        "frame = pl.DataFrame({'reason_code': ['no_longer_needed', None], 'stock_value': [1.5, float('nan')]})\n"
        "formatting.dataframe(frame, codes={'reason_code': 'reason'},\n"
        "                     column_config={'stock_value': st.column_config.NumberColumn('Value')})\n"
    )
    at = AppTest.from_file(str(script)).run()
    assert not at.exception
    (table,) = at.dataframe
    assert table.proto.placeholder == EMPTY
    assert table.value["reason_code"].tolist() == ["No longer needed", None]
    config = json.loads(table.proto.columns)
    assert config["reason_code"]["label"] == "Reason"
    assert config["stock_value"]["label"] == "Value"
