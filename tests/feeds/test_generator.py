"""The demo-data generator: layout, contract conformance, determinism, increments, realism, faults.

Rules are evaluated here with plain polars, independently of the generator's own checker, from the
contract's definitions (nulls pass a rule; `not_null:` = blank; `type:` = a non-blank value that
does not parse).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.demo import GenerateSummary, generate
from pipelines.demo.config import World
from pipelines.demo.simulation import simulate
from pipelines.demo.tables import BUILDERS, FILE_DAY
from pipelines.demo.writer import month_windows
from pipelines.feeds.contract import FEEDS, FILE_REJECT_REASONS, FUTURE_TOLERANCE_DAYS, MIN_DATE, Feed, Rule

SCALE = 0.01
DAILY = re.compile(r"^(?P<feed>[a-z_]+)_(?P<day>\d{4}-\d{2}-\d{2})\.(csv|parquet)$")


# --- reading and checking feeds, independently of the generator ------------------------------------


def daily_files(root: Path, feed: str) -> list[Path]:
    return sorted(p for p in (root / feed).iterdir() if DAILY.match(p.name))


def read_text(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).select(pl.all().cast(pl.String))
    return pl.read_csv(path, infer_schema=False)


def read_feed(root: Path, feed: str) -> pl.DataFrame:
    """All clean daily files of a feed as text, with the file name and the file's date."""
    frames = [
        read_text(p).with_columns(_file=pl.lit(p.name), _file_day=pl.lit(DAILY.match(p.name)["day"]))
        for p in daily_files(root, feed)
    ]
    return pl.concat(frames)


def typed(feed: Feed, text: pl.DataFrame) -> pl.DataFrame:
    def parse(name: str, dtype: str) -> pl.Expr:
        c = pl.col(name)
        return {
            "int": c.cast(pl.Int64, strict=False),
            "dec": c.cast(pl.Float64, strict=False),
            "date": c.str.to_date("%Y-%m-%d", strict=False),
            "ts": c.str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", time_zone="UTC", strict=False),
        }.get(dtype, c)

    return text.with_columns([parse(c.name, c.dtype).alias(c.name) for c in feed.columns])


def applies(rule: Rule) -> pl.Expr:
    if rule.when is None:
        return pl.lit(True)
    c = pl.col(rule.when.column)
    if rule.when.positive is not None:
        above = (c > 0).fill_null(False)
        return above if rule.when.positive else ~above
    return c.is_null() if not rule.when.values else c.is_in(list(rule.when.values)).fill_null(False)


def on_cycle(rule: Rule, t: pl.DataFrame, refs: dict[str, pl.DataFrame] | None) -> pl.Series:
    """An edge parent -> component of the file lies on a cycle: its component reaches its parent, through the
    file's edges and the loaded ones. A self-loop is the `pair_ne` rule's: a row breaking its own rules is
    no edge of the graph."""
    (feed,) = [f for f in FEEDS.values() if rule in f.rules]
    edges = t.select(rule.other, rule.column).rows()
    if refs is not None and feed.name in refs:
        edges += refs[feed.name].select(rule.other, rule.column).rows()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if a is not None and b is not None and a != b:
            graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    rows = t.select(rule.other, rule.column).rows()
    return pl.Series([a is not None and b is not None and a != b and reaches(b, a) for a, b in rows])


