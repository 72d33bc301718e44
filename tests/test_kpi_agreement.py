"""The warehouse's `marts.kpi_monthly` agrees with an independent polars computation from the landing files.

Two worlds are loaded into a fresh DuckDB file each with the ingest code and built with `dbt build`:
a small generated one (months of realistic volume) and the hand-written one of
`tests/reference/test_reference_kpis.py` (re-sent lines, a tie on updated_at decided by the later
file, a stale version in a later file, offsets that move a timestamp into another month, partial
shipments and backorders). `tests/reference/kpis.py` computes the same KPIs from the CSV files alone.
For every KPI it implements: the same months, and value, numerator and denominator equal to 1e-9
(relative for large numbers).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

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


def _generate(landing: Path) -> None:
    from pipelines.feeds.generator import generate

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


@pytest.fixture(scope="module", params=list(WORLDS))
def frames(request, tmp_path_factory) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not (PROJECT / "dbt_project.yml").exists():
        pytest.fail(f"no dbt project at {PROJECT}")
    tmp = tmp_path_factory.mktemp(f"kpi_agreement_{request.param}")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    WORLDS[request.param](landing)
    _ingest(landing, db)
    _dbt_build(db, tmp)
    reference = reference_kpi_monthly(landing)
    con = duckdb.connect(str(db))
    try:
        warehouse = con.sql(
            "select month::date as month, kpi::varchar as kpi, value::double as value, "
            "numerator::double as numerator, denominator::double as denominator from marts.kpi_monthly"
        ).pl()
    finally:
        con.close()
    return reference, warehouse


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def _same(a: float | None, b: float | None) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def test_reference_covers_every_kpi(frames):
    reference, _ = frames
    assert set(reference.get_column("kpi").unique()) == set(KPIS)


def test_kpi_monthly_has_one_row_per_kpi_and_month(frames):
    _, warehouse = frames
    dupes = warehouse.group_by("kpi", "month").len().filter(pl.col("len") > 1)
    assert dupes.height == 0, f"duplicate (kpi, month) rows in kpi_monthly:\n{dupes}"


@pytest.mark.parametrize("kpi", KPIS)
def test_kpi_agrees(frames, kpi):
    reference, warehouse = frames
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
