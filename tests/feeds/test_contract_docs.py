from pipelines.feeds.contract import FEEDS
from pipelines.feeds.docs import DOC_PATH, render


def test_published_contract_is_generated_from_the_code():
    assert DOC_PATH.read_text() == render(), "run `python -m pipelines.feeds.docs` to refresh docs/feed-contract.md"


def test_every_feed_rule_and_column_is_documented():
    page = render()
    for feed in FEEDS.values():
        assert f"### {feed.name}" in page
        for rule in feed.all_rules():
            assert f"`{rule.name}`" in page


def test_dbt_sources_are_generated_from_the_code():
    from pipelines.feeds.dbt_sources import SOURCES_PATH
    from pipelines.feeds.dbt_sources import render as render_sources

    assert SOURCES_PATH.read_text() == render_sources(), "run `python -m pipelines.feeds.dbt_sources`"
