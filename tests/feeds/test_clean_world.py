"""Clean demo data is clean by every rule and check of the contract: the session's built world (generated and
run through `scm run`) quarantined and rejected nothing, its returns were compared with their order lines,
and the WARN checks for outliers and misnamed columns have nothing to say about it."""

from __future__ import annotations

import duckdb

from pipelines import checks
from pipelines.feeds.contract import FEEDS


def test_the_clean_demo_world_breaks_no_rule_and_raises_no_warning(built_world):
    con = duckdb.connect(str(built_world.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        per_feed = con.sql(
            "select feed, sum(rows_loaded), sum(rows_quarantined), count(*) filter (where status = 'rejected') "
            "from raw.ingest_log group by feed"
        ).fetchall()
        assert {feed for feed, *_ in per_feed} == set(FEEDS)
        assert [(feed, bad, rejected) for feed, _, bad, rejected in per_feed if bad or rejected] == []
        # The cross-feed rules had order lines to compare with (orders load before returns): every return's.
        unknown, returns = con.execute(
            "select count(*) filter (where o.order_id is null), count(*) from raw.returns r "
            "left join (select distinct order_id, line_number from raw.orders) o using (order_id, line_number)"
        ).fetchall()[0]
        assert returns > 0 and unknown == 0
        for feed in FEEDS.values():
            load_id = checks.latest_load(con, feed).load_id
            for outlier in feed.outliers:
                assert checks.find_outliers(con, feed, outlier, load_id).count == 0, outlier.name
            assert checks.find_misnamed_columns(con, feed, load_id) == [], feed.name
    finally:
        con.close()
