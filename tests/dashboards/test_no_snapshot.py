"""Before any run the app says what to do instead of failing; and the small pieces that decide what a tile shows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboards.filters import default_months
from dashboards.kpis import fmt, fmt_delta

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def test_before_any_run_the_app_says_run_scm_run_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [i.value for i in at.info] == [f"no warehouse yet in {tmp_path}: run `scm run` first"]
    assert not at.metric and not at.sidebar.selectbox  # nothing else: no filters, no empty charts


def test_any_page_url_before_a_run_gets_the_same_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/replenishment.py").run()
    assert not at.exception
    assert "run `scm run` first" in at.info[0].value


def test_default_months_end_with_the_as_of_month():
    months = [date(2024, m, 1) for m in range(1, 13)] + [date(2025, 1, 1), date(2025, 2, 1)]
    assert default_months(months, date(2025, 2, 3)) == (date(2024, 3, 1), date(2025, 2, 1))
    assert default_months(months, date(2025, 2, 28)) == (date(2024, 3, 1), date(2025, 2, 1))
    assert default_months(months, date(2025, 1, 31)) == (date(2024, 2, 1), date(2025, 1, 1))
    assert default_months(months[:1], date(2024, 1, 5)) == (date(2024, 1, 1), date(2024, 1, 1))


def test_changes_read_in_the_kpis_unit():
    assert fmt(0.8812, "rate") == "88.1%"
    assert fmt(None, "rate") == "—"
    assert fmt_delta(0.90, 0.88, "rate") == "+2.0 pp"
    assert fmt_delta(110.0, 100.0, "money") == "+10.0%"
    assert fmt_delta(0.8801, 0.8800, "rate") == 0  # rounds to nothing: grey, no arrow
    assert fmt_delta(1.0, None, "rate") is None


def test_a_pointer_to_a_missing_snapshot_and_nothing_else_is_no_warehouse_yet_naming_the_pointer(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "CURRENT").write_text("20250101T000000000000-gone0000.duckdb\n")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        f"no warehouse yet in {tmp_path}: run `scm run` first ({tmp_path}/snapshots/CURRENT names "
        "20250101T000000000000-gone0000.duckdb, which does not exist)"
    ]
