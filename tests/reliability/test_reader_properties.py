"""Property-based tests of reading and loading a CSV feed file: whatever a file holds, the load does not
crash, every data row ends loaded or quarantined exactly once (matched by row number), and a loaded row
holds the values that were sent.

Files are orders files mixing valid rows (random unicode and control characters in the text columns,
very long fields, both quoting styles, both line endings) with malformed ones (missing or extra fields,
another delimiter, an unclosed quote) and blank lines. NUL is left out: it marks a file as binary, which
rejects it whole (tests/reliability/test_bad_input_matrix.py). Two fuzz properties throw arbitrary text and
bytes after a valid header and only require that nothing crashes and the counts reconcile.
"""

from __future__ import annotations

import csv
import io
import json
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.feeds.contract import FEEDS
from pipelines.feeds.ingest import ingest_feed

ORDERS = FEEDS["orders"]
COLUMNS = ORDERS.column_names
NOW = datetime(2024, 6, 1, 12, 0)
FILE = "orders/orders_fuzz.csv"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PLAIN = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=10)
# Any character but NUL (and surrogates, which UTF-8 cannot hold): quotes, commas, CR, LF, unicode line
# separators, control characters. Prefixed with a letter so that no value is blank once trimmed.
WILD = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=20).map(
    lambda s: "X" + s
)
# Past csv's default field limit of 128 KiB.
LONG = st.integers(1, 3).map(lambda k: "L" * (k * 70_000))
TEXT = st.one_of(PLAIN, WILD, WILD, PLAIN, LONG)


@dataclass(frozen=True)
class Row:
    kind: str  # good | blank | short | long | semicolon | unclosed
    text: str  # as written, without the final line break ("" for a blank line)
    values: dict | None = None  # good rows: column -> the typed value it must load as


def _strip(value: str) -> str:
    # The loader trims blanks around values (rules.clean); what counts as a blank is polars' business.
    return pl.Series([value]).str.strip_chars().item()


def _write(values: list[str], quote_all: bool, terminator: str) -> str:
    # A value with a CR must be quoted: csv.writer leaves it bare unless CR is in its line terminator.
    quoting = csv.QUOTE_ALL if quote_all or any("\r" in v for v in values) else csv.QUOTE_MINIMAL
    buf = io.StringIO()
    csv.writer(buf, quoting=quoting, lineterminator=terminator).writerow(values)
    return buf.getvalue().removesuffix(terminator)


@st.composite
def good_values(draw, number: int) -> tuple[dict[str, str], dict]:
    """A row that breaks no rule: the text to write and the typed values it must load as."""
    order_ts = draw(st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2024, 5, 1))).replace(microsecond=0)
    offset = timedelta(hours=draw(st.integers(-12, 12)))
    ts_text = (
        order_ts.replace(tzinfo=UTC).astimezone(timezone(offset)).isoformat()
        if offset
        else order_ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    promised = order_ts.date() + timedelta(days=draw(st.integers(0, 30)))
    status = draw(st.sampled_from(["open", "shipped", "delivered", "cancelled"]))
    quantity = draw(st.integers(1, 100_000))
    # The fields a status implies (feed contract): shipped and delivered lines have a ship time and a quantity,
    # delivered ones a delivery time, a cancelled line shipped nothing.
    if status in ("shipped", "delivered"):
        shipped = draw(st.integers(1, quantity))
        shipped_ts = order_ts + timedelta(hours=draw(st.integers(0, 72)))
    else:
        shipped = None if status == "open" else draw(st.sampled_from([None, 0]))
        shipped_ts = None
    delivered_ts = shipped_ts + timedelta(hours=draw(st.integers(0, 96))) if status == "delivered" else None
    price = draw(st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False))
    cost = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=1000, places=2)))
    texts = {c: draw(TEXT) for c in ("order_id", "customer_id", "ship_to_region", "sku", "warehouse_id")}
    carrier = draw(st.one_of(st.just(""), TEXT))
    pad = draw(st.sampled_from(["", " "]))  # blanks around a number are trimmed
    sent = {
        **texts,
        "line_number": f"{pad}{number}{pad}",
        "order_ts": ts_text,
        "channel": draw(st.sampled_from(["web", "marketplace", "wholesale"])),
        "quantity_ordered": str(quantity),
        "unit_price": str(price),
        "promised_date": promised.isoformat(),
        "status": status,
        "quantity_shipped": "" if shipped is None else str(shipped),
        "shipped_ts": "" if shipped_ts is None else shipped_ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "delivered_ts": "" if delivered_ts is None else delivered_ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "carrier": carrier,
        "shipping_cost": "" if cost is None else str(cost),
        "updated_at": ts_text,
    }
    typed = {
        **{c: _strip(v) for c, v in texts.items()},
        "line_number": number,
        "order_ts": order_ts,
        "channel": sent["channel"],
        "quantity_ordered": quantity,
        "unit_price": Decimal(price),
        "promised_date": promised,
        "status": status,
        "quantity_shipped": shipped,
        "shipped_ts": shipped_ts,
        "delivered_ts": delivered_ts,
        "carrier": _strip(carrier) or None,
        "shipping_cost": cost,
        "updated_at": order_ts,
    }
    return sent, typed


