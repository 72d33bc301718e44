"""Selection: a group's model unless a series' own evidence is strong; candidates, MAE and fallback rules."""

from __future__ import annotations

import numpy as np

from forecasting.selection import groups, select

MODELS = ["seasonal_naive", "moving_average", "imapa", "lightgbm"]
PREFERENCE = tuple(MODELS)


def _panel(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores where lightgbm is best for the group (0.8 against imapa's 1.0 on every cut-off)."""
    by_cutoff = np.empty((n, len(MODELS), 3))
    by_cutoff[:, 0] = 1.5
    by_cutoff[:, 1] = 1.2
    by_cutoff[:, 2] = 1.0
    by_cutoff[:, 3] = 0.8
    mae = np.ones((n, len(MODELS)))
    return by_cutoff, mae, np.ones((n, len(MODELS)), bool)


def test_a_series_takes_its_groups_model_unless_it_beats_it_clearly_on_every_cutoff():
    by_cutoff, mae, candidate = _panel(10)
    # Series 1: imapa better on average but not on every cut-off: weak evidence, the group's model stays.
    by_cutoff[1, 2] = [0.2, 0.3, 0.9]
    # Series 2: imapa better on every cut-off and by more than the margin: its own model.
    by_cutoff[2, 2] = [0.5, 0.5, 0.5]
    # Series 3: better on every cut-off, but by less than the margin (0.76 vs 0.8 is 5%).
    by_cutoff[3, 2] = [0.76, 0.76, 0.76]
    choice = select(by_cutoff, mae, candidate, ["smooth"] * 10, MODELS, PREFERENCE, "moving_average", 0.1)
    picked = [MODELS[k] for k in choice.model]
    assert picked == ["lightgbm", "lightgbm", "imapa"] + ["lightgbm"] * 7
    assert choice.reason[0].startswith("group smooth: lightgbm")
    assert choice.reason[2].startswith("series: imapa beat the group's lightgbm on all 3 cut-offs")


def test_groups_choose_separately_and_a_model_that_did_not_run_gives_way_to_the_next():
    by_cutoff, mae, candidate = _panel(8)
    by_cutoff[4:, 2] = 0.7  # the intermittent group: imapa beats lightgbm (0.8) there
    candidate[4:, 0] = False  # and seasonal naive is no candidate for intermittent series
    by_cutoff[4:, 0] = 0.1  # ... however well it scored
    candidate[0, 3] = False  # lightgbm did not run for series 0: the group's next model
    labels = ["smooth"] * 4 + ["intermittent"] * 4
    choice = select(by_cutoff, mae, candidate, labels, MODELS, PREFERENCE, "moving_average", 0.1)
    picked = [MODELS[k] for k in choice.model]
    assert picked == ["imapa", "lightgbm", "lightgbm", "lightgbm", "imapa", "imapa", "imapa", "imapa"]


def test_ties_go_to_the_simpler_model_and_unscored_series_to_mae_or_the_fallback():
    by_cutoff, mae, candidate = _panel(4)
    by_cutoff[:, 3] = 1.0  # lightgbm ties imapa: the simpler, listed first, wins
    by_cutoff[2] = np.nan  # no scale: the lowest MAE
    mae[2] = [3.0, 2.0, 0.5, 0.5]
    by_cutoff[3] = np.nan  # nothing scored at all
    mae[3] = np.nan
    choice = select(by_cutoff, mae, candidate, ["smooth"] * 4, MODELS, PREFERENCE, "moving_average", 0.1)
    picked = [MODELS[k] for k in choice.model]
    assert picked == ["imapa", "imapa", "imapa", "moving_average"]
    assert choice.reason[2] == "no scale: lowest backtest MAE, imapa"
    assert choice.reason[3].startswith("fallback")


def test_small_categories_choose_at_the_demand_class_level():
    labels = groups(["smooth"] * 5 + ["lumpy"] * 2, ["a", "a", "a", "b", None, "a", "a"], min_group_series=3)
    assert labels == ["smooth/a", "smooth/a", "smooth/a", "smooth", "smooth", "lumpy", "lumpy"]
