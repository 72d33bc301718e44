"""Every code the data can carry and every forecast model has a plain label: a code added to the feed contract or
a model added to the forecast configuration without one fails here."""

from __future__ import annotations

import pytest

from dashboards import labels
from dashboards.kpis import KPIS
from forecasting.config import MODELS
from pipelines.feeds import contract


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("reason", contract.RETURN_REASONS),
        ("disposition", contract.DISPOSITIONS),
        ("channel", contract.CHANNELS),
        ("model", MODELS),
    ],
)
def test_every_accepted_code_has_a_label(kind, codes):
    missing = [c for c in codes if c not in labels.CODES[kind]]
    assert not missing, f"no {kind} label for {missing}"
    assert all(labels.code(kind, c) != c for c in codes), "a label that is the code itself"


def test_the_contract_sets_are_the_ones_its_rules_check():
    # The sets read above are what the contract's in-set rules accept for these columns.
    accepted = {
        (r.column, tuple(r.values)) for feed in contract.FEEDS.values() for r in feed.rules if r.kind == "in_set"
    }
    assert ("reason_code", contract.RETURN_REASONS) in accepted
    assert ("disposition", contract.DISPOSITIONS) in accepted
    assert ("channel", contract.CHANNELS) in accepted


def test_model_names():
    assert labels.model("tsb") == "TSB (intermittent)"
    assert labels.model("auto_ets") == "AutoETS"
    assert labels.model("lightgbm") == "LightGBM (global)"
    assert labels.model("not_a_model") == "not_a_model"
    assert labels.model(None) is None


def test_every_kpi_has_its_name_from_the_one_mapping():
    assert {name: kpi.label for name, kpi in KPIS.items()} == {name: labels.KPI_NAMES[name] for name in KPIS}
    assert labels.header("line_otif_rate") == "Line OTIF"


def test_no_code_means_two_things():
    # ANY_CODE labels a column that mixes kinds (the breakdown marts' `member`): one code, one label.
    seen: dict[str, str] = {}
    for mapping in labels.CODES.values():
        for code, label in mapping.items():
            assert seen.setdefault(code, label) == label, code


def test_headers_from_column_names():
    assert labels.header("lead_time_days") == "Lead time"
    assert labels.header("units_ordered_28d") == "Units ordered (28 days)"
    assert labels.header("supplier_defect_ppm") == "Inbound defects"
    assert labels.header("on_time_qty") == "On time quantity"
    assert labels.header("auto_theta") == "AutoTheta"  # a pivot by model
