"""The digest: what needs a look in the published snapshot, as a plain structure rendered as text or JSON.

Reading is a handful of queries on the snapshot (`read_frames`), one frame per section; everything after is
pure functions of those frames (`build_digest`). The rules come from where they are defined: a stockout
"within the lead time" is replenishment_exceptions' `stockout_within_lead_time`, the KPIs are kpi_monthly's,
the files are the run's own entries of the ingest log (meta.ingest_log, keyed by the run id the snapshot
carries) and its quarantined rows (meta.<feed>_quarantine), and a late purchase-order line is
kpi_open_purchase_orders' `is_late`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines import snapshot
from pipelines.alerts.targets import Target

DEFAULT_LIMIT = 20  # items listed per section; the totals are always whole

STOCKOUTS_SQL = """
select e.sku, e.warehouse_id, r.product_name, e.warehouse_name, r.projected_stockout_date,
    r.days_until_stockout, r.lead_time_days, r.inventory_position, r.recommended_order_qty
from marts.replenishment_exceptions as e
inner join marts.replenishment as r on r.sku = e.sku and r.warehouse_id = e.warehouse_id
where e.exception_type = 'stockout_within_lead_time'
order by r.days_until_stockout, e.sku, e.warehouse_id
"""

LATE_PO_LINES_SQL = """
select po_id, line_number, supplier_id, supplier_name, sku, warehouse_id, order_date, promised_date,
    days_late, open_qty
from marts.kpi_open_purchase_orders
where is_late
order by days_late desc, po_id, line_number
"""

LATEST_KPIS_SQL = """
select kpi, month, value
from marts.kpi_monthly
qualify month = max(month) over (partition by kpi)
order by kpi
"""

# The run's files that did not load whole: not read as the feed (rejected), not feed files (skipped), waiting
# for their folder's profile to be fixed, or loaded with rows quarantined.
RUN_FILES_SQL = """
select feed, file, status, reject_reason, message, rows_read, rows_loaded, rows_quarantined
from meta.ingest_log
where load_id = $run_id
    and (status in ('rejected', 'skipped') or reject_reason = 'profile' or rows_quarantined > 0)
