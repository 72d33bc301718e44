"""The demo generator's manufacturer: the Make feeds load under the contract, and production is one world
with the trader's feeds (components bought and stocked, made skus filled by work orders, late orders on
overloaded centers, component-defect scrap on the bad supplier's parts). `make=False` is the trader alone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.demo import GenerateSummary, generate
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.ingest import ingest_feed
from tests.feeds.test_generator import current, read_feed, typed

MAKE_FEEDS = ("work_centers", "bill_of_materials", "work_orders")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    """A year of a world with two manufacturing sites (scale 0.05: four warehouses), with faults."""
    out = tmp_path_factory.mktemp("make")
    return out, generate(out, scale=0.05, seed=7, days=365, faults=True)


@pytest.fixture(scope="module")
def feeds(world: tuple[Path, GenerateSummary]) -> dict[str, pl.DataFrame]:
    root, _ = world
    return {name: typed(FEEDS[name], read_feed(root, name)) for name in FEEDS}


@pytest.fixture(scope="module")
def orders_now(feeds: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every work order at its latest version."""
    return current(feeds["work_orders"], FEEDS["work_orders"])


def test_without_make_the_trader_is_as_before(tmp_path: Path) -> None:
    """Recorded from the generator before the manufacturer existed (scale 0.01, seed 7, 60 days)."""
    summary = generate(tmp_path, scale=0.01, seed=7, days=60, make=False)
    assert summary.rows_written == {
        "products": 6,
        "warehouses": 2,
        "suppliers": 3,
        "orders": 1206,
        "inventory": 720,
        "purchase_orders": 39,
        "returns": 72,
    }
    assert not any((tmp_path / name).exists() for name in MAKE_FEEDS)
    assert not (read_feed(tmp_path, "products")["category"] == "Components").any()


def test_scm_generate_makes_by_default_and_no_make_is_the_trader(tmp_path: Path) -> None:
    for flags, made in (([], True), (["--no-make"], False)):
        out = tmp_path / str(made)
        args = ["generate", "--scale", "0.01", "--days", "20", "--out", str(out), *flags]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert all((out / name).is_dir() == made for name in MAKE_FEEDS), flags
        assert ("work_orders" in result.output) == made
        assert any((out / "orders").iterdir())


def test_everything_loads_and_only_the_fault_rows_are_quarantined(world: tuple[Path, GenerateSummary]) -> None:
    """Through the real loader, feed after feed: clean files load whole; each fault file holds back exactly its
    manifest's rows, for their rules; the whole-file rejects are rejected."""
    root, _ = world
    manifest = json.loads((root / "faults_manifest.json").read_text())
    now = datetime.now(UTC).replace(tzinfo=None)
    con = duckdb.connect()
    try:
        for name, feed in FEEDS.items():
            result = ingest_feed(con, feed, root, "L1", now)
            mine = [e for e in manifest if e["feed"] == name]
            rejects = {e["file"] for e in mine if e["expect"] == "reject"}
            held: dict[str, int] = {}
            for e in mine:
                if e["expect"] == "quarantine":
                    held[e["file"]] = held.get(e["file"], 0) + 1
            for f in result.files:
                if f.file in rejects:
                    assert f.status == "rejected", (name, f.file)
                    continue
                assert f.status == "loaded", (name, f.file, f.message)
                assert f.rows_quarantined == held.get(f.file, 0), (name, f.file, result.first_errors)
                assert f.rows_read == f.rows_loaded + f.rows_quarantined
            meant = {e["rule"] for e in mine if e["expect"] == "quarantine"}
            also = {r for e in mine for r in e["also_breaks"]}
            # Each held-back row counts once, under one of the rules it breaks.
            assert set(result.quarantine_by_rule) <= meant | also, name
            assert sum(result.quarantine_by_rule.values()) == sum(held.values()), name
    finally:
        con.close()


