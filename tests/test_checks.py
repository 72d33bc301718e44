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