def current(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """The current version of each key of a typed feed read with `read_feed` (files in name order)."""
    ordered = frame.with_row_index("_i").sort([feed.version_column, "_file", "_i"], nulls_last=False)
    return ordered.group_by(list(feed.key)).agg(pl.all().last()).drop("_i")


def referenced_breaks(rule: Rule, t: pl.DataFrame, refs: dict[str, pl.DataFrame]) -> pl.Expr:
    """A cross-feed rule against `refs`: the referenced feed's current rows, and this feed's own current rows
    (every row of the world loaded; a row's own key is not one of its "others")."""
    target = FEEDS[rule.references.feed]
    on = list(rule.references.columns)
    ref = refs[target.name].select(
        *[pl.col(k).alias(c) for k, c in zip(target.key, on, strict=True)], _ref=pl.col(rule.other), _found=True
    )
    j = t.with_row_index("_i").join(ref, on=on, how="left").sort("_i")
    limit = pl.col("_ref").cast(pl.Float64).fill_null(0)
    if rule.factor:
        limit = limit * pl.col(rule.factor).cast(pl.Float64)
    total = pl.col(rule.column).cast(pl.Float64)
    if rule.summed:
        (feed,) = [f for f in FEEDS.values() if rule in f.rules]
        own = refs[feed.name].select(*feed.key, *on, rule.column)
        per_line = own.group_by(on).agg(_line=pl.col(rule.column).sum())
        mine = own.select(*feed.key, *[pl.col(c).alias(f"_own_{c}") for c in [*on, rule.column]])
        j = j.join(per_line, on=on, how="left").join(mine, on=list(feed.key), how="left").sort("_i")
        same = pl.all_horizontal([pl.col(c) == pl.col(f"_own_{c}") for c in on]).fill_null(False)
        others = pl.col("_line").fill_null(0) - pl.when(same).then(pl.col(f"_own_{rule.column}")).otherwise(0)
        total = total + others.cast(pl.Float64)
    breaks = pl.col("_found").fill_null(False) & (total > limit + rule.tolerance + 1e-9).fill_null(False)
    return j.select(breaks).to_series()


def rule_breaks(feed: Feed, rule: Rule, t: pl.DataFrame, refs: dict[str, pl.DataFrame] | None = None) -> pl.Series:
    """True where the row breaks the rule (t is typed)."""
    now = datetime.now(UTC)
    if rule.kind == "at_most_referenced":
        return referenced_breaks(rule, t, refs) if refs is not None else pl.Series([False] * t.height)
    if rule.kind == "between":
        x = pl.col(rule.column)
        low = pl.lit(True) if rule.min is None else (x > rule.min) if rule.strict_min else (x >= rule.min)
        high = pl.lit(True) if rule.max is None else (x < rule.max) if rule.strict_max else (x <= rule.max)
        ok = low & high
        expr = ~ok.fill_null(True) & applies(rule)
    elif rule.kind == "in_set":
        expr = ~pl.col(rule.column).is_in(list(rule.values)).fill_null(True)
    elif rule.kind == "pattern":
        expr = ~pl.col(rule.column).str.contains(rule.regex).fill_null(True)
    elif rule.kind == "pair_ge":
        a, b = pl.col(rule.column), pl.col(rule.other)
        if rule.as_date:
            a = a.dt.date() if feed.column(rule.column).dtype == "ts" else a
            b = b.dt.date() if feed.column(rule.other).dtype == "ts" else b
        expr = ~(a >= b).fill_null(True)
    elif rule.kind == "pair_ne":
        expr = (pl.col(rule.column) == pl.col(rule.other)).fill_null(False)
    elif rule.kind == "acyclic":
        return on_cycle(rule, t, refs)
    elif rule.kind == "null_when":
        expr = applies(rule) & pl.col(rule.column).is_not_null()
    elif rule.kind == "required_when":
        # Blank as sent: a value that does not parse breaks `type:`, not this rule (t keeps the text as `_text_*`).
        expr = applies(rule) & pl.col(f"_text_{rule.column}").is_null()
    elif rule.kind == "not_future":
        limit = now + timedelta(days=FUTURE_TOLERANCE_DAYS)
        bound = limit.date() if feed.column(rule.column).dtype == "date" else limit
        expr = (pl.col(rule.column) > pl.lit(bound)).fill_null(False)
    elif rule.kind == "min_date":
        floor = (
            MIN_DATE if feed.column(rule.column).dtype == "date" else datetime(*MIN_DATE.timetuple()[:3], tzinfo=UTC)
        )
        expr = (pl.col(rule.column) < pl.lit(floor)).fill_null(False)
    elif rule.kind == "unique_key":
        expr = ~pl.struct(rule.column.split(",")).is_first_distinct().over("_file")
    else:
        raise AssertionError(f"unknown rule kind {rule.kind}")
    return t.select(expr).to_series()


def all_breaks(feed: Feed, text: pl.DataFrame, refs: dict[str, pl.DataFrame] | None = None) -> dict[str, pl.Series]:
    """Rule name -> boolean Series over rows (declared rules, not_null:*, type:*); cross-feed rules only with
    `refs` (see `referenced_breaks`)."""
    if "_file" not in text.columns:
        text = text.with_columns(_file=pl.lit("one"))
    as_sent = text.select([pl.col(c).replace("", None).alias(f"_text_{c}") for c in feed.column_names])
    t = pl.concat([typed(feed, text), as_sent], how="horizontal")
    out = {r.name: rule_breaks(feed, r, t, refs) for r in feed.all_rules()}
    for c in feed.columns:
        blank = text[c.name].is_null() | (text[c.name] == "")
        if not c.nullable:
            out[f"not_null:{c.name}"] = blank
        if c.dtype != "str":
            out[f"type:{c.name}"] = ~blank & t[c.name].is_null()
    return out


def rule_columns(rule: Rule) -> set[str]:
    return {rule.column, rule.other, rule.factor, rule.when.column if rule.when else None} - {None}


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("world")
    return out, generate(out, scale=SCALE, seed=7, faults=True)


@pytest.fixture(scope="module")
def texts(world: tuple[Path, GenerateSummary]) -> dict[str, pl.DataFrame]:
    """Every clean daily file, as the text it holds."""
    root, _ = world
    return {name: read_feed(root, name) for name in FEEDS}


@pytest.fixture(scope="module")
def feeds(texts: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: typed(FEEDS[name], text) for name, text in texts.items()}


@pytest.fixture(scope="module")
def refs(feeds: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The current rows of every feed once the world's clean files are loaded (what cross-feed rules read)."""
    return {name: current(frame, FEEDS[name]) for name, frame in feeds.items() if FEEDS[name].version_column}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """A year of a bigger world (60 skus, 4 warehouses): enough volume for statistical checks."""
    out = tmp_path_factory.mktemp("network")
    generate(out, scale=0.06, days=365)
    names = ("orders", "purchase_orders", "returns", "products")
    return {n: typed(FEEDS[n], read_feed(out, n)) for n in names}


# --- layout and contract -------------------------------------------------------------------------------


def test_every_feed_has_daily_files_with_contract_columns(world: tuple[Path, GenerateSummary]) -> None:
    root, summary = world
    for name, feed in FEEDS.items():
        files = daily_files(root, name)
        assert files, name
        days = [DAILY.match(p.name)["day"] for p in files]
        assert days == sorted(days) and len(set(days)) == len(days)
        assert all(date(2024, 1, 1) <= date.fromisoformat(d) <= date(2025, 12, 30) for d in days)
        for p in files:
            assert p.read_text().splitlines()[0] == ",".join(feed.column_names), p
        # The summary counts every file in the folder and the rows of the readable ones.
        assert summary.files_written[name] == len(list((root / name).iterdir()))
    assert len(daily_files(root, "orders")) == 730 and len(daily_files(root, "inventory")) == 730
    # Masters: a full file on the first day, later ones only on days something changed.
    assert daily_files(root, "warehouses")[0].name == "warehouses_2024-01-01.csv"
    assert len(daily_files(root, "products")) > 1


def test_all_generated_rows_pass_every_contract_rule(texts: dict[str, pl.DataFrame], refs) -> None:
    """Clean demo data breaks no rule, cross-feed ones included (a return within what its line shipped, a
    refund within what was paid), judged with the whole world loaded."""
    for name, feed in FEEDS.items():
        text = texts[name]
        assert text.height > 0
        broken = {rule: int(s.sum()) for rule, s in all_breaks(feed, text, refs).items()}
        assert broken == dict.fromkeys(broken, 0), f"{name}: {broken}"
    # The cross-feed rules had something to compare: every return's order line is known.
    returns = typed(FEEDS["returns"], texts["returns"])
    known = returns.join(refs["orders"], on=["order_id", "line_number"], how="semi")
    assert known.height == returns.height > 0


def test_rows_are_in_the_file_of_the_day_they_happened(feeds: dict[str, pl.DataFrame]) -> None:
    for name, feed in FEEDS.items():
        when = pl.col(feed.version_column) if feed.version_column else pl.col("snapshot_date")
        day = feeds[name].select(when.cast(pl.Date).cast(pl.String) == pl.col("_file_day")).to_series()
        assert day.all(), name


def test_summary_counts_rows(world: tuple[Path, GenerateSummary], feeds: dict[str, pl.DataFrame]) -> None:
    root, summary = world
    manifest = json.loads(summary.manifest_path.read_text())
    for name in FEEDS:
        fault_rows = sum(
            read_text(root / f).height
            for f in {e["file"] for e in manifest if e["feed"] == name and e["row"] is not None}
        )
        assert summary.rows_written[name] == feeds[name].height + fault_rows


def test_parquet_files_carry_contract_types(tmp_path: Path) -> None:
    generate(tmp_path, scale=SCALE, days=20, fmt="parquet")
    expected = {"str": pl.String, "int": pl.Int64, "dec": pl.Decimal, "date": pl.Date, "ts": pl.Datetime}
    for name, feed in FEEDS.items():
        for p in daily_files(tmp_path, name):
            schema = pl.read_parquet_schema(p)
            assert list(schema) == list(feed.column_names)
            assert all(
                isinstance(schema[c.name], expected[c.dtype]) or schema[c.name] == expected[c.dtype]
                for c in feed.columns
            ), (p, schema)


# --- determinism and increments ------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        generate(out, scale=SCALE, seed=seed, days=30, faults=True)
    files_a = all_bytes(a)
    assert files_a == all_bytes(b)
    files_c = all_bytes(c)
    assert files_a["orders/orders_2024-01-15.csv"] != files_c["orders/orders_2024-01-15.csv"]
    assert files_a.keys() & files_c.keys() and files_a != files_c


def test_a_short_run_is_the_start_of_a_longer_one_and_an_increment_its_end(tmp_path: Path) -> None:
    long_, short, tail = tmp_path / "long", tmp_path / "short", tmp_path / "tail"
    generate(long_, scale=SCALE, days=45)
    generate(short, scale=SCALE, days=3)
    generate(tail, scale=SCALE, start=date(2024, 2, 12), days=3)  # days 43..45 of the long run
    files_long = all_bytes(long_)
    files_short, files_tail = all_bytes(short), all_bytes(tail)
    assert files_short and files_tail
    for name, content in (files_short | files_tail).items():
        assert files_long[name] == content, name
    expected_tail = {k for k in files_long if any(d in k for d in ("2024-02-12", "2024-02-13", "2024-02-14"))}
    assert set(files_tail) == expected_tail
    # The increment re-sends order lines placed before it started, as they ship or are delivered.
    tail_orders = read_feed(tail, "orders")
    assert (tail_orders["order_ts"].str.slice(0, 10) < "2024-02-12").any()


def test_feeds_built_in_windows_are_the_feeds_built_whole() -> None:
    """generate() builds and writes each feed a window of days at a time; the windows together must
    hold exactly the rows of one window over all days, in the same order (no row lost or repeated at
    an edge, such as an order line placed in one window and delivered in the next)."""
    world = World(seed=7, scale=0.05, origin=date(2024, 1, 1), end=date(2024, 4, 30))
    res = simulate(world)
    last = world.n_days - 1
    first = 20  # like an increment: the rows of earlier days are left out
    cuts = {
        "months": month_windows(world.origin, first, last),
        "weeks": [(d, min(d + 6, last)) for d in range(first, last + 1, 7)],
    }
    for name, build in BUILDERS.items():
        (whole,) = build(res, [(first, last)])
        # Masters rarely change in a few months; every feed of events has rows to lose.
        assert whole.height > 0 or name not in ("orders", "inventory", "purchase_orders", "returns", "work_orders")
        for cut, windows in cuts.items():
            parts = list(build(res, windows))
            assert len(parts) == len(windows)
            for (lo, hi), part in zip(windows, parts, strict=True):
                assert part[FILE_DAY].is_between(lo, hi).all(), (name, cut)
            assert pl.concat(parts).equals(whole), (name, cut)
    # The edge case is there to be caught: lines with versions in two months.
    orders = pl.concat(BUILDERS["orders"](res, [(first, last)]))
    spans = orders.group_by("order_id", "line_number").agg(
        pl.col(FILE_DAY).min().alias("a"), pl.col(FILE_DAY).max().alias("b")
    )
    edges = {hi for _, hi in cuts["months"][:-1]}
    assert spans.filter(pl.any_horizontal(pl.col("a").le(e) & pl.col("b").gt(e) for e in edges)).height > 0


def test_future_days_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="future"):
        generate(tmp_path, scale=SCALE, start=datetime.now(UTC).date(), days=5)


# --- one consistent world ------------------------------------------------------------------------------


def test_inventory_balances_day_to_day(feeds: dict[str, pl.DataFrame]) -> None:
    # Bought and sold skus; what production adds and consumes is test_generator_make's.
    bom = feeds["bill_of_materials"]
    made_or_used = pl.concat([bom["parent_sku"], bom["component_sku"]]).unique()
    inv = feeds["inventory"].filter(~pl.col("sku").is_in(made_or_used.implode()))
    orders, pos = feeds["orders"], feeds["purchase_orders"]
    shipped = (
        orders.filter(pl.col("status") == "shipped")
        .group_by(snapshot_date=pl.col("shipped_ts").dt.date(), warehouse_id="warehouse_id", sku="sku")
        .agg(shipped=pl.col("quantity_shipped").sum())
    )
    received = (
        pos.filter(pl.col("status") == "received")
        .group_by(snapshot_date="received_date", warehouse_id="warehouse_id", sku="sku")
        .agg(put_away=(pl.col("quantity_received") - pl.col("quantity_rejected")).sum())
    )
    keys = ["snapshot_date", "warehouse_id", "sku"]
    flows = (
        inv.sort(keys[1:] + keys[:1])
        .with_columns(
            prev=pl.col("on_hand_qty").shift(1).over(keys[1:]), prev_day=pl.col("snapshot_date").shift(1).over(keys[1:])
        )
        .filter(pl.col("prev_day") == pl.col("snapshot_date") - pl.duration(days=1))
        .join(shipped, on=keys, how="left")
        .join(received, on=keys, how="left")
        .with_columns(pl.col("shipped", "put_away").fill_null(0))
    )
    assert flows.height > 0.9 * inv.height
    bad = flows.filter(pl.col("on_hand_qty") != pl.col("prev") - pl.col("shipped") + pl.col("put_away"))
    assert bad.is_empty(), bad.head()
    assert flows["shipped"].sum() > 0 and flows["put_away"].sum() > 0
    # Reserved stock is real (open lines exist at day end) and never exceeds what is on hand.
    assert (inv["reserved_qty"] > 0).mean() > 0.01
    assert 0 < (inv["on_hand_qty"] == 0).mean() < 0.2


def test_order_lines_are_resent_as_their_status_changes(feeds: dict[str, pl.DataFrame]) -> None:
    o = feeds["orders"].sort(["_file", "updated_at"])
    hist = o.group_by("order_id", "line_number", maintain_order=True).agg(
        statuses=pl.col("status").str.join(">"), upd=pl.col("updated_at"), first_qty=pl.col("quantity_shipped").first()
    )
    allowed = {"open", "open>shipped", "open>shipped>delivered", "open>cancelled"}
    assert set(hist["statuses"].unique()) <= allowed
    assert hist["first_qty"].is_null().all()
    newer = pl.col("upd").list.eval(pl.element().diff().drop_nulls() > 0).list.all()
    assert hist.select(newer).to_series().all()
    share = hist["statuses"].value_counts(normalize=True).to_dict(as_series=False)
    shares = dict(zip(share["statuses"], share["proportion"], strict=True))
    assert shares["open>shipped>delivered"] > 0.8
    assert 0.003 < shares.get("open>cancelled", 0) < 0.1
    current = o.group_by("order_id", "line_number").agg(pl.all().last())
    delivered = current.filter(pl.col("status") == "delivered")
    assert (delivered["quantity_shipped"] < delivered["quantity_ordered"]).any()  # partial shipments
    lines_per_order = current.group_by("order_id").len()["len"]
    assert lines_per_order.min() == 1 and 2 <= lines_per_order.max() <= 4
    # Customers come back.
    orders_per_customer = current.group_by("customer_id").agg(pl.col("order_id").n_unique())["order_id"]
    assert (orders_per_customer > 1).mean() > 0.2


def test_purchase_orders_and_returns_have_lifecycles(feeds: dict[str, pl.DataFrame]) -> None:
    po = feeds["purchase_orders"].sort(["_file", "updated_at"])
    hist = po.group_by("po_id", "line_number").agg(pl.col("status").str.join(">"))
    assert set(hist["status"].unique()) <= {"open", "open>received", "open>cancelled"}
    assert (hist["status"] == "open>received").mean() > 0.8
    r = feeds["returns"].sort(["_file", "updated_at"])
    first = r.group_by("return_id", maintain_order=True).first()
    assert first["disposition"].is_null().all() and first["received_ts"].is_null().all()
    received = r.filter(pl.col("received_ts").is_not_null())
    assert received["disposition"].is_not_null().all()
    assert (received["disposition"] == "return_to_vendor").any()
    # A return refers to a delivered line, comes after its delivery and returns no more than shipped.
    lines = (
        feeds["orders"]
        .filter(pl.col("status") == "delivered")
        .select("order_id", "line_number", "quantity_shipped", "unit_price", "delivered_ts")
    )
    j = first.join(lines, on=["order_id", "line_number"], how="left")
    assert j["delivered_ts"].is_not_null().all()
    assert (j["requested_ts"] > j["delivered_ts"]).all()
    assert (j["quantity_returned"] <= j["quantity_shipped"]).all()
    full_refund = (j["refund_amount"] - j["quantity_returned"] * j["unit_price"]).abs() < 0.005
    assert full_refund.mean() > 0.9


def test_weekly_seasonality_is_visible(network: dict[str, pl.DataFrame]) -> None:
    daily = (
        network["orders"]
        .filter(pl.col("status") == "open")
        .group_by(day=pl.col("order_ts").dt.date())
        .agg(units=pl.col("quantity_ordered").sum())
        .with_columns(dow=pl.col("day").dt.weekday())
    )
    groups = [g["units"].to_numpy().astype(float) for _, g in daily.group_by("dow")]
    assert len(groups) == 7
    # One-way ANOVA F statistic across weekdays.
    grand = np.concatenate(groups).mean()
    between = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / 6
    within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (sum(len(g) for g in groups) - 7)
    assert between / within > 5  # F(6, ~360) > 5 is p < 0.0001
    means = sorted(g.mean() for g in groups)
    assert means[-1] / means[0] > 1.15


def test_masters_change_over_time(feeds: dict[str, pl.DataFrame]) -> None:
    p = feeds["products"]
    first_day = p["_file_day"].min()
    assert p.filter(pl.col("_file_day") == first_day)["sku"].n_unique() >= 5
    assert p.filter(pl.col("_file_day") > first_day).height > 0
    s = feeds["suppliers"]
    assert s["_file_day"].n_unique() == 2  # the full file, then a supplier onboarded later
    w = feeds["warehouses"]
    assert set(w["operator"]) == {"own", "3pl"} and w["country"].n_unique() == 2
    known_skus = set(p["sku"])
    assert set(feeds["orders"]["sku"]) <= known_skus and set(feeds["inventory"]["sku"]) <= known_skus
    assert set(feeds["orders"]["warehouse_id"]) <= set(w["warehouse_id"])


def test_products_have_packs_and_moqs_and_pos_are_whole_packs(network: dict[str, pl.DataFrame]) -> None:
    p = (
        network["products"]
        .filter(pl.col("category") != "Components")  # parts come in packs of their own (test_generator_make)
        .group_by("sku")
        .agg(
            pl.col("order_multiple", "min_order_qty").n_unique().name.suffix("_n"),
            pl.col("order_multiple", "min_order_qty").first(),
        )
    )
    assert (p["order_multiple_n"] == 1).all() and (p["min_order_qty_n"] == 1).all()  # fixed per sku
    assert set(p["order_multiple"]) <= {1, 2, 6, 12} and p["order_multiple"].n_unique() >= 3
    # A minimum is a whole number of cases; about half the skus have none.
    assert (p["min_order_qty"] % p["order_multiple"] == 0).all()
    assert 0.25 < (p["min_order_qty"] == 0).mean() < 0.75
    # The simulated buyer orders whole cases.
    po = network["purchase_orders"].join(p.select("sku", "order_multiple"), on="sku")
    assert (po["quantity_ordered"] % po["order_multiple"] == 0).all()


def test_realistic_network(network: dict[str, pl.DataFrame]) -> None:
    f = network
    lines = f["orders"].group_by("order_id", "line_number").agg(pl.all().last())
    units = lines.group_by("sku").agg(pl.col("quantity_ordered").sum())
    units = units.sort("quantity_ordered", descending=True)
    top = units.head(max(1, units.height // 5))["quantity_ordered"].sum() / units["quantity_ordered"].sum()
    assert top > 0.5  # a few skus sell most
    # Promotions: consumer lines priced below the list price of the day.
    prices = f["products"].group_by("sku").agg(pl.col("list_price").first())
    priced = lines.join(prices, on="sku").with_columns(promo=pl.col("unit_price") < pl.col("list_price") - 0.005)
    assert priced.filter(pl.col("channel") != "wholesale")["promo"].mean() > 0.03
    # Suppliers differ in punctuality and lead time.
    po = f["purchase_orders"].filter(pl.col("status") == "received")
    by_supplier = po.group_by("supplier_id").agg(
        on_time=(pl.col("received_date") <= pl.col("promised_date")).mean(),
        lead=(pl.col("received_date") - pl.col("order_date")).dt.total_days().mean(),
    )
    assert by_supplier["on_time"].max() - by_supplier["on_time"].min() > 0.05
    assert by_supplier["lead"].max() - by_supplier["lead"].min() > 2
    # Late deliveries are returned as late more often than punctual ones.
    ret = f["returns"].group_by("order_id", "line_number").agg(pl.col("reason_code").first())
    d = lines.filter(pl.col("status") == "delivered").join(ret, on=["order_id", "line_number"], how="left")
    d = d.with_columns(
        late=pl.col("delivered_ts").dt.date() > pl.col("promised_date"),
        late_return=pl.col("reason_code") == "late_delivery",
    )
    rate = d.group_by("late").agg(pl.col("late_return").fill_null(False).mean()).sort("late")["late_return"]
    assert rate[1] > rate[0] + 0.02
    # Carriers differ.
    assert lines["carrier"].drop_nulls().n_unique() >= 3


# --- faults --------------------------------------------------------------------------------------------


def test_faults_manifest_covers_every_rule_and_reject(world: tuple[Path, GenerateSummary]) -> None:
    root, summary = world
    manifest = json.loads(summary.manifest_path.read_text())
    assert summary.manifest_path == root / "faults_manifest.json"
    for name, feed in FEEDS.items():
        rules = {e["rule"] for e in manifest if e["feed"] == name and e["expect"] == "quarantine"}
        assert {r.name for r in feed.all_rules()} <= rules, name
        assert any(r.startswith("type:") for r in rules), name
        assert any(r.startswith("not_null:") for r in rules), name
    rejects = [e for e in manifest if e["expect"] == "reject"]
    assert sorted(e["rule"] for e in rejects) == sorted(FILE_REJECT_REASONS)
    assert len({e["feed"] for e in rejects}) >= 3
    assert all(e["row"] is None for e in rejects)
    by_reason = {e["rule"]: root / e["file"] for e in rejects}
    assert by_reason["empty"].stat().st_size == 0
    encoded = by_reason["encoding"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        encoded.decode("utf-8")
    assert "Café" in encoded.decode("cp1252")
    assert b"\x00" in by_reason["unreadable"].read_bytes()
    feed = FEEDS[next(e["feed"] for e in rejects if e["rule"] == "missing_columns")]
    header = by_reason["missing_columns"].read_text().splitlines()[0].split(",")
    assert set(feed.required_columns) - set(header)


def test_each_faulty_row_breaks_its_rule_and_good_rows_load(world: tuple[Path, GenerateSummary], refs) -> None:
    root, summary = world
    manifest = json.loads(summary.manifest_path.read_text())
    row_faults = [e for e in manifest if e["row"] is not None]
    for file in sorted({e["file"] for e in row_faults}):
        entries = {e["row"]: e for e in row_faults if e["file"] == file}
        feed = FEEDS[entries[next(iter(entries))]["feed"]]
        text = read_text(root / file)
        assert text.columns == list(feed.column_names)
        breaks = all_breaks(feed, text, refs)
        good = 0
        for i in range(text.height):
            got = {rule for rule, s in breaks.items() if s[i]}
            e = entries.get(i + 1)
            if e is None:
                assert not got, (file, i + 1, got)
                good += 1
            else:
                assert e["rule"] in got, (file, e)
                assert got == {e["rule"], *e["also_breaks"]}, (file, e, got)
        assert good >= 2, file
        # Only where the contract makes a rule impossible to break alone: a 1970 ship time is also before the
        # order; then the rules broken with it read a column the fault changed.
        for e in entries.values():
            rule = next((r for r in feed.all_rules() if r.name == e["rule"]), None)
            for also in e["also_breaks"]:
                other = next(r for r in feed.all_rules() if r.name == also)
                assert rule is not None and rule_columns(rule) & rule_columns(other), (file, e)
