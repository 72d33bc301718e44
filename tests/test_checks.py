"""How a raw batch's check result is judged: what warns and what fails."""

import dagster as dg
import pytest

from pipelines.checks import LoadStats, judge
from pipelines.feeds.expectations import ExpectationOutcome

OK = ExpectationOutcome("channel_accepted", "expect_column_values_to_be_in_set", True, 0, [])
FAILED = ExpectationOutcome("channel_accepted", "expect_column_values_to_be_in_set", False, 2, ["fax"])


@pytest.mark.parametrize(
    ("stats", "outcomes", "passed", "severity"),
    [
        (LoadStats("L", 1000, 0, 0), [OK], True, dg.AssetCheckSeverity.WARN),
        (LoadStats("L", 1000, 3, 0), [OK], False, dg.AssetCheckSeverity.WARN),
        (LoadStats("L", 1000, 51, 0), [OK], False, dg.AssetCheckSeverity.ERROR),
        (LoadStats("L", 1000, 0, 1), [OK], False, dg.AssetCheckSeverity.ERROR),
        (LoadStats("L", 1000, 0, 0), [FAILED], False, dg.AssetCheckSeverity.ERROR),
    ],
)
def test_judge(stats, outcomes, passed, severity):
    got_passed, got_severity, text = judge(stats, outcomes)
    assert (got_passed, got_severity) == (passed, severity)
    assert text


def test_freshness_warns_when_a_daily_feed_stops_arriving():
    from datetime import datetime, timedelta

    from pipelines.checks import freshness_checks, judge_freshness
    from pipelines.feeds.contract import FEEDS

    orders, now = FEEDS["orders"], datetime(2026, 3, 2, 6, 0)
    assert judge_freshness(orders, now - timedelta(hours=25), now)[0]
    passed, summary = judge_freshness(orders, now - timedelta(hours=30), now)
    assert not passed and summary == "no new orders file for 30 h (expected every 26 h)"
    assert judge_freshness(orders, None, now) == (False, "no orders file has arrived yet")
    # Master data is sent when it changes: no freshness check for it.
    checked = {key.asset_key.path[-1] for c in freshness_checks for key in c.check_keys}
    assert checked == {"orders", "inventory", "purchase_orders", "returns"}