def test_faults_break_every_new_rule(world: tuple[Path, GenerateSummary], feeds) -> None:
    root, _ = world
    manifest = json.loads((root / "faults_manifest.json").read_text())
    for name in MAKE_FEEDS:
        rules = {e["rule"] for e in manifest if e["feed"] == name and e["expect"] == "quarantine"}
        assert {r.name for r in FEEDS[name].all_rules()} <= rules, name
    wanted = {
        "bill_of_materials": {"bom_cycle", "component_sku_ne_parent_sku", "quantity_per_range"},
        "work_orders": {
            "actual_finish_ts_required_when_completed",
            "scrap_reason_null_without_scrap",
            "planned_finish_date_ge_planned_start_date",
            "quantity_planned_range",
        },
    }
    for name, rules in wanted.items():
        assert rules <= {e["rule"] for e in manifest if e["feed"] == name}
    # The cycle: two purchased parts made each other's component (a -> b -> a), parts that have no components
    # in the clean bill of materials, so no clean row lies on the cycle.
    cycle = [e for e in manifest if e["rule"] == "bom_cycle"]
    text = pl.read_csv(root / cycle[0]["file"], infer_schema=False)
    edges = {(text["parent_sku"][e["row"] - 1], text["component_sku"][e["row"] - 1]) for e in cycle}
    ((a, b),) = {tuple(sorted(e)) for e in edges}
    assert edges == {(a, b), (b, a)}
    assert not {a, b} & set(feeds["bill_of_materials"]["parent_sku"])


def test_made_skus_have_boms_and_components_are_bought_stocked_and_never_sold(feeds, orders_now) -> None:
    bom, products = feeds["bill_of_materials"], current(feeds["products"], FEEDS["products"])
    parents, children = set(bom["parent_sku"]), set(bom["component_sku"])
    assert set(orders_now["sku"]) == parents  # every made sku is made, and only made skus are
    # 2-6 components per finished good; a few sub-assemblies that are made from components themselves.
    per_parent = bom.group_by("parent_sku").len()
    assert per_parent["len"].min() >= 2 and per_parent["len"].max() <= 6
    sub_assemblies = parents & children
    assert sub_assemblies
    # Components are shared between products.
    assert bom.group_by("component_sku").len()["len"].max() >= 3
    assert bom["scrap_allowance"].is_not_null().any() and bom["scrap_allowance"].is_null().any()
    bought = children - parents
    kinds = products.filter(pl.col("sku").is_in(list(bought | sub_assemblies)))
    assert set(kinds["category"]) == {"Components"} and kinds.height == len(bought | sub_assemblies)
    # Made skus have no supplier and are never bought; components are bought and stocked, never sold.
    made = products.filter(pl.col("sku").is_in(list(parents)))
    assert made["primary_supplier_id"].is_null().all()
    po_skus = set(feeds["purchase_orders"]["sku"])
    assert not parents & po_skus
    assert bought <= po_skus
    stocked = feeds["inventory"].filter(pl.col("sku").is_in(list(bought)))
    assert set(stocked["sku"]) == bought
    assert not bought & set(feeds["orders"]["sku"])
    # Made skus are sold, and stocked where they are made: the sites of the work centers.
    sold = set(feeds["orders"].filter(pl.col("sku").is_in(list(parents)))["warehouse_id"])
    assert sold == set(feeds["work_centers"]["warehouse_id"]) == set(orders_now["warehouse_id"])
    assert set(stocked["warehouse_id"]) == sold


def test_work_orders_are_resent_through_their_lifecycle(feeds, orders_now) -> None:
    wo = feeds["work_orders"].sort(["_file", "updated_at"])
    hist = wo.group_by("work_order_id", maintain_order=True).agg(
        statuses=pl.col("status").str.join(">"), upd=pl.col("updated_at")
    )
    full = "planned>released>in_progress>completed"
    allowed = {"planned", "planned>cancelled", "planned>released", "planned>released>in_progress", full}
    assert set(hist["statuses"]) <= allowed
    assert hist.select(pl.col("upd").list.eval(pl.element().diff().drop_nulls() > 0).list.all()).to_series().all()
    shares = hist["statuses"].value_counts(normalize=True)
    share = dict(zip(shares["statuses"], shares["proportion"], strict=True))
    assert share[full] > 0.9 and 0.005 < share["planned>cancelled"] < 0.06
    done = orders_now.filter(pl.col("status") == "completed")
    assert (done["quantity_produced"] + done["quantity_scrapped"] == done["quantity_planned"]).all()
    assert (done["labor_hours"] > 0).all() and (done["actual_finish_ts"] > done["actual_start_ts"]).all()
    scrapped = done.filter(pl.col("quantity_scrapped") > 0)
    assert scrapped["scrap_reason"].is_not_null().all()
    assert set(scrapped["scrap_reason"]) >= {"component_defect", "machine", "operator", "setup"}
    assert 0.01 < done["quantity_scrapped"].sum() / done["quantity_planned"].sum() < 0.12


