"""The warehouse's `marts.kpi_monthly` agrees with an independent polars computation from the landing files.

Two worlds are loaded into a fresh DuckDB file each with the ingest code and built with `dbt build`:
a small generated one (months of realistic volume) and the hand-written one of
`tests/reference/test_reference_kpis.py` (re-sent lines, a tie on updated_at decided by the later
file, a stale version in a later file, offsets that move a timestamp into another month, partial
shipments and backorders). `tests/reference/kpis.py` computes the same KPIs from the CSV files alone.
For every KPI it implements: the same months, and value, numerator and denominator equal to 1e-9
(relative for large numbers).
The Make KPIs (and the supplier scorecard's production_defect_units) are compared likewise where the world has
work orders: the hand-written one has a few, each worked out by hand in tests/reference.

The numbers the dashboards show are checked the same way: `dashboards/queries.py` is called on the built
warehouse with a category, a warehouse and a month range, and its inventory value, stockout rate, line
fulfilment rates and return rates equal the reference computed for the same selection, as do the Customers &
Finance page's revenue, margin, cash cycle and customer counts by month and over its range. Each world also
gets two synthetic forecasting runs (a full run, then a later run of one category that replaces its
series), written to the forecast schema before the build; the Forecast and Overview pages' WAPE and
forecast value added equal sums over those rows by hand.
"""

from __future__ import annotations

import functools
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.reference.kpis import (
    as_of_date,
    inventory_kpis_for,
    line_kpis_for,
    load_current,
    product_categories,
    production_defect_units,
    read_versions,
)
from tests.reference.kpis import kpi_monthly as reference_kpi_monthly

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "dbt_project"
SEED = 20240611
SCALE = 0.02
DAYS = 150  # about five months: several month boundaries, a partial last month

pytestmark = pytest.mark.slow

# Every KPI of tests/reference/kpis.py; each must be in kpi_monthly and agree month by month.
KPIS = (
    "line_on_time_rate",
    "line_in_full_rate",
    "line_otif_rate",
    "otif_rate",
    "perfect_order_rate",
    "unit_fill_rate",
    "backorder_rate",
    "order_cycle_time_days",
    "cancellation_rate",
    "shipping_cost_per_unit",
    "return_rate_units",
    "return_value_rate",
    "return_processing_days",
    "return_to_vendor_share",
    "supplier_on_time_rate",
    "supplier_in_full_rate",
    "supplier_lead_time_days",
    "supplier_lead_time_stddev_days",
    "supplier_defect_ppm",
    "dpo_days",
    "stockout_rate",
    "inventory_value",
    "inventory_turns",
    "days_inventory_outstanding",
    "dso_days",
    "cash_to_cash_days",
    "gross_margin_rate",
    "active_customers",
    "repeat_customer_rate",
    "revenue",
)
# The Make KPIs: on both sides only where the world has work orders (a trading business has none).
MAKE_KPIS = (
    "schedule_adherence_rate",
    "production_attainment_rate",
    "first_pass_yield",
    "manufacturing_cycle_time_days",
    "capacity_utilisation_rate",
    "component_defect_scrap_share",
)


def _generate(landing: Path) -> None:
    from pipelines.demo import generate

    generate(landing, scale=SCALE, seed=SEED, days=DAYS)


def _handmade(landing: Path) -> None:
    from tests.reference.test_reference_kpis import FILES

    for rel, lines in FILES.items():
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


WORLDS = {"generated": _generate, "handmade": _handmade}


def _ingest(landing: Path, db: Path) -> None:
    from forecasting.store import ensure_tables
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed

    now = datetime.now(UTC).replace(tzinfo=None)
    con = duckdb.connect(str(db))
    try:
        for feed in FEEDS.values():
            result = ingest_feed(con, feed, landing, "agreement", now)
            assert not result.rejected, f"{feed.name}: rejected files {result.rejected}"
            # The reference reads every row of the files: the comparison is only fair on clean data.
            assert result.total("rows_quarantined") == 0, (
                f"{feed.name}: {result.total('rows_quarantined')} rows quarantined: {result.first_errors[:5]}"
            )
        ensure_tables(con)  # no forecast run: the planning marts build empty
    finally:
        con.close()


