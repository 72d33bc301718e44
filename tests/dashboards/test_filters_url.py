"""The sidebar filters in the URL, by hand: what a URL selects, what an invalid value falls back to, and which
parameters the current selection writes."""

from __future__ import annotations

from datetime import date

from dashboards import filters

MONTHS = [date(2025, m, 1) for m in range(1, 13)]
DEFAULT = (date(2025, 3, 1), date(2025, 12, 1))


def test_the_month_range_from_the_url():
    assert filters.months_from_url({"from": "2025-05", "to": "2025-07"}, MONTHS, DEFAULT) == (
        date(2025, 5, 1),
        date(2025, 7, 1),
    )
    # One end given: the other is the default's.
    assert filters.months_from_url({"from": "2025-05"}, MONTHS, DEFAULT) == (date(2025, 5, 1), date(2025, 12, 1))
    assert filters.months_from_url({}, MONTHS, DEFAULT) == DEFAULT


def test_invalid_months_fall_back_to_the_default():
    # A month the snapshot does not have: that end is the default's.
    assert filters.months_from_url({"from": "2024-12", "to": "2025-06"}, MONTHS, DEFAULT) == (
        DEFAULT[0],
        date(2025, 6, 1),
    )
    for params in (
        {"from": "May 2025"},
        {"from": "2025-13", "to": ""},
        {"from": "2025-07", "to": "2025-05"},  # the wrong way round
        {"from": "2024-12", "to": "2025-02"},  # the default's start after the URL's end
    ):
        assert filters.months_from_url(params, MONTHS, DEFAULT) == DEFAULT, params


def test_a_member_from_the_url_must_be_one_the_snapshot_has():
    assert filters.member_from_url({"category": "Tools"}, "category", ["Garden", "Tools"]) == "Tools"
    assert filters.member_from_url({"category": "tools"}, "category", ["Garden", "Tools"]) is None
    assert filters.member_from_url({}, "warehouse", {"WH1": "North"}) is None


def test_the_url_leaves_out_the_filters_at_their_default():
    chosen = filters.Selection("x.duckdb", *DEFAULT, category=None, warehouse="WH1", channel=None)
    assert filters.url_params(chosen, DEFAULT) == {
        "from": None,
        "to": None,
        "category": None,
        "warehouse": "WH1",
        "channel": None,
    }
    moved = filters.Selection("x.duckdb", date(2025, 5, 1), date(2025, 7, 1), "Tools", None, "web")
    assert filters.url_params(moved, DEFAULT) == {
        "from": "2025-05",
        "to": "2025-07",
        "category": "Tools",
        "warehouse": None,
        "channel": "web",
    }
    # What the URL writes reads back as the same selection.
    params = {k: v for k, v in filters.url_params(moved, DEFAULT).items() if v}
    assert filters.months_from_url(params, MONTHS, DEFAULT) == moved.months