def test_stock_moves_by_shipments_receipts_output_and_consumption(feeds, orders_now) -> None:
    """on_hand today = yesterday's - shipped + put away from POs + good units of work orders completed today
    - components they consumed (quantity_per x (produced + scrapped)), per warehouse and sku."""
    inv, keys = feeds["inventory"], ["snapshot_date", "warehouse_id", "sku"]
    done = orders_now.filter(pl.col("status") == "completed").with_columns(
        snapshot_date=pl.col("actual_finish_ts").dt.date()
    )
    flows = [
        feeds["orders"]
        .filter(pl.col("status") == "shipped")
        .group_by(snapshot_date=pl.col("shipped_ts").dt.date(), warehouse_id="warehouse_id", sku="sku")
        .agg(change=-pl.col("quantity_shipped").sum()),
        feeds["purchase_orders"]
        .filter(pl.col("status") == "received")
        .group_by(snapshot_date="received_date", warehouse_id="warehouse_id", sku="sku")
        .agg(change=(pl.col("quantity_received") - pl.col("quantity_rejected")).sum()),
        done.group_by(keys).agg(change=pl.col("quantity_produced").sum()),
        done.join(feeds["bill_of_materials"], left_on="sku", right_on="parent_sku")
        .group_by("snapshot_date", "warehouse_id", sku="component_sku")
        .agg(change=-(pl.col("quantity_per") * (pl.col("quantity_produced") + pl.col("quantity_scrapped"))).sum()),
    ]
    change = pl.concat([f.select(*keys, pl.col("change").cast(pl.Float64)) for f in flows]).group_by(keys).sum()
    steps = (
        inv.sort(keys[1:] + keys[:1])
        .with_columns(
            prev=pl.col("on_hand_qty").shift(1).over(keys[1:]), prev_day=pl.col("snapshot_date").shift(1).over(keys[1:])
        )
        .filter(pl.col("prev_day") == pl.col("snapshot_date") - pl.duration(days=1))
        .join(change, on=keys, how="left")
        .with_columns(pl.col("change").fill_null(0))
    )
    bad = steps.filter(pl.col("on_hand_qty") != pl.col("prev") + pl.col("change"))
    assert bad.is_empty(), bad.head()
    components = set(feeds["bill_of_materials"]["component_sku"])
    used = steps.filter(pl.col("sku").is_in(list(components)) & (pl.col("change") < 0))
    assert used.height > 100
    # Components allocated to released work orders are reserved.
    reserved = inv.filter(pl.col("sku").is_in(list(components)))["reserved_qty"]
    assert (reserved > 0).mean() > 0.05