@st.composite
def row(draw, number: int, terminator: str) -> Row:
    kind = draw(st.sampled_from(["good", "good", "good", "blank", "short", "long", "semicolon", "unclosed"]))
    quote_all = draw(st.booleans())
    if kind == "blank":
        return Row(kind, "")
    if kind in ("semicolon", "unclosed"):
        plain = [draw(PLAIN) for _ in COLUMNS]
        if kind == "semicolon":  # another delimiter: the line is one field
            return Row(kind, ";".join(plain))
        # A quote opens a field and is never closed (the field's text follows it, so it cannot close an
        # earlier unclosed quote cleanly either).
        at = draw(st.integers(0, len(plain) - 1))
        plain[at] = '"' + plain[at]
        return Row(kind, ",".join(plain))
    sent, typed = draw(good_values(number))
    values = [sent[c] for c in COLUMNS]
    if kind == "short":
        values = values[: -draw(st.integers(1, 5))]
    elif kind == "long":
        values += [draw(PLAIN) for _ in range(draw(st.integers(1, 3)))]
    return Row(kind, _write(values, quote_all, terminator), typed if kind == "good" else None)


@st.composite
def orders_file(draw) -> tuple[list[Row], str]:
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    count = draw(st.integers(1, 12))
    rows = [draw(row(n, terminator)) for n in range(1, count + 1)]
    rows.append(draw(row(count + 1, terminator).filter(lambda r: r.kind != "blank")))  # not only blank lines
    return rows, terminator


_CON: list[duckdb.DuckDBPyConnection] = []


def load(tmp: Path, content: bytes):
    """Load the file alone into an empty raw layer: (file outcome, loaded rows and quarantined rows by row
    number, loaded rows as a list)."""
    path = tmp / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if not _CON:  # one in-memory warehouse for every example: its tables are emptied, not recreated
        _CON.append(duckdb.connect())
    con = _CON[0]
    try:
        result = ingest_feed(con, ORDERS, tmp, "fuzz", NOW)
        loaded = con.sql("select * from raw.orders").pl().to_dicts()
        quarantined = con.sql("select * from raw.orders_quarantine").pl().to_dicts()
    finally:
        for table in ("raw.orders", "raw.orders_quarantine", "raw.ingest_log"):
            con.execute(f"delete from {table}")
        path.unlink()
    (outcome,) = result.files
    return outcome, {r["_row_number"]: r for r in loaded}, {r["_row_number"]: r for r in quarantined}, loaded


@SETTINGS
@given(orders_file())
def test_every_row_loads_or_is_quarantined_once_with_its_values(tmp_path_factory, generated):
    rows, terminator = generated
    header = ",".join(COLUMNS)
    content = terminator.join([header, *(r.text for r in rows)]) + terminator
    outcome, loaded, quarantined, loaded_list = load(tmp_path_factory.mktemp("f"), content.encode())

    numbered = {n: r for n, r in enumerate(rows, start=1) if r.kind != "blank"}
    assert outcome.status == "loaded", outcome
    # Each data row exactly once: no row lost, none read twice, none both loaded and quarantined.
    assert len(loaded_list) == len(loaded)
    assert set(loaded) | set(quarantined) == set(numbered)
    assert set(loaded).isdisjoint(quarantined)
    assert outcome.rows_read == len(numbered) == outcome.rows_loaded + outcome.rows_quarantined
    for n, r in numbered.items():
        if r.kind == "good":
            assert n in loaded, (n, quarantined.get(n, {}).get("_reason"))
            assert {c: loaded[n][c] for c in COLUMNS} == r.values
        else:
            # A line that does not split into the header's fields, kept exactly as sent.
            assert n in quarantined
            assert quarantined[n]["_rule"] == "malformed_row"
            assert json.loads(quarantined[n]["_extra"])["line"] == r.text
            assert quarantined[n]["_reason"].startswith(f"{FILE} row {n}: malformed_row: ")


def _reconciles(outcome, loaded: dict, quarantined: dict) -> None:
    if outcome.status == "rejected":
        assert outcome.reject_reason in ("unreadable", "encoding", "empty") and "\n" not in outcome.message
        assert loaded == quarantined == {}
        return
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    assert (len(loaded), len(quarantined)) == (outcome.rows_loaded, outcome.rows_quarantined)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',"\n\r ;ab1\t\u2028\ufeff-:')), max_size=300))
def test_any_text_after_a_header_loads_without_a_crash(tmp_path_factory, body):
    content = (",".join(COLUMNS) + "\n" + body).encode()
    outcome, loaded, quarantined, _ = load(tmp_path_factory.mktemp("t"), content)
    _reconciles(outcome, loaded, quarantined)
    # A row number is never reused, and never beyond the lines the file has.
    assert max([0, *loaded, *quarantined]) <= body.count("\n") + 1


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_after_a_header_load_without_a_crash(tmp_path_factory, body):
    content = (",".join(COLUMNS) + "\n").encode() + body
    outcome, loaded, quarantined, _ = load(tmp_path_factory.mktemp("b"), content)
    _reconciles(outcome, loaded, quarantined)
