"""The Make feeds (work_centers, bill_of_materials, work_orders): their rules by hand on small frames, the
bill-of-materials cycle rule, a load of a hand-written landing folder, and their absence (a trading
business sends none of them and sees nothing about them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.feeds import rules
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.cycles import cycles_through, strongly_connected
from pipelines.feeds.ingest import ingest_feed

NOW = datetime(2024, 6, 1, 12, 0)
WORK_CENTERS, BOM, WORK_ORDERS = FEEDS["work_centers"], FEEDS["bill_of_materials"], FEEDS["work_orders"]
MAKE = (WORK_CENTERS, BOM, WORK_ORDERS)


def batch(feed, rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [{c: r.get(c) for c in feed.column_names} for r in rows], schema=dict.fromkeys(feed.column_names, pl.String)
    )
    return frame.with_columns(
        _source_file=pl.lit(f"{feed.name}/a.csv"),
        _row_number=pl.int_range(1, frame.height + 1, dtype=pl.Int64),
        _extra=pl.lit(None, pl.String),
    )


def broken(feed, rows: list[dict], referenced=None) -> list[list[str]]:
    return rules.broken_rules(batch(feed, rows), feed, NOW, referenced).to_list()


def completed(**overrides: str | None) -> dict[str, str | None]:
    """A completed work order that meets every rule: 9 good units, 1 scrapped on the machine."""
    row = {
        "work_order_id": "WO1",
        "sku": "FG1",
        "work_center_id": "WC1",
        "warehouse_id": "W1",
        "planned_start_date": "2024-01-02",
        "planned_finish_date": "2024-01-04",
        "quantity_planned": "10",
        "status": "completed",
        "actual_start_ts": "2024-01-02T08:00:00Z",
        "actual_finish_ts": "2024-01-03T16:00:00Z",
        "quantity_produced": "9",
        "quantity_scrapped": "1",
        "labor_hours": "12.5",
        "scrap_reason": "machine",
        "defect_component_sku": None,
        "updated_at": "2024-01-03T16:05:00Z",
    }
    return row | overrides


def planned(**overrides: str | None) -> dict[str, str | None]:
    """A work order not started yet: no actual times, nothing produced or scrapped."""
    no_actuals = dict.fromkeys(
        ("actual_start_ts", "actual_finish_ts", "quantity_produced", "quantity_scrapped", "labor_hours", "scrap_reason")
    )
    return completed(status="planned", **no_actuals) | overrides


def bom(parent: str, component: str, quantity: str = "2", scrap: str | None = None) -> dict[str, str | None]:
    return {"parent_sku": parent, "component_sku": component, "quantity_per": quantity, "scrap_allowance": scrap}


# --- work orders: the status rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (completed(), []),
        (planned(), []),
        (planned(status="released"), []),
        (planned(status="cancelled"), []),
        # Started, not finished: a start time, no finish time yet; scrap so far needs its reason too.
        (completed(status="in_progress", actual_finish_ts=None), []),
        (
            completed(status="in_progress", actual_finish_ts=None, actual_start_ts=None),
            ["actual_start_ts_required_when_started"],
        ),
        (completed(actual_finish_ts=None), ["actual_finish_ts_required_when_completed"]),
        (completed(actual_start_ts=None), ["actual_start_ts_required_when_started"]),
        (completed(status="in_progress"), ["actual_finish_ts_null_until_completed"]),
        (planned(actual_start_ts="2024-01-02T08:00:00Z"), ["actual_start_ts_null_until_started"]),
        (
            planned(status="released", actual_finish_ts="2024-01-03T16:00:00Z"),
            ["actual_finish_ts_null_until_completed"],
        ),
        # Scrap and its reason come together.
        (completed(quantity_scrapped="0", scrap_reason=None), []),
        (completed(quantity_scrapped=None, scrap_reason=None), []),
        (completed(quantity_scrapped="0"), ["scrap_reason_null_without_scrap"]),
        (completed(quantity_scrapped=None), ["scrap_reason_null_without_scrap"]),
        (completed(scrap_reason=None), ["scrap_reason_required_with_scrap"]),
        (completed(scrap_reason="gremlins"), ["scrap_reason_accepted"]),
        # The failed component only with component_defect.
        (completed(scrap_reason="component_defect", defect_component_sku="C1"), []),
        (completed(scrap_reason="component_defect"), []),
        (completed(defect_component_sku="C1"), ["defect_component_sku_only_with_component_defect"]),
        (
            completed(quantity_scrapped="0", scrap_reason=None, defect_component_sku="C1"),
            ["defect_component_sku_null_without_scrap_reason"],
        ),
        # Value rules.
        (completed(status="done"), ["status_accepted"]),
        (completed(planned_finish_date="2024-01-01"), ["planned_finish_date_ge_planned_start_date"]),
        (completed(actual_finish_ts="2024-01-02T07:59:59Z"), ["actual_finish_ts_ge_actual_start_ts"]),
        (completed(quantity_planned="0"), ["quantity_planned_range"]),
        (completed(quantity_produced="-1"), ["quantity_produced_range"]),
        (completed(quantity_scrapped="-1", scrap_reason=None), ["quantity_scrapped_range"]),
        (completed(labor_hours="-0.5"), ["labor_hours_range"]),
        (completed(sku=None), ["not_null:sku"]),
        (completed(updated_at=None), ["not_null:updated_at"]),
    ],
)
def test_work_order_rules(row, expected):
    assert broken(WORK_ORDERS, [row]) == [expected]


def test_a_quarantined_work_order_says_why_with_its_values():
    evaluated = rules.evaluate(
        batch(WORK_ORDERS, [completed(actual_finish_ts=None), completed(work_order_id="WO2")]), WORK_ORDERS, NOW
    )
    good, bad = rules.split(evaluated, WORK_ORDERS, NOW)
    assert good.get_column("work_order_id").to_list() == ["WO2"]
    assert bad.get_column("_reason").to_list() == [
        "actual_finish_ts_required_when_completed: actual_finish_ts is required when completed "
        "(got <null> with status completed)"
    ]


# --- masters: work centers and the bill of materials --------------------------------------------------------


def test_work_center_capacity_must_be_positive():
    center = {"work_center_name": "Line", "warehouse_id": "W1"}
    rows = [
        center | {"work_center_id": f"WC{i}", "capacity_hours_per_day": h}
        for i, h in enumerate(("16", "0.5", "0", "-8"))
    ]
    assert broken(WORK_CENTERS, rows) == [[], [], ["capacity_hours_per_day_range"], ["capacity_hours_per_day_range"]]


def test_bill_of_materials_row_rules():
    rows = [
        bom("FG1", "C1"),
        bom("FG1", "C2", scrap="0"),
        bom("FG1", "C3", scrap="0.9999"),
        bom("FG1", "C4", scrap="1"),
        bom("FG1", "C5", scrap="-0.01"),
        bom("FG1", "C6", quantity="0"),
        bom("FG2", "FG2"),  # a self-loop is the <> rule, not (also) a cycle
    ]
    assert broken(BOM, rows) == [
        [],
        [],
        [],
        ["scrap_allowance_range"],
        ["scrap_allowance_range"],
        ["quantity_per_range"],
        ["component_sku_ne_parent_sku"],
    ]


# --- the cycle rule -----------------------------------------------------------------------------------------


def edges(*pairs: str) -> pl.DataFrame:
    """Edges written "A>B" (A has component B)."""
    return pl.DataFrame([p.split(">") for p in pairs], schema=["parent_sku", "component_sku"], orient="row")


def test_cycles_are_named_from_the_rows_parent_and_a_diamond_is_none():
    graph = edges("A>B", "B>A", "P>Q", "Q>R", "R>P", "X>Y", "X>Z", "Y>W", "Z>W", "W>LEAF", "A>LEAF")
    cycles = cycles_through(graph, graph, "parent_sku", "component_sku").to_list()
    assert cycles == [
        "A -> B -> A",
        "B -> A -> B",
        "P -> Q -> R -> P",
        "Q -> R -> P -> Q",
        "R -> P -> Q -> R",
        None,  # X -> Y -> W and X -> Z -> W meet again, but nothing leads back to X
        None,
        None,
        None,
        None,
        None,
    ]
    components = strongly_connected([("A", "B"), ("B", "A"), ("X", "Y")])
    assert components["A"] == components["B"] and len({components["A"], components["X"], components["Y"]}) == 3


def test_a_cycle_is_found_in_a_bill_deeper_than_the_recursion_limit():
    # A chain far deeper than Python's recursion limit, closed at its end: the search is iterative.
    chain = [f"S{i}>S{i + 1}" for i in range(3000)]
    graph = edges(*chain, "S3000>S0")
    cycles = cycles_through(edges("S3000>S0", "S0>S1"), graph, "parent_sku", "component_sku").to_list()
    assert cycles[0].startswith("S3000 -> S0 -> S1 -> ") and cycles[0].endswith(" -> S2999 -> S3000")
    assert cycles[0].count("->") == 3001
    assert cycles_through(edges("S0>S1"), edges(*chain), "parent_sku", "component_sku").to_list() == [None]


def test_every_row_of_a_batch_on_a_cycle_is_held_back_and_the_rest_loads():
    rows = [bom("A", "B"), bom("B", "C"), bom("C", "A"), bom("A", "D"), bom("D", "E"), bom("B", "D")]
    got = broken(BOM, rows)
    assert got == [["bom_cycle"], ["bom_cycle"], ["bom_cycle"], [], [], []]
    _, bad = rules.split(rules.evaluate(batch(BOM, rows), BOM, NOW), BOM, NOW)
    assert bad.get_column("_reason").to_list()[0] == (
        "bom_cycle: a sku must not be, through its components, its own component (got A -> B -> C -> A)"
    )


def test_a_row_that_breaks_its_own_rule_closes_no_cycle():
    # B -> A has quantity_per 0: it does not load, so A -> B is on no cycle.
    assert broken(BOM, [bom("A", "B"), bom("B", "A", quantity="0")]) == [[], ["quantity_per_range"]]


def test_a_new_row_closing_a_cycle_with_loaded_rows_is_held_back_alone():
    loaded = {BOM.name: edges("A>B", "B>C")}
    assert broken(BOM, [bom("C", "A"), bom("C", "D")], loaded) == [["bom_cycle"], []]


# --- loading a landing folder -------------------------------------------------------------------------------


def write_csv(landing: Path, feed, name: str, rows: list[dict]) -> None:
    folder = landing / feed.name
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        [{c: r.get(c) for c in feed.column_names} for r in rows], schema=dict.fromkeys(feed.column_names, pl.String)
    ).write_csv(folder / name)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_a_manufacturers_landing_loads_good_rows_and_quarantines_each_bad_one_with_its_reason(con, tmp_path):
    center = {
        "work_center_id": "WC1",
        "work_center_name": "Line 1",
        "warehouse_id": "W1",
        "capacity_hours_per_day": "16",
    }
    write_csv(
        tmp_path, WORK_CENTERS, "wc.csv", [center, center | {"work_center_id": "WC2", "capacity_hours_per_day": "0"}]
    )
    write_csv(tmp_path, BOM, "bom_1.csv", [bom("FG1", "C1"), bom("FG1", "C2", scrap="0.05"), bom("C2", "C3")])
    write_csv(
        tmp_path,
        WORK_ORDERS,
        "wo.csv",
        [
            completed(),
            planned(work_order_id="WO2"),
            completed(work_order_id="WO3", actual_finish_ts=None),
            completed(work_order_id="WO4", quantity_scrapped="0"),
        ],
    )
    results = {f.name: ingest_feed(con, f, tmp_path, "L1", NOW) for f in MAKE}
    # A later delivery closes a cycle with the loaded rows (C3 -> FG1) and sends a row with its own fault.
    write_csv(tmp_path, BOM, "bom_2.csv", [bom("C3", "FG1"), bom("FG1", "FG1"), bom("FG2", "C1", quantity="1.5")])
    later = ingest_feed(con, BOM, tmp_path, "L2", NOW)
    per_file = {
        o.file: (o.rows_read, o.rows_loaded, o.rows_quarantined) for r in [*results.values(), later] for o in r.files
    }
    assert per_file == {
        "work_centers/wc.csv": (2, 1, 1),
        "bill_of_materials/bom_1.csv": (3, 3, 0),
        "bill_of_materials/bom_2.csv": (3, 1, 2),
        "work_orders/wo.csv": (4, 2, 2),
    }
    assert later.quarantine_by_rule == {"bom_cycle": 1, "component_sku_ne_parent_sku": 1}
    reasons = con.sql(
        "select _source_file, _row_number, _reason from raw.bill_of_materials_quarantine order by 2"
    ).fetchall()
    assert reasons == [
        (
            "bill_of_materials/bom_2.csv",
            1,
            "bill_of_materials/bom_2.csv row 1: bom_cycle: a sku must not be, through its components, its own "
            "component (got C3 -> FG1 -> C2 -> C3)",
        ),
        (
            "bill_of_materials/bom_2.csv",
            2,
            "bill_of_materials/bom_2.csv row 2: component_sku_ne_parent_sku: component_sku must differ from "
            "parent_sku (got FG1 vs FG1)",
        ),
    ]
    assert con.sql(
        "select parent_sku, component_sku, quantity_per, scrap_allowance from raw.bill_of_materials order by all"
    ).fetchall() == [
        ("C2", "C3", Decimal("2"), None),
        ("FG1", "C1", Decimal("2"), None),
        ("FG1", "C2", Decimal("2"), Decimal("0.05")),
        ("FG2", "C1", Decimal("1.5"), None),
    ]
    assert con.sql("select _rule from raw.work_orders_quarantine order by _row_number").fetchall() == [
        ("actual_finish_ts_required_when_completed",),
        ("scrap_reason_null_without_scrap",),
    ]
    assert con.sql("select work_order_id, actual_finish_ts from raw.work_orders order by 1").fetchall() == [
        ("WO1", datetime(2024, 1, 3, 16, 0)),
        ("WO2", None),
    ]
    assert con.sql("select _rule from raw.work_centers_quarantine").fetchall() == [("capacity_hours_per_day_range",)]


def test_a_work_order_resent_as_it_progresses_keeps_every_version(con, tmp_path):
    write_csv(tmp_path, WORK_ORDERS, "wo_1.csv", [planned(updated_at="2024-01-01T09:00:00Z")])
    write_csv(tmp_path, WORK_ORDERS, "wo_2.csv", [completed()])
    ingest_feed(con, WORK_ORDERS, tmp_path, "L1", NOW)
    assert con.sql("select status from raw.work_orders order by updated_at").fetchall() == [
        ("planned",),
        ("completed",),
    ]


# --- absence: a trading business --------------------------------------------------------------------------


def test_a_landing_without_the_make_feeds_loads_nothing_and_says_nothing_about_them(con, tmp_path):
    (tmp_path / "orders").mkdir()
    for feed in MAKE:
        assert feed.optional
        result = ingest_feed(con, feed, tmp_path, "L1", NOW)
        assert (result.files, result.quarantine_by_rule, result.first_errors) == ([], {}, [])
        # Their tables exist, empty, so that the models reading them build.
        for table in (feed.name, f"{feed.name}_quarantine"):
            assert con.sql(f"select count(*) from raw.{table}").fetchall() == [(0,)]
    assert con.sql("select count(*) from raw.ingest_log").fetchall() == [(0,)]
    assert not any(f.optional for f in FEEDS.values() if f not in MAKE)


def test_an_optional_feed_never_sent_passes_its_checks_and_freshness(tmp_path):
    from pipelines import checks
    from pipelines.feeds.raw_tables import create_raw_tables
    from pipelines.resources import WarehouseResource

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as c:
        create_raw_tables(c)
    for feed in MAKE:
        check = next(c for c in checks.contract_checks if next(iter(c.check_keys)).asset_key.path[-1] == feed.name)
        result = check(warehouse=WarehouseResource(path=str(warehouse)))
        assert result.passed, feed.name
        assert result.description == f"no {feed.name} file has arrived: an optional feed, checked once one does"
    assert checks.judge_freshness(WORK_ORDERS, None, NOW) == (
        True,
        "no work_orders file has arrived: an optional feed, checked once one does",
    )
    # Once a file has arrived, the cadence holds like any feed's; a required feed never sent warns.
    assert checks.judge_freshness(WORK_ORDERS, NOW - timedelta(hours=30), NOW)[0] is False
    assert checks.judge_freshness(FEEDS["orders"], None, NOW) == (False, "no orders file has arrived yet")


def test_the_make_suites_pass_on_good_rows_and_catch_what_the_loader_would_have_quarantined():
    from pipelines.feeds.expectations import expectations_for, validate

    rows = [
        completed(),
        planned(work_order_id="WO2"),
        completed(work_order_id="WO3", quantity_scrapped="0"),  # a reason without scrap
        completed(work_order_id="WO4", scrap_reason=None),  # scrap without a reason
    ]
    typed = rules.evaluate(batch(WORK_ORDERS, rows), WORK_ORDERS, NOW).select(
        *[pl.col(rules.typed(c)).alias(c) for c in WORK_ORDERS.column_names], "_source_file"
    )
    failed = {o.rule: o.unexpected_count for o in validate(typed, WORK_ORDERS, NOW, "make") if not o.success}
    assert failed == {"scrap_reason_null_without_scrap": 1, "scrap_reason_required_with_scrap": 1}

    boms = [bom("FG1", "C1", scrap="0.5"), bom("FG1", "FG1"), bom("FG2", "C1", scrap="1")]
    typed = rules.evaluate(batch(BOM, boms), BOM, NOW).select(
        *[pl.col(rules.typed(c)).alias(c) for c in BOM.column_names], "_source_file"
    )
    failed = {o.rule: o.unexpected_count for o in validate(typed, BOM, NOW, "bom") if not o.success}
    assert failed == {"component_sku_ne_parent_sku": 1, "scrap_allowance_range": 1}
    # The cycle rule needs the loaded bill of materials: the loader judges it, GX does not pretend to.
    assert "bom_cycle" not in {name for name, _ in expectations_for(BOM, NOW)}
    # An empty load (nothing sent) fails no expectation.
    empty = typed.clear()
    assert all(o.success for o in validate(empty, BOM, NOW, "empty"))


def test_the_run_summary_has_no_line_for_an_optional_feed_never_sent():
    from pipelines.runner import RunSummary

    quiet = dict.fromkeys(("files_new", "files_rejected", "files_skipped", "rows_read", "rows_loaded"), 0)
    summary = RunSummary(
        success=True,
        run_id="r1",
        materialized={
            "raw/orders": quiet | {"files_new": 1, "rows_read": 3, "rows_loaded": 3},
            "raw/inventory": quiet,  # a required feed without a new file keeps its line
            "raw/work_orders": quiet,
            "raw/bill_of_materials": quiet | {"files_skipped": 1},  # something in its folder: shown
        },
    )
    feeds = [line.split()[0] for line in summary.render().splitlines()[2:] if line.split()[0] in FEEDS]
    assert feeds == ["orders", "inventory", "bill_of_materials"]


def test_a_new_version_of_a_loaded_edge_is_not_blamed_for_the_cycle_a_new_edge_closes():
    loaded = {BOM.name: edges("A>B")}
    # A -> B again (a new quantity) and B -> A, new: only the new edge makes the loop.
    assert broken(BOM, [bom("A", "B", quantity="3"), bom("B", "A")], loaded) == [[], ["bom_cycle"]]


STAGING = ("stg_work_centers", "stg_bill_of_materials", "stg_work_orders__versions", "stg_work_orders")


@pytest.mark.slow
def test_the_make_staging_models_build_empty_and_then_keep_current_versions(tmp_path):
    from pipelines.feeds.raw_tables import create_raw_tables
    from tests.dbt.test_dbt_project import dbt

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as c:
        create_raw_tables(c)
    # A trader: nothing landed, every model builds (empty) and every test passes.
    dbt(warehouse, tmp_path, "build", "--select", *STAGING)
    with duckdb.connect(str(warehouse)) as c:
        assert [c.sql(f"select count(*) from staging.{m}").fetchall()[0][0] for m in STAGING] == [0, 0, 0, 0]

    landing = tmp_path / "landing"
    center = {"work_center_id": "WC1", "work_center_name": "Line 1", "warehouse_id": "W1"}
    write_csv(landing, WORK_CENTERS, "wc_1.csv", [center | {"capacity_hours_per_day": "8"}])
    write_csv(
        landing, WORK_CENTERS, "wc_2.csv", [center | {"capacity_hours_per_day": "16"}]
    )  # no updated_at: later wins
    write_csv(landing, BOM, "bom_1.csv", [bom("FG1", "C1"), bom("FG1", "C2")])
    write_csv(landing, BOM, "bom_2.csv", [bom("FG1", "C1", quantity="3")])
    write_csv(
        landing, WORK_ORDERS, "wo_1.csv", [planned(updated_at="2024-01-01T09:00:00Z"), planned(work_order_id="WO2")]
    )
    write_csv(landing, WORK_ORDERS, "wo_2.csv", [completed()])
    with duckdb.connect(str(warehouse)) as c:
        for feed in MAKE:
            ingest_feed(c, feed, landing, "L1", NOW)
    dbt(warehouse, tmp_path, "build", "--select", *STAGING)
    with duckdb.connect(str(warehouse)) as c:
        assert c.sql("select work_center_id, capacity_hours_per_day from staging.stg_work_centers").fetchall() == [
            ("WC1", Decimal("16"))
        ]
        assert c.sql("select component_sku, quantity_per from staging.stg_bill_of_materials order by 1").fetchall() == [
            ("C1", Decimal("3")),
            ("C2", Decimal("2")),
        ]
        assert c.sql("select count(*) from staging.stg_work_orders__versions").fetchall() == [(3,)]
        assert c.sql("select work_order_id, status from staging.stg_work_orders order by 1").fetchall() == [
            ("WO1", "completed"),
            ("WO2", "planned"),
        ]


def test_check_finds_a_cycle_within_the_files_before_any_load(tmp_path):
    from pipelines.feeds.check import check_path

    write_csv(tmp_path / "landing", BOM, "bom.csv", [bom("A", "B"), bom("B", "A"), bom("A", "C")])
    report = check_path(tmp_path / "landing", now=NOW)
    (file,) = report.feeds[0].files
    assert (file.status, file.rows_loaded, file.rows_quarantined) == ("quarantine", 1, 2)
    text = report.render()
    assert "(got A -> B -> A)" in text and "(got B -> A -> B)" in text
    assert "cycles checked within these files only: no warehouse yet" in text


def test_the_contract_check_of_a_make_feed_with_rows_runs_its_suite(tmp_path):
    from pipelines import checks
    from pipelines.feeds.expectations import expectations_for
    from pipelines.resources import WarehouseResource

    write_csv(tmp_path / "landing", WORK_ORDERS, "wo.csv", [completed(), planned(work_order_id="WO2")])
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as c:
        ingest_feed(c, WORK_ORDERS, tmp_path / "landing", "L1", NOW)
    check = next(c for c in checks.contract_checks if next(iter(c.check_keys)).asset_key.path[-1] == "work_orders")
    result = check(warehouse=WarehouseResource(path=str(warehouse)))
    assert (result.passed, result.description) == (True, "all loaded rows meet the contract")
    assert result.metadata["rows_validated"].value == 2
    suite = {name for name, _ in expectations_for(WORK_ORDERS, NOW)}
    assert result.metadata["expectations"].value == len(suite) > 20
    assert result.metadata["expectations_failed"].value == 0
