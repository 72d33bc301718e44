"""`scm backfill --from --to`: the incremental facts rebuild their rows of that date range from the raw
versions (and only those, beside what is new), then everything downstream and the snapshot."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow


def test_backfill_rebuilds_exactly_the_date_range(world_copy):
    from pipelines.cli import main

    db = world_copy.data_dir / "warehouse.duckdb"
    start = world_copy.start + timedelta(days=30)
    end = start + timedelta(days=6)
    # Damage one line inside the range and one outside, as a model bug since fixed would have left them
    # (in a column no data test checks, so that the run's tests pass with the outside line still damaged).
    with duckdb.connect(str(db)) as con:
        inside, outside = (
            con.execute(
                "select order_line_key from marts.fct_order_lines where order_date between ? and ? "
                "order by order_line_key limit 1",
                [start, end],
            ).fetchall()[0][0],
            con.execute(
                "select order_line_key from marts.fct_order_lines where order_date > ? order by order_line_key limit 1",
                [end],
            ).fetchall()[0][0],
        )
        truth = dict(
            con.execute(
                "select order_line_key, ship_to_region from marts.fct_order_lines where order_line_key in (?, ?)",
                [inside, outside],
            ).fetchall()
        )
        con.execute(
            "update marts.fct_order_lines set ship_to_region = 'damaged' where order_line_key in (?, ?)",
            [inside, outside],
        )

    result = CliRunner().invoke(main, ["backfill", "--from", str(start), "--to", str(end)])
    assert result.exit_code == 0, result.output

    with duckdb.connect(str(db), read_only=True) as con:
        now = dict(
            con.execute(
                "select order_line_key, ship_to_region from marts.fct_order_lines where order_line_key in (?, ?)",
                [inside, outside],
            ).fetchall()
        )
    assert now[inside] == truth[inside]  # rebuilt from its raw versions
    assert now[outside] == "damaged"  # outside the range: left as it was


def test_backfill_refuses_a_reversed_range():
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["backfill", "--from", "2025-02-01", "--to", "2025-01-01"])
    assert result.exit_code == 2 and "--to is before --from" in result.output
