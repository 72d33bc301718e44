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
    from pipelines.dbt_sources import GENERATED

    for path, render_sources in GENERATED.items():
        assert path.read_text() == render_sources(), f"{path.name}: run `python -m pipelines.dbt_sources`"