def test_overloaded_centers_finish_late(feeds, orders_now) -> None:
    centers = feeds["work_centers"]
    released = (
        feeds["work_orders"]
        .filter(pl.col("status") == "released")
        .select("work_order_id", released_at=pl.col("updated_at"))
    )
    done = (
        orders_now.filter(pl.col("status") == "completed")
        .join(released, on="work_order_id")
        .with_columns(late=pl.col("actual_finish_ts").dt.date() > pl.col("planned_finish_date"))
    )
    workdays = done.select(pl.col("actual_finish_ts").dt.date().n_unique()).item()
    per_center = (
        done.group_by("work_center_id")
        .agg(hours=pl.col("labor_hours").sum(), late=pl.col("late").mean())
        .join(centers, on="work_center_id")
        .with_columns(utilisation=pl.col("hours") / (pl.col("capacity_hours_per_day") * workdays))
        .sort("utilisation")
    )
    assert per_center.height == centers.height
    assert 0.5 < 1 - done["late"].mean() < 0.95  # schedule adherence
    # The busiest center is late far more often than the quietest.
    assert per_center["late"][-1] > per_center["late"][0] + 0.25, per_center
    # A week in which a center is released more hours than it has runs its orders late; a light week does not.
    weeks = (
        done.join(centers, on="work_center_id")
        .group_by("work_center_id", pl.col("released_at").dt.truncate("1w"))
        .agg(load=pl.col("labor_hours").sum() / (5 * pl.col("capacity_hours_per_day").first()), late=pl.col("late"))
        .with_columns(
            band=pl.when(pl.col("load") >= 1)
            .then(pl.lit("overloaded"))
            .when(pl.col("load") >= 0.5)
            .then(pl.lit("busy"))
        )
        .with_columns(pl.col("band").fill_null("light"))
        .explode("late")
        .group_by("band")
        .agg(pl.col("late").mean(), weeks=pl.col("work_center_id").len())
    )
    late = dict(weeks.select("band", "late").iter_rows())
    assert weeks.filter(pl.col("band") == "overloaded")["weeks"].item() >= 20
    assert late["overloaded"] > late["busy"] > late["light"] and late["overloaded"] > late["light"] + 0.3, weeks
    # Late orders start late: they waited for their center or their components, not only ran long.
    started = done.filter("late")
    assert (started["actual_start_ts"].dt.date() > started["planned_start_date"]).mean() > 0.7


def test_component_defect_scrap_follows_the_supplier_with_many_rejects(feeds, orders_now) -> None:
    po = feeds["purchase_orders"].filter(pl.col("status") == "received")
    components = feeds["bill_of_materials"].select("component_sku").unique()
    supplier_of = po.select("sku", "supplier_id").unique().rename({"sku": "component_sku"})
    rejects = (
        po.join(components, left_on="sku", right_on="component_sku")
        .group_by("supplier_id")
        .agg(rate=pl.col("quantity_rejected").sum() / pl.col("quantity_received").sum())
        .sort("rate")
    )
    worst = rejects["supplier_id"][-1]
    done = orders_now.filter(pl.col("status") == "completed")
    uses = done.join(feeds["bill_of_materials"], left_on="sku", right_on="parent_sku").join(
        supplier_of, on="component_sku"
    )
    failed = done.filter(pl.col("scrap_reason") == "component_defect").join(
        supplier_of.rename({"component_sku": "defect_component_sku"}), on="defect_component_sku"
    )
    assert failed.height == done.filter(pl.col("scrap_reason") == "component_defect").height > 10
    # Per use of a supplier's component in a work order, how often that component is named as the failure.
    named = failed.group_by("supplier_id").len().rename({"len": "failures"})
    per_use = (
        uses.group_by("supplier_id")
        .len()
        .join(named, on="supplier_id", how="left")
        .with_columns(rate=pl.col("failures").fill_null(0) / pl.col("len"))
    )
    mine = per_use.filter(pl.col("supplier_id") == worst)["rate"].item()
    others = per_use.filter(pl.col("supplier_id") != worst)
    assert mine > 2 * others["failures"].fill_null(0).sum() / others["len"].sum()
    assert failed["supplier_id"].value_counts().sort("count")["supplier_id"][-1] == worst


def test_same_seed_same_make_feeds_and_increments_continue_them(tmp_path: Path) -> None:
    a, b, tail = tmp_path / "a", tmp_path / "b", tmp_path / "tail"
    generate(a, scale=0.01, seed=3, days=60)
    generate(b, scale=0.01, seed=3, days=60)
    generate(tail, scale=0.01, seed=3, start=date(2024, 2, 20), days=10)  # days 51..60 of a
    for name in MAKE_FEEDS:
        files = sorted(p.name for p in (a / name).iterdir())
        assert files and files == sorted(p.name for p in (b / name).iterdir())
        assert all((a / name / f).read_bytes() == (b / name / f).read_bytes() for f in files)
    for p in (tail / "work_orders").iterdir():
        assert p.read_bytes() == (a / "work_orders" / p.name).read_bytes(), p.name
    assert len(list((tail / "work_orders").iterdir())) >= 3