def _dbt_build(db: Path, tmp: Path) -> None:
    from dbt.cli.main import dbtRunner

    args = [
        "build",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_WAREHOUSE_PATH", str(db))
        mp.chdir(tmp)
        res = dbtRunner().invoke(args)
    if not res.success:
        failed = []
        for r in getattr(res.result, "results", None) or []:
            if str(getattr(r, "status", "")).lower() not in ("success", "pass"):
                failed.append(f"{r.node.unique_id}: {r.status}: {(r.message or '')[:300]}")
        raise AssertionError(f"dbt build failed ({res.exception}):\n" + "\n".join(failed[:30]))


# --- synthetic forecasting runs ----------------------------------------------------------------------

FORECAST_MODELS = ("seasonal_naive", "moving_average", "tsb")
FULL_RUN, CATEGORY_RUN = "run-full", "run-category"
CREATED = {FULL_RUN: datetime(2030, 1, 1), CATEGORY_RUN: datetime(2030, 1, 2)}
BACKTEST_DAYS = 7


def _actual(i: int, d: int) -> float | None:
    if (i + d) % 9 == 0:
        return None  # censored
    return 0.0 if i % 10 == 4 else float((3 * i + 5 * d) % 7)


def _yhat(model: str, i: int, d: int, r: int) -> float:
    return 1.0 + 0.5 * ((i + d + r + FORECAST_MODELS.index(model)) % 5)


def forecast_tables(series: list[tuple[str, str, str]], cutoff: date, run_category: str) -> dict[str, list[dict]]:
    """Rows of the forecast schema: FULL_RUN covers every series, CATEGORY_RUN (later) those of run_category.
    Series i selects FORECAST_MODELS[(i + r) % 3] in run r; backtest rows for the selected model and seasonal
    naive over two cut-offs of BACKTEST_DAYS days, some actuals censored and some seasonal naive days missing
    (not scored); per-model metrics with some WAPEs (no demand) and FVAs missing."""
    tables: dict[str, list[dict]] = {
        t: [] for t in ("runs", "model_selection", "backtest_metrics", "backtest_forecasts")
    }
    for r, (run_id, scope) in enumerate(((FULL_RUN, "all"), (CATEGORY_RUN, run_category))):
        covered = [(i, s) for i, s in enumerate(series) if scope == "all" or s[2] == scope]
        keys = {"run_id": run_id, "cutoff_date": cutoff}
        tables["runs"].append(
            {**keys, "scope": scope, "created_at": CREATED[run_id], "n_series": len(covered), "params": "{}"}
        )
        for i, (sku, wh, _) in covered:
            series_keys = {**keys, "sku": sku, "warehouse_id": wh}
            selected = FORECAST_MODELS[(i + r) % 3]
            tables["model_selection"].append(
                {**series_keys, "model": selected, "demand_sd": 1.0, "demand_class": "smooth", "reason": "test"}
            )
            for j, model in enumerate(FORECAST_MODELS):
                tables["backtest_metrics"].append(
                    {
                        **series_keys,
                        "model": model,
                        "wape": None if i % 10 == 4 else 0.2 + 0.05 * ((i + j + r) % 7),
                        "bias": 0.1 * ((i + j) % 3 - 1),
                        "fva": None if (i + j) % 8 == 0 else 0.03 * ((i * j + r) % 5) - 0.05,
                        "actual_total": 10.0 + (7 * i + r) % 23,
                        "n_cutoffs": 2,
                    }
                )
            for c, backtest_cutoff in enumerate((cutoff - timedelta(days=21), cutoff - timedelta(days=7))):
                for model in dict.fromkeys((selected, "seasonal_naive")):
                    for k in range(1, BACKTEST_DAYS + 1):
                        d = c * BACKTEST_DAYS + k
                        if model == "seasonal_naive" and selected != model and (i + 2 * d) % 13 == 0:
                            continue  # seasonal naive missing: the day is not scored
                        tables["backtest_forecasts"].append(
                            {
                                **series_keys,
                                "backtest_cutoff": backtest_cutoff,
                                "forecast_date": backtest_cutoff + timedelta(days=k),
                                "model": model,
                                "yhat": _yhat(model, i, d, r),
                                "actual": _actual(i, d),
                            }
                        )
    return tables


def _write_forecast(db: Path, tables: dict[str, list[dict]]) -> None:
    from forecasting.store import SCHEMA, TABLES

    with duckdb.connect(str(db)) as con:
        for table, rows in tables.items():
            frame = pl.DataFrame(rows, schema=TABLES[table])
            con.register("_rows", frame)
            con.execute(f"insert into {SCHEMA}.{table} by name select * from _rows")
            con.unregister("_rows")


def _latest(tables: dict[str, list[dict]]) -> dict[tuple[str, str], str]:
    """The run each series is taken from: the latest that wrote its model_selection row."""
    created = {r["run_id"]: r["created_at"] for r in tables["runs"]}
    latest: dict[tuple[str, str], str] = {}
    for row in tables["model_selection"]:
        key = (row["sku"], row["warehouse_id"])
        if key not in latest or created[row["run_id"]] > created[latest[key]]:
            latest[key] = row["run_id"]
    return latest


def hand_selected_accuracy(tables, categories, category=None, warehouse=None) -> dict:
    """WAPE and FVA of the selected models by hand: sums over the scored backtest days (actual known, both the
    selected model's and seasonal naive's forecasts there) of the series' latest run."""
    latest = _latest(tables)
    selected = {(r["run_id"], r["sku"], r["warehouse_id"]): r["model"] for r in tables["model_selection"]}
    days: dict[tuple, dict] = {}
    for row in tables["backtest_forecasts"]:
        key = (row["sku"], row["warehouse_id"])
        if latest[key] != row["run_id"]:
            continue
        if category is not None and categories.get(row["sku"], "unknown") != category:
            continue
        if warehouse is not None and row["warehouse_id"] != warehouse:
            continue
        day = days.setdefault((row["run_id"], *key, row["backtest_cutoff"], row["forecast_date"]), {})
        day["actual"] = row["actual"]
        if row["model"] == selected[(row["run_id"], *key)]:
            day["forecast"] = row["yhat"]
        if row["model"] == "seasonal_naive":
            day["naive"] = row["yhat"]
    num = den = naive = 0.0
    series = set()
    for key, day in days.items():
        if day.get("actual") is None or "forecast" not in day or "naive" not in day:
            continue
        num += abs(day["forecast"] - day["actual"])
        naive += abs(day["naive"] - day["actual"])
        den += day["actual"]
        series.add(key[1:3])
    return {"wape": num / den, "fva": (naive - num) / den, "series": len(series)}


def hand_model_accuracy(tables, categories, model, category=None, warehouse=None) -> dict:
    """A model's WAPE and FVA by hand from its per-series metrics of the latest runs: Σ wape x actual_total /
    Σ actual_total over series with a WAPE; seasonal naive's Σ |error| of a series is (wape + fva) x actual_total."""
    latest = _latest(tables)
    num = den = naive = 0.0
    for row in tables["backtest_metrics"]:
        key = (row["sku"], row["warehouse_id"])
        if row["model"] != model or latest[key] != row["run_id"] or row["wape"] is None:
            continue
        if category is not None and categories.get(row["sku"], "unknown") != category:
            continue
        if warehouse is not None and row["warehouse_id"] != warehouse:
            continue
        num += row["wape"] * row["actual_total"]
        naive += (row["wape"] + (row["fva"] or 0.0)) * row["actual_total"]
        den += row["actual_total"]
    return {"wape": num / den, "fva": (naive - num) / den}


# --- the worlds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    landing: Path
    db: Path
    snapshot: Path  # a copy of the built warehouse, read as the dashboards read a published snapshot
    reference: pl.DataFrame
    warehouse: pl.DataFrame
    forecast: dict[str, list[dict]]
    categories: dict[str, str]
    run_category: str


@pytest.fixture(scope="module", params=list(WORLDS))
def built(request, tmp_path_factory) -> Built:
    if not (PROJECT / "dbt_project.yml").exists():
        pytest.fail(f"no dbt project at {PROJECT}")
    tmp = tmp_path_factory.mktemp(f"kpi_agreement_{request.param}")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    WORLDS[request.param](landing)
    _ingest(landing, db)
    feeds = load_current(landing)
    categories = dict(product_categories(feeds).iter_rows())
    pairs = feeds.orders.select("sku", "warehouse_id").unique().sort("sku", "warehouse_id").rows()
    series = [(sku, wh, categories.get(sku, "unknown")) for sku, wh in pairs]
    run_category = max(sorted({c for *_, c in series}), key=lambda c: sum(s[2] == c for s in series))
    forecast = forecast_tables(series, as_of_date(feeds), run_category)
    _write_forecast(db, forecast)
    _dbt_build(db, tmp)
    reference = reference_kpi_monthly(landing)
    con = duckdb.connect(str(db))
    try:
        warehouse = con.sql(
            "select month::date as month, kpi::varchar as kpi, value::double as value, "
            "numerator::double as numerator, denominator::double as denominator from marts.kpi_monthly"
        ).pl()
        con.execute("checkpoint")  # everything in the file itself before it is copied
    finally:
        con.close()
    # dbt's in-process connection may hold the warehouse file; the pages read a copy, as they read a snapshot.
    snapshot = tmp / "snapshot.duckdb"
    shutil.copyfile(db, snapshot)
    return Built(landing, db, snapshot, reference, warehouse, forecast, categories, run_category)


@pytest.fixture(scope="module")
def frames(built) -> tuple[pl.DataFrame, pl.DataFrame]:
    return built.reference, built.warehouse


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def _same(a: float | None, b: float | None) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _has_work_orders(built: Built) -> bool:
    return _work_order_count(built.landing) > 0


@functools.cache
def _work_order_count(landing: Path) -> int:
    return read_versions(landing, "work_orders").height


def test_reference_covers_every_kpi(built, frames):
    reference, _ = frames
    make = set(MAKE_KPIS) if _has_work_orders(built) else set()
    assert set(reference.get_column("kpi").unique()) == set(KPIS) | make


def test_kpi_monthly_has_one_row_per_kpi_and_month(frames):
    _, warehouse = frames
    dupes = warehouse.group_by("kpi", "month").len().filter(pl.col("len") > 1)
    assert dupes.height == 0, f"duplicate (kpi, month) rows in kpi_monthly:\n{dupes}"


@pytest.mark.parametrize("kpi", KPIS)
def test_kpi_agrees(frames, kpi):
    _assert_agrees(*frames, kpi)


@pytest.mark.parametrize("kpi", MAKE_KPIS)
def test_make_kpi_agrees(built, frames, kpi):
    if not _has_work_orders(built):
        pytest.skip("the world has no work orders (a trader): neither side has Make KPIs")
    _assert_agrees(*frames, kpi)


def test_production_defect_units_agree(built):
    """The supplier scorecard's production_defect_units equal the reference's, supplier by supplier (a component
    without a known primary supplier counts for the unknown supplier); every other supplier has 0."""
    from pipelines.snapshot import open_snapshot

    if not _has_work_orders(built):
        pytest.skip("the world has no work orders (a trader)")
    feeds = load_current(built.landing)
    known = set(feeds.suppliers["supplier_id"])
    expected: dict[str, int] = {}
    for supplier, units in production_defect_units(feeds).iter_rows():
        key = supplier if supplier in known else "unknown"
        expected[key] = expected.get(key, 0) + units
    with open_snapshot(built.snapshot) as con:
        card = dict(con.sql("select supplier_id, production_defect_units from marts.kpi_supplier_scorecard").fetchall())
    assert {k: v for k, v in card.items() if v} == {k: v for k, v in expected.items() if v}


def _assert_agrees(reference: pl.DataFrame, warehouse: pl.DataFrame, kpi: str) -> None:
    ref = reference.filter(pl.col("kpi") == kpi)
    wh = warehouse.filter(pl.col("kpi") == kpi)
    if wh.height == 0:
        pytest.fail(f"{kpi} is missing from marts.kpi_monthly (reference has {ref.height} months)")
    assert ref.height > 0, f"{kpi}: the reference has no rows on the generated data"
    ref_months, wh_months = set(ref.get_column("month")), set(wh.get_column("month"))
    assert ref_months == wh_months, (
        f"{kpi}: months differ: only in reference {sorted(ref_months - wh_months)}, "
        f"only in kpi_monthly {sorted(wh_months - ref_months)}"
    )
    joined = ref.join(wh, on="month", suffix="_dbt").sort("month")
    problems = []
    for row in joined.iter_rows(named=True):
        for col in ("value", "numerator", "denominator"):
            ours, theirs = row[col], row[f"{col}_dbt"]
            if not _same(ours, theirs):
                problems.append(f"{row['month']} {col}: reference {ours!r}, kpi_monthly {theirs!r}")
    assert not problems, f"{kpi} disagrees in {len(problems)} place(s):\n" + "\n".join(problems[:20])


# --- what the pages show --------------------------------------------------------------------------------


def _selection(built: Built) -> tuple[str, str, date, date]:
    """The category and warehouse with the most snapshot rows, and the months of the snapshots but the first."""
    feeds = load_current(built.landing)
    inv = feeds.inventory.join(product_categories(feeds), on="sku", how="inner")
    category = inv.group_by("category").len().sort("len", "category", descending=True)["category"][0]
    warehouse = inv.group_by("warehouse_id").len().sort("len", "warehouse_id", descending=True)["warehouse_id"][0]
    months = sorted(set(inv["snapshot_date"].dt.truncate("1mo")))
    return category, warehouse, months[min(1, len(months) - 1)], months[-1]


@pytest.mark.parametrize("filtered", ["category", "category and warehouse", "none"])
def test_inventory_page_numbers_agree(built, filtered):
    from dashboards import queries

    category, warehouse, first, last = _selection(built)
    category = None if filtered == "none" else category
    warehouse = warehouse if filtered == "category and warehouse" else None
    shown = queries.inventory_monthly(str(built.snapshot), first, last, category, warehouse)
    ref = inventory_kpis_for(load_current(built.landing), category, warehouse).filter(
        pl.col("month").is_between(first, last)
    )
    assert shown.height > 0 and shown["month"].to_list() == sorted(set(ref["month"]))
    problems = []
    for kpi in ("inventory_value", "stockout_rate"):
        expected = dict(ref.filter(pl.col("kpi") == kpi).select("month", "value").iter_rows())
        for month, value in shown.select("month", kpi).iter_rows():
            if not _same(value, expected[month]):
                problems.append(f"{kpi} {month}: page {value!r}, reference {expected[month]!r}")
    # The daily chart's rows sum to the same stockout rate's numerator and denominator.
    daily = queries.stock_daily(str(built.snapshot), first, last, category, warehouse)
    stockouts = ref.filter(pl.col("kpi") == "stockout_rate")
    assert daily["stockouts"].sum() == stockouts["numerator"].sum()
    assert daily["positions"].sum() == stockouts["denominator"].sum()
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("filtered", ["none", "category", "warehouse"])
def test_forecast_page_numbers_agree(built, filtered):
    from dashboards import queries

    category, warehouse, *_ = _selection(built)
    # The category with the most stock rows may hold only components, which are never sold and so never
    # forecast: the category filter is tried on the category with the most forecast series instead.
    by_category = queries.forecast_accuracy(str(built.snapshot), None, None).filter(
        (pl.col("category") != "all categories") & (pl.col("model") == "selected")
    )
    category = by_category.sort("series", "category", descending=True)["category"][0]
    category = category if filtered == "category" else None
    warehouse = warehouse if filtered == "warehouse" else None
    accuracy = queries.forecast_accuracy(str(built.snapshot), category, warehouse)
    overall = accuracy.filter(category="all categories")
    shown = overall.filter(model="selected").row(0, named=True)
    expected = hand_selected_accuracy(built.forecast, built.categories, category, warehouse)
    assert _same(shown["wape"], expected["wape"]), (shown, expected)
    assert _same(shown["fva"], expected["fva"]), (shown, expected)
    assert shown["series"] == expected["series"]
    for model in FORECAST_MODELS:
        row = overall.filter(model=model).row(0, named=True)
        hand = hand_model_accuracy(built.forecast, built.categories, model, category, warehouse)
        assert _same(row["wape"], hand["wape"]) and _same(row["fva"], hand["fva"]), (model, row, hand)
    # By category: each category's own selected WAPE.
    for row in accuracy.filter((pl.col("category") != "all categories") & (pl.col("model") == "selected")).iter_rows(
        named=True
    ):
        hand = hand_selected_accuracy(built.forecast, built.categories, row["category"], warehouse)
        assert _same(row["wape"], hand["wape"]), (row, hand)


def test_overview_forecast_wape_agrees(built):
    from dashboards import queries

    shown = queries.forecast_wape(str(built.snapshot))
    expected = hand_selected_accuracy(built.forecast, built.categories)
    assert _same(shown["wape"], expected["wape"]) and shown["series"] == expected["series"]
    # The history compares full runs only: the category run is not in it.
    history = shown["history"]
    assert history["run_id"].to_list() == [FULL_RUN]
    selected = {
        (r["sku"], r["warehouse_id"]): r["model"] for r in built.forecast["model_selection"] if r["run_id"] == FULL_RUN
    }
    metrics = [
        r
        for r in built.forecast["backtest_metrics"]
        if r["run_id"] == FULL_RUN and r["wape"] is not None and selected[(r["sku"], r["warehouse_id"])] == r["model"]
    ]
    wape = sum(r["wape"] * r["actual_total"] for r in metrics) / sum(r["actual_total"] for r in metrics)
    assert _same(history["wape"][0], wape)


INVENTORY_KPIS = ("stockout_rate", "inventory_value", "inventory_turns", "days_inventory_outstanding")
# kpi_inventory_monthly's numerator and denominator columns of each KPI.
INVENTORY_COLUMNS = {
    "stockout_rate": ("stockout_rows", "snapshot_rows"),
    "inventory_value": ("stock_value_day_sum", "snapshot_days"),
    "inventory_turns": ("annualised_cogs", "inventory_value"),
    "days_inventory_outstanding": (None, "inventory_turns"),
}


@pytest.mark.parametrize("filtered", ["none", "category", "warehouse", "category and warehouse"])
def test_kpi_inventory_monthly_agrees(built, filtered):
    """Every row of a selection, every month: value, numerator and denominator of the four Inventory KPIs."""
    category, warehouse, *_ = _selection(built)
    category = category if "category" in filtered else None
    warehouse = warehouse if "warehouse" in filtered else None
    from pipelines.snapshot import open_snapshot

    # The dashboards' way of opening a snapshot: DuckDB allows one configuration per file in a process.
    with open_snapshot(built.snapshot) as con:
        mart = con.sql(
            "select * from marts.kpi_inventory_monthly where category = $c and warehouse_id = $w",
            params={"c": category or "all", "w": warehouse or "all"},
        ).pl()
    ref = inventory_kpis_for(load_current(built.landing), category, warehouse)
    assert mart.height > 0
    problems = []
    for kpi in INVENTORY_KPIS:
        expected = {r["month"]: r for r in ref.filter(pl.col("kpi") == kpi).iter_rows(named=True)}
        numerator, denominator = INVENTORY_COLUMNS[kpi]
        rows = {r["month"]: r for r in mart.iter_rows(named=True) if r[kpi] is not None}
        if set(rows) != set(expected):
            problems.append(f"{kpi}: months {sorted(rows)} in the mart, {sorted(expected)} in the reference")
            continue
        for month, row in rows.items():
            pairs = [(row[kpi], expected[month]["value"]), (row[denominator], expected[month]["denominator"])]
            if numerator:
                pairs.append((row[numerator], expected[month]["numerator"]))
            if not all(_same(float(a), b) for a, b in pairs):
                problems.append(f"{kpi} {month}: mart {[a for a, _ in pairs]}, reference {[b for _, b in pairs]}")
    assert not problems, "\n".join(problems[:20])


def _compare(shown: pl.DataFrame, ref: pl.DataFrame, kpis: tuple[str, ...]) -> list[str]:
    """The page's KPI columns by month against the reference's values (a month the page has no rate for has no
    reference row: its denominator is 0)."""
    problems = []
    for kpi in kpis:
        expected = dict(ref.filter(pl.col("kpi") == kpi).select("month", "value").iter_rows())
        got = {m: v for m, v in shown.select("month", kpi).iter_rows() if v is not None}
        if set(got) != set(expected):
            problems.append(f"{kpi}: months {sorted(got)} on the page, {sorted(expected)} in the reference")
        problems += [
            f"{kpi} {m}: page {v!r}, reference {expected[m]!r}" for m, v in got.items() if not _same(v, expected.get(m))
        ]
    return problems


def _master_warehouses(built: Built) -> set[str]:
    """The warehouses of the master: the ones the sidebar offers."""
    return set(read_versions(built.landing, "warehouses")["warehouse_id"])


@pytest.mark.parametrize("filtered", ["none", "category", "category and warehouse"])
def test_fulfilment_and_returns_page_numbers_agree(built, filtered):
    from dashboards import queries

    category, warehouse, first, last = _selection(built)
    category = category if "category" in filtered else None
    warehouse = warehouse if "warehouse" in filtered else None
    ref = line_kpis_for(load_current(built.landing), category, warehouse).filter(
        pl.col("month").is_between(first, last)
    )
    if warehouse is not None and warehouse not in _master_warehouses(built):
        pytest.skip("the world has no warehouse master: the fulfilment marts call every warehouse 'unknown'")
    fulfilment = queries.fulfilment_monthly(str(built.snapshot), first, last, category, warehouse, None)
    problems = _compare(
        fulfilment,
        ref,
        ("line_on_time_rate", "line_in_full_rate", "line_otif_rate", "unit_fill_rate", "backorder_rate"),
    )
    if warehouse is None:  # the return marts have no warehouse
        returns = queries.return_rates_monthly(str(built.snapshot), first, last, category)
        problems += _compare(returns, ref, ("return_rate_units", "return_value_rate"))
    # Unfiltered there are due lines (the handmade world has none in its busiest category and warehouse).
    assert filtered != "none" or fulfilment.height > 0
    assert not problems, "\n".join(problems[:20])


# The Customers & Finance page's columns (dashboards/queries_customers.py) -> the reference's KPI and part.
FINANCE_COLUMNS = {
    "revenue": ("revenue", "value"),
    "gross_margin": ("gross_margin_rate", "numerator"),
    "shipped_revenue": ("gross_margin_rate", "denominator"),
    "gross_margin_rate": ("gross_margin_rate", "value"),
    "days_inventory_outstanding": ("days_inventory_outstanding", "value"),
    "dso_days": ("dso_days", "value"),
    "dpo_days": ("dpo_days", "value"),
    "cash_to_cash_days": ("cash_to_cash_days", "value"),
}


def test_customers_page_numbers_agree(built, frames):
    """The Customers & Finance page's finance and network customer figures by month equal the reference's, and its
    range figures are the reference's months summed (the margin's numerators and denominators apart)."""
    from dashboards import queries_customers

    reference = frames[0]
    months = sorted(set(reference.filter(pl.col("kpi") == "revenue")["month"]))
    first, last = months[min(1, len(months) - 1)], months[-1]
    ref = {
        (r["kpi"], r["month"]): r
        for r in reference.filter(pl.col("month").is_between(first, last)).iter_rows(named=True)
    }
    problems = []

    def check(what: str, shown, expected) -> None:
        if not _same(shown, expected):
            problems.append(f"{what}: page {shown!r}, reference {expected!r}")

    path = str(built.snapshot)
    finance = queries_customers.finance_monthly(path, first, last)
    assert finance["month"].to_list() == sorted({m for _, m in ref})
    for row in finance.iter_rows(named=True):
        for column, (kpi, part) in FINANCE_COLUMNS.items():
            expected = ref.get((kpi, row["month"]))
            check(f"{column} {row['month']}", row[column], expected[part] if expected else None)

    totals = queries_customers.finance_range(path, first, last)
    margin = [r for (kpi, _), r in ref.items() if kpi == "gross_margin_rate"]
    check("revenue over the range", totals["revenue"], sum(r["value"] for (k, _), r in ref.items() if k == "revenue"))
    check("gross margin over the range", totals["gross_margin"], sum(r["numerator"] for r in margin))
    check(
        "gross margin rate over the range",
        totals["gross_margin_rate"],
        sum(r["numerator"] for r in margin) / sum(r["denominator"] for r in margin),
    )

    customers = queries_customers.customers_monthly(path, first, last, None)
    assert customers.height > 0
    for row in customers.iter_rows(named=True):
        month = row["month"]
        check(f"active_customers {month}", row["active_customers"], ref[("active_customers", month)]["value"])
        rate = ref[("repeat_customer_rate", month)]
        check(f"repeat_customer_rate {month}", row["repeat_customer_rate"], rate["value"])
        check(f"repeat_customers {month}", row["repeat_customers"], rate["numerator"])
        check(f"new_customers {month}", row["new_customers"], rate["denominator"] - rate["numerator"])
        check(f"revenue {month}", row["revenue"], ref[("revenue", month)]["value"])
    assert not problems, "\n".join(problems[:20])
