"""Replaying files does not change the answer: the same files dropped twice (also under another name),
a later day's files loaded before an earlier day's, and a late update to an old order line each end with
marts equal to one clean build of the same final set of files.

The world: 60 days (FIRST) of a small generated business, the next 10 days of it (LATER), and one
correction file re-sending an old delivered order line as cancelled with another quantity, written after
LATER (LATE). The final landing folder of every scenario holds FIRST + LATER + LATE + copies of files
under other names. The reference loads that folder once and builds once; each scenario loads it in
several drops (ingest_feed, as a run does, each drop at a later load time) with a `dbt build` after each,
incremental facts and all, and must end with the same marts, compared whole and exactly (load times and
ids aside). Every build is the whole project, tests included.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
SEED, SCALE = 13, 0.01
START, FIRST_DAYS, LATER_DAYS = date(2024, 1, 1), 60, 10
FIRST_LOAD = datetime(2025, 1, 1, 6, 0)  # after every generated day: no row is "in the future"
LATE_FILE = "orders/orders_2024-01-20_correction.csv"  # an old date in its name: the version decides

# The marts compared, the incremental facts among them. Load times and ids differ between the runs.
COMPARED = (
    "kpi_monthly",
    "fct_order_lines",
    "fct_orders",
    "kpi_fulfilment_monthly",
    "fct_inventory_daily",
    "fct_returns",
    "fct_purchase_order_lines",
    "dim_customer",
    "kpi_customers_monthly",
)
LOAD_COLUMNS = ("_loaded_at", "_last_loaded_at", "_load_id")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The generated drops, each a landing-shaped folder: FIRST, LATER and LATE."""
    from pipelines.demo import generate

    tmp = tmp_path_factory.mktemp("drops")
    generate(tmp / "first", scale=SCALE, days=FIRST_DAYS, seed=SEED, start=START)
    generate(tmp / "later", scale=SCALE, days=LATER_DAYS, seed=SEED, start=START + timedelta(days=FIRST_DAYS))
    _write_late_update(tmp / "late", [tmp / "first", tmp / "later"])
    return {"first": tmp / "first", "later": tmp / "later", "late": tmp / "late"}


def _write_late_update(out: Path, drops: list[Path]) -> None:
    """An old delivered order line, re-sent after everything else as cancelled with one unit more."""
    orders = pl.concat([pl.read_csv(p, infer_schema=False) for d in drops for p in sorted((d / "orders").iterdir())])
    current = orders.sort("updated_at").group_by("order_id", "line_number").last()
    # A line with a return would break the return's rule once it is cancelled (nothing shipped to return).
    returns = pl.concat(
        [
            pl.read_csv(p, infer_schema=False)
            for d in drops
            if (d / "returns").is_dir()
            for p in (d / "returns").iterdir()
        ]
    )
    returned = returns.select("order_id", pl.col("line_number").cast(pl.Utf8)).unique()
    line = current.filter((pl.col("status") == "delivered") & pl.col("order_ts").str.starts_with("2024-01-1")).join(
        returned, on=["order_id", "line_number"], how="anti"
    )
    row = line.sort("order_id", "line_number").row(0, named=True)
    last_day = START + timedelta(days=FIRST_DAYS + LATER_DAYS - 1)
    row.update(
        status="cancelled",
        quantity_ordered=str(int(row["quantity_ordered"]) + 1),
        quantity_shipped=None,
        shipped_ts=None,
        delivered_ts=None,
        carrier=None,
        shipping_cost=None,
        updated_at=f"{last_day + timedelta(days=1)}T09:00:00Z",
    )
    (out / LATE_FILE).parent.mkdir(parents=True)
    pl.DataFrame([row]).select(orders.columns).write_csv(out / LATE_FILE)


def late_key(files) -> tuple[str, int]:
    row = pl.read_csv(files["late"] / LATE_FILE, infer_schema=False).row(0, named=True)
    return row["order_id"], int(row["line_number"])