order by feed, file, status
"""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    total: int  # every item the snapshot has, whatever `items` lists
    items: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Digest:
    run_id: str
    published_at: datetime
    as_of_date: date | None
    snapshot: str  # the snapshot file's name
    sections: list[Section]
    warning: str | None = None  # the snapshot read is not the one CURRENT names (pipelines/snapshot.py)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def subject(self) -> str:
        as_of = f"as of {self.as_of_date}" if self.as_of_date else "no as-of date"
        if not self.total:
            return f"scm alerts: nothing needs a look ({as_of})"
        counts = ", ".join(f"{s.total} {SHORT[s.key][s.total > 1]}" for s in self.sections if s.total)
        return f"scm alerts: {counts} ({as_of})"

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "published_at": self.published_at,
            "as_of_date": self.as_of_date,
            "snapshot": self.snapshot,
            "warning": self.warning,
            "needs_a_look": self.total > 0,
            "sections": {s.key: {"title": s.title, "total": s.total, "items": s.items} for s in self.sections},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_jsonable) + "\n"

    def render(self) -> str:
        lines = [self.subject()]
        lines.append(f"snapshot {self.snapshot} of run {self.run_id}, published {self.published_at:%Y-%m-%d %H:%M} UTC")
        if self.warning:
            lines.append(f"warning: {self.warning}")
        for s in self.sections:
            lines.append("")
            lines.append(f"{s.title} ({s.total})")
            if not s.total:
                lines.append("  none")
            lines += [f"  {LINES[s.key](item)}" for item in s.items]
            if s.total > len(s.items):
                lines.append(f"  ... and {s.total - len(s.items)} more")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Frames:
    """What the digest is built from, one frame per section, as the queries above return them."""

    stockouts: pl.DataFrame
    late_po_lines: pl.DataFrame
    latest_kpis: pl.DataFrame
    run_files: pl.DataFrame
    quarantine_rules: pl.DataFrame  # feed, file, rule, rows


def read_digest(
    targets: dict[str, Target], limit: int = DEFAULT_LIMIT, warn: Callable[[str], object] | None = None
) -> Digest:
    """The digest of the current snapshot (snapshot.NoSnapshot before the first run)."""
    warnings: list[str] = []
    con = snapshot.connect(warn=warnings.append)
    try:
        info = snapshot.info(con)
        frames = read_frames(con, info.run_id)
    finally:
        con.close()
    for line in warnings:
        if warn is not None:
            warn(line)
    return build_digest(info, frames, targets, limit, warning=warnings[0] if warnings else None)


def read_frames(con: duckdb.DuckDBPyConnection, run_id: str) -> Frames:
    return Frames(
        stockouts=con.sql(STOCKOUTS_SQL).pl(),
        late_po_lines=con.sql(LATE_PO_LINES_SQL).pl(),
        latest_kpis=con.sql(LATEST_KPIS_SQL).pl(),
        run_files=con.sql(RUN_FILES_SQL, params={"run_id": run_id}).pl(),
        quarantine_rules=_quarantine_rules(con, run_id),
    )


def _quarantine_rules(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """Rows the run quarantined per feed, file and first broken rule."""
    tables = [
        t
        for (t,) in con.sql(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'meta' and table_name like '%\\_quarantine' escape '\\' order by 1"
        ).fetchall()
    ]
    if not tables:
        return pl.DataFrame(schema={"feed": pl.String, "file": pl.String, "rule": pl.String, "rows": pl.Int64})
    union = " union all ".join(
        f"select '{t.removesuffix('_quarantine')}' as feed, _source_file as file, _rule as rule "
        f'from meta."{t}" where _load_id = $run_id'
        for t in tables
    )
    query = (
        f"select feed, file, rule, count(*) as rows from ({union}) group by all order by feed, file, rows desc, rule"
    )
    return con.sql(query, params={"run_id": run_id}).pl()


def build_digest(
    info: snapshot.SnapshotInfo,
    frames: Frames,
    targets: dict[str, Target],
    limit: int = DEFAULT_LIMIT,
    warning: str | None = None,
) -> Digest:
    kpis = kpis_off_target(frames.latest_kpis, targets, info.as_of_date)
    not_loaded = frames.run_files.filter(pl.col("status").ne("loaded"))
    quarantined = quarantined_files(frames.run_files, frames.quarantine_rules)
    sections = [
        _section("stockouts", frames.stockouts, limit),
        _section("late_po_lines", frames.late_po_lines, limit),
        _section("kpis_off_target", kpis, limit),
        _section("files_not_loaded", not_loaded.drop("rows_loaded", "rows_quarantined"), limit),
        _section("rows_quarantined", quarantined, limit),
    ]
    return Digest(
        run_id=info.run_id,
        published_at=info.published_at,
        as_of_date=info.as_of_date,
        snapshot=Path(info.path).name,
        sections=sections,
        warning=warning,
    )


def kpis_off_target(latest: pl.DataFrame, targets: dict[str, Target], as_of_date: date | None) -> pl.DataFrame:
    """The KPIs whose latest month misses its target, with the bound they miss and whether the month is the
    as-of date's own (month to date)."""
    rows = []
    for kpi, month, value in latest.select("kpi", "month", "value").iter_rows():
        target = targets.get(kpi)
        value = None if value is None else float(value)
        if target is None or value is None or not target.missed_by(value):
            continue
        bound, threshold = ("min", target.min) if target.min is not None and value < target.min else ("max", target.max)
        to_date = as_of_date is not None and (month.year, month.month) == (as_of_date.year, as_of_date.month)
        rows.append(
            {"kpi": kpi, "month": month, "month_to_date": to_date, "value": value, "bound": bound, "target": threshold}
        )
    schema = {
        "kpi": pl.String,
        "month": pl.Date,
        "month_to_date": pl.Boolean,
        "value": pl.Float64,
        "bound": pl.String,
        "target": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def quarantined_files(run_files: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """The run's loaded files with quarantined rows, most rows first, each with its rules and their counts."""
    files = run_files.filter(pl.col("status").eq("loaded") & pl.col("rows_quarantined").fill_null(0).gt(0))
    by_file = rules.group_by("feed", "file", maintain_order=True).agg(
        pl.struct(rule="rule", rows="rows").alias("rules")
    )
    return (
        files.select("feed", "file", "rows_read", "rows_quarantined")
        .join(by_file, on=["feed", "file"], how="left")
        .sort(["rows_quarantined", "feed", "file"], descending=[True, False, False])
    )


def _section(key: str, frame: pl.DataFrame, limit: int) -> Section:
    return Section(key, TITLES[key], frame.height, frame.head(max(limit, 0)).to_dicts())


TITLES = {
    "stockouts": "Projected stockouts within the lead time",
    "late_po_lines": "Late purchase-order lines (open, past their promised date)",
    "kpis_off_target": "KPIs off target in their latest month",
    "files_not_loaded": "Files this run did not load",
    "rows_quarantined": "Files with rows quarantined in this run",
}

SHORT = {  # (one, several) for the subject line
    "stockouts": ("stockout within the lead time", "stockouts within the lead time"),
    "late_po_lines": ("late PO line", "late PO lines"),
    "kpis_off_target": ("KPI off target", "KPIs off target"),
    "files_not_loaded": ("file not loaded", "files not loaded"),
    "rows_quarantined": ("file with quarantined rows", "files with quarantined rows"),
}


def _number(value: float | None, kpi: str = "") -> str:
    if value is None:
        return "n/a"
    if kpi.endswith(("_rate", "_share")):
        return f"{value:.1%}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def _stockout_line(r: dict) -> str:
    name = f" ({r['product_name']})" if r.get("product_name") else ""
    lead = "" if r.get("lead_time_days") is None else f"; lead time {_number(round(r['lead_time_days'], 1))} days"
    return (
        f"{r['sku']} at {r['warehouse_id']}{name}: out on {r['projected_stockout_date']}, in "
        f"{r['days_until_stockout']} days{lead}; position {_number(r['inventory_position'])}, "
        f"recommended order {_number(r['recommended_order_qty'])}"
    )


def _late_po_line(r: dict) -> str:
    supplier = r["supplier_id"] + (f" ({r['supplier_name']})" if r.get("supplier_name") else "")
    return (
        f"{r['po_id']} line {r['line_number']} from {supplier}: {_number(r['open_qty'])} x {r['sku']} for "
        f"{r['warehouse_id']}, promised {r['promised_date']}, {r['days_late']} days late"
    )


def _kpi_line(r: dict) -> str:
    month = f"{r['month']:%Y-%m}" + (" (month to date)" if r["month_to_date"] else "")
    bound = "at least" if r["bound"] == "min" else "at most"
    return f"{r['kpi']} {month}: {_number(r['value'], r['kpi'])}, target {bound} {_number(r['target'], r['kpi'])}"


def _file_line(r: dict) -> str:
    why = f" ({r['reject_reason']})" if r.get("reject_reason") else ""
    message = f": {r['message']}" if r.get("message") else ""
    return f"{r['file']}: {r['status']}{why}{message}"


def _quarantine_line(r: dict) -> str:
    rules = ", ".join(f"{x['rule']} {x['rows']}" for x in r.get("rules") or [])
    return f"{r['file']}: {r['rows_quarantined']} of {r['rows_read']} rows quarantined" + (
        f" ({rules})" if rules else ""
    )


LINES: dict[str, Callable[[dict], str]] = {
    "stockouts": _stockout_line,
    "late_po_lines": _late_po_line,
    "kpis_off_target": _kpi_line,
    "files_not_loaded": _file_line,
    "rows_quarantined": _quarantine_line,
}


def _jsonable(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):  # quantities and amounts of the raw layer's decimal type
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