def copy(drop: Path, landing: Path, rename: bool = False) -> list[Path]:
    """Drop a folder's files into the landing folder (under another name: `<name>_resent.csv`).

    The other name sorts after the original on purpose. Of identical files, the one recorded (the
    `_source_file` the marts show) is the first to arrive, and within one drop the first by name: a copy
    named to sort first would be the one a single clean load records, but not a replay that had the
    original already. The contract allows either (the same bytes load once, under any name)."""
    out = []
    for path in sorted(p for p in drop.rglob("*") if p.is_file()):
        rel = path.relative_to(drop)
        resent = rel.name.replace(".", "_resent.", 1)
        target = landing / rel.parent / (resent if rename else rel.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        out.append(target)
    return out


def final_landing(files, landing: Path) -> None:
    """The final set of files every scenario ends with."""
    for name in ("first", "later", "late"):
        copy(files[name], landing)
    copy(files["later"], landing, rename=True)


class Warehouse:
    """A DuckDB warehouse at a fixed path, loaded with the ingest code and built with dbt, in process.

    Every scenario uses the same file (one after another, emptied in between) so that dbt's partial parse
    carries over between builds: the profile reads the path, and a new path makes dbt parse the project
    again. The file is emptied rather than deleted, and opened with dbt's configuration (not read-only):
    dbt-duckdb keeps its connection to it open in this process between invocations."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.db = folder / "warehouse.duckdb"
        self.loads = 0

    def reset(self) -> Warehouse:
        con = duckdb.connect(str(self.db))
        try:
            schemas = con.sql(
                "select schema_name from information_schema.schemata where catalog_name = "
                "current_database() and schema_name not in ('main', 'information_schema', "
                "'pg_catalog')"
            ).fetchall()
            for (schema,) in schemas:
                con.execute(f'drop schema "{schema}" cascade')
        finally:
            con.close()
        self.loads = 0
        return self

    def ingest(self, landing: Path) -> dict[str, str]:
        """Load the new files of every feed; returns each file's status as logged."""
        from forecasting.store import ensure_tables
        from pipelines.feeds.contract import FEEDS
        from pipelines.feeds.ingest import ingest_feed

        now = FIRST_LOAD + timedelta(hours=self.loads)  # each drop later than the one before
        self.loads += 1
        con = duckdb.connect(str(self.db))
        try:
            statuses = {}
            for feed in FEEDS.values():
                result = ingest_feed(con, feed, landing, f"load{self.loads}", now)
                assert result.total("rows_quarantined") == 0 and not result.rejected, result.first_errors[:5]
                statuses |= {f.file: f.status for f in result.files}
            ensure_tables(con)  # no forecast runs here: the planning marts build on the empty tables
        finally:
            con.close()
        return statuses

    def build(self, warn: bool = False) -> None:
        """dbt build; every model and test must succeed (a test may warn only if `warn`)."""
        from dbt.cli.main import dbtRunner

        argv = [
            "--quiet",
            "build",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            str(self.folder / "target"),
            "--log-path",
            str(self.folder / "logs"),
        ]
        cwd = os.getcwd()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCM_WAREHOUSE_PATH", str(self.db))
            os.chdir(self.folder)
            try:
                res = dbtRunner().invoke(argv)
            finally:
                os.chdir(cwd)
        failed = [
            f"{r.node.unique_id}: {r.status}: {(r.message or '')[:200]}"
            for r in getattr(res.result, "results", None) or []
            if str(r.status).lower() not in ("success", "pass", "no-op", *(["warn"] if warn else []))
        ]
        assert res.success and not failed, f"dbt build failed ({res.exception}):\n" + "\n".join(failed[:20])

    def marts(self) -> dict[str, pl.DataFrame]:
        con = duckdb.connect(str(self.db))
        try:
            out = {}
            for table in COMPARED:
                frame = con.sql(f"select * from marts.{table}").pl()
                frame = frame.drop([c for c in LOAD_COLUMNS if c in frame.columns])
                out[table] = frame.sort(frame.columns, nulls_last=True)
            return out
        finally:
            con.close()

    def rows(self, table: str) -> int:
        con = duckdb.connect(str(self.db))
        try:
            return con.sql(f"select count(*) from {table}").fetchall()[0][0]
        finally:
            con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    return Warehouse(tmp_path_factory.mktemp("warehouse"))


@pytest.fixture(scope="module")
def reference(files, warehouse, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """One drop of the final set of files, one build."""
    landing = tmp_path_factory.mktemp("reference") / "landing"
    final_landing(files, landing)
    warehouse.reset().ingest(landing)
    warehouse.build()
    marts = warehouse.marts()
    # The late update is the current version of its line in the reference too.
    order_id, line_number = late_key(files)
    line = marts["fct_order_lines"].filter((pl.col("order_id") == order_id) & (pl.col("line_number") == line_number))
    assert line["status"].to_list() == ["cancelled"]
    return marts


def assert_marts_equal(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    """Equal whole tables: every value exactly, except the last bits of a float. A float KPI that averages
    durations (order_cycle_time_days, return_processing_days) sums doubles, and DuckDB sums them in the
    order the rows happen to lie in, which differs with the order the files were loaded in."""
    for table in COMPARED:
        assert got[table].height > 0, table
        try:
            assert_frame_equal(got[table], want[table], check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
        except AssertionError as exc:
            diff = _differing_rows(got[table], want[table])
            raise AssertionError(f"marts.{table}: {exc}\nrows that differ (got, then want):\n{diff}") from None


def _differing_rows(got: pl.DataFrame, want: pl.DataFrame) -> str:
    """Rows whose non-float columns match but a float differs, side by side; else the unmatched rows."""
    if got.columns != want.columns:
        return f"columns {got.columns} vs {want.columns}"
    floats = [c for c, t in got.schema.items() if t.is_float()]
    keys = [c for c in got.columns if c not in floats]
    with pl.Config(tbl_rows=20, tbl_cols=12, fmt_str_lengths=40, float_precision=17):
        both = got.join(want, on=keys, how="inner", nulls_equal=True, suffix="_want")
        differ = both.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_want")) for c in floats))
        unmatched = got.join(want, on=keys, how="anti", nulls_equal=True)
        return f"{differ.select(keys[:3] + [x for c in floats for x in (c, f'{c}_want')])}\nunmatched: {unmatched}"


def drops(statuses: dict[str, str], paths: Iterable[Path], landing: Path) -> list[str]:
    return [statuses.get(p.relative_to(landing).as_posix()) for p in paths]


def test_the_same_files_dropped_twice_change_nothing(files, warehouse, reference, tmp_path):
    landing = tmp_path / "landing"
    warehouse.reset()
    for name in ("first", "later", "late"):
        copy(files[name], landing)
    warehouse.ingest(landing)
    warehouse.build()
    assert_marts_equal(warehouse.marts(), reference)
    raw = {t: warehouse.rows(f"raw.{t}") for t in ("orders", "inventory", "returns", "purchase_orders")}

    # Again, under other names; and the first days' files written again in place (new modification time,
    # so they are read again rather than skipped by path: the same bytes where they were are no new delivery,
    # and are not logged again).
    renamed = copy(files["later"], landing, rename=True)
    rewritten = copy(files["first"], landing)
    statuses = warehouse.ingest(landing)
    assert set(drops(statuses, renamed, landing)) == {"duplicate"}
    assert set(drops(statuses, rewritten, landing)) == {None}
    assert {t: warehouse.rows(f"raw.{t}") for t in raw} == raw
    warehouse.build()
    assert_marts_equal(warehouse.marts(), reference)


def test_a_later_day_loaded_before_an_earlier_one_gives_the_same_marts(files, warehouse, reference, tmp_path):
    landing = tmp_path / "landing"
    warehouse.reset()
    # The newest first: the later days and the correction, built (before any master data has arrived; the
    # returns of orders placed in the first days refer to lines not loaded yet, which the tests warn of) ...
    copy(files["later"], landing)
    copy(files["late"], landing)
    warehouse.ingest(landing)
    warehouse.build(warn=True)
    early = warehouse.marts()["fct_order_lines"]
    assert early.height > 0 and (early["product_key"] == "-1").all()  # every line waits for its product master
    # ... then the first days, and the later days again under other names.
    copy(files["first"], landing)
    copy(files["later"], landing, rename=True)
    warehouse.ingest(landing)
    warehouse.build()
    assert_marts_equal(warehouse.marts(), reference)


def test_a_late_update_to_an_old_line_reaches_the_marts(files, warehouse, reference, tmp_path):
    landing = tmp_path / "landing"
    warehouse.reset()
    for name in ("first", "later"):
        copy(files[name], landing)
    copy(files["later"], landing, rename=True)
    warehouse.ingest(landing)
    warehouse.build()
    before = warehouse.marts()
    order_id, line_number = late_key(files)
    is_line = (pl.col("order_id") == order_id) & (pl.col("line_number") == line_number)
    assert before["fct_order_lines"].filter(is_line)["status"].to_list() == ["delivered"]

    copy(files["late"], landing)
    assert warehouse.ingest(landing) == {LATE_FILE: "loaded"}
    warehouse.build()
    after = warehouse.marts()
    line = after["fct_order_lines"].filter(is_line)
    old = before["fct_order_lines"].filter(is_line)
    assert line.select("status", "quantity_ordered").rows() == [("cancelled", old["quantity_ordered"][0] + 1)]
    # The KPIs of the line's (old) month moved.
    month = line["order_date"][0].replace(day=1)
    by_month = {name: m["kpi_monthly"].filter(pl.col("month") == month) for name, m in (("b", before), ("a", after))}
    assert not by_month["a"].equals(by_month["b"])
    assert_marts_equal(after, reference)


def _current_delivered_rows(landing: Path, count: int) -> list[tuple[Path, int, dict]]:
    """`count` delivered order lines, each as the file, data row (from 0) and values of its current version,
    from different files."""
    out, seen = [], set()
    versions = [
        (path, i, row)
        for path in sorted((landing / "orders").iterdir())
        for i, row in enumerate(pl.read_csv(path, infer_schema=False).iter_rows(named=True))
    ]
    latest = {}
    for path, i, row in versions:
        key = (row["order_id"], row["line_number"])
        if key not in latest or row["updated_at"] >= latest[key][2]["updated_at"]:
            latest[key] = (path, i, row)
    for path, i, row in latest.values():
        if row["status"] == "delivered" and path not in seen:
            out.append((path, i, row))
            seen.add(path)
        if len(out) == count:
            return out
    raise AssertionError("not enough delivered lines")


def test_a_corrected_file_wins_resent_under_its_own_name_or_as_a_fixed_copy(files, warehouse, tmp_path):
    """docs/operations.md's recipe: a file fixed where it lies, or a corrected copy dropped beside it
    (`<name>-fixed.csv`, which sorts before the original), both with the versions' updated_at unchanged.
    The later delivery wins the tie, whatever the names."""
    landing = tmp_path / "landing"
    warehouse.reset()
    copy(files["first"], landing)
    warehouse.ingest(landing)
    warehouse.build()
    (in_place, i, row_a), (original, _, row_b) = _current_delivered_rows(landing, 2)

    fixed = pl.read_csv(in_place, infer_schema=False)
    fixed = fixed.with_columns(
        pl.when(pl.int_range(pl.len()) == i).then(pl.lit("CORRECTED")).otherwise(pl.col("carrier")).alias("carrier")
    )
    fixed.write_csv(in_place)
    copy_path = original.with_name(original.name.replace(".csv", "-fixed.csv"))
    assert copy_path.name < original.name
    pl.DataFrame([{**row_b, "shipping_cost": "123.4500"}]).write_csv(copy_path)
    statuses = warehouse.ingest(landing)
    assert {statuses[p.relative_to(landing).as_posix()] for p in (in_place, copy_path)} == {"loaded"}
    warehouse.build()

    lines = warehouse.marts()["fct_order_lines"]
    got = {
        (r["order_id"], r["line_number"]): (r["carrier"], r["shipping_cost"])
        for r in lines.filter(pl.col("order_id").is_in([row_a["order_id"], row_b["order_id"]])).iter_rows(named=True)
    }
    assert got[(row_a["order_id"], int(row_a["line_number"]))][0] == "CORRECTED"
    assert float(got[(row_b["order_id"], int(row_b["line_number"]))][1]) == 123.45
