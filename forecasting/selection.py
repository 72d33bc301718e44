"""Pick one model per series from the backtest, by group unless a series' own evidence is strong.

A few short backtest windows per series mostly measure noise: the model that happened to win a series'
three cut-offs is often not the one that forecasts it best next month. Series that behave alike share a
model instead, and a series keeps a model of its own only when the evidence for it is strong.

- Score: per cut-off, RMSSE + `lead_time_weight` x the lead-time error of the horizon's total
  (metrics.py), both scale-free; a model's score for a series is the mean over its scored cut-offs.
- Groups: the demand class (smooth, erratic, intermittent, lumpy: panel.series_keys), split by product
  category where the class has at least `min_group_series` series in that category.
- The group's model: the lowest mean score over the group's series, among the models that ran and were
  candidates for at least `GROUP_COVERAGE` of them; ties go to the model listed first in `preference`
  (simplest first). A series the group's model did not run for takes the next one in the group's ranking.
- A series' own best model replaces the group's when it beat it on every scored cut-off (at least two)
  and by at least `margin` of the group model's score.
- Candidates: every model that ran for the series, except seasonal naive on intermittent and lumpy
  series. There it copies last week's sporadic sales onto the same weekdays and wins a backtest only when
  the week before each cut-off happened to be empty, which is luck rather than skill. It is still scored,
  as the FVA reference.
- A series without a defined score (no scored day, or a flat history whose scale is 0) takes the lowest
  backtest MAE among its candidates; one with no scored day at all takes `fallback`.

Every choice comes with its reason, which the run writes beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROUP_COVERAGE = 0.8


@dataclass
class Choice:
    model: np.ndarray  # (n,) index into the models
    reason: list[str]
    group: list[str]


def groups(demand_class: list[str], category: list[str | None], min_group_series: int) -> list[str]:
    """Each series' selection group: `class/category` where that pair has enough series, else `class`."""
    pairs = list(zip(demand_class, category, strict=True))
    counts: dict[tuple[str, str | None], int] = {}
    for pair in pairs:
        counts[pair] = counts.get(pair, 0) + 1
    return [f"{c}/{cat}" if cat is not None and counts[(c, cat)] >= min_group_series else c for c, cat in pairs]


def _first_best(values: np.ndarray, allowed: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per row, the column with the lowest value among the allowed ones, ties by `order` (lower first);
    -1 where none is allowed."""
    key = np.where(allowed & ~np.isnan(values), values, np.inf)
    best = np.full(len(values), -1)
    if key.size == 0:
        return best
    low = key.min(axis=1, keepdims=True)
    tied = np.isfinite(key) & (key <= low + 1e-12)
    ranked = np.where(tied, order[None, :], np.iinfo(np.int64).max)
    pick = ranked.argmin(axis=1)
    best[np.isfinite(low[:, 0])] = pick[np.isfinite(low[:, 0])]
    return best


def select(
    by_cutoff: np.ndarray,
    mae: np.ndarray,
    candidate: np.ndarray,
    group: list[str],
    models: list[str],
    preference: tuple[str, ...],
    fallback: str,
    margin: float,
) -> Choice:
    """by_cutoff: (n, n_models, n_cutoffs) scores, NaN where unscored; mae: (n, n_models) backtest MAE;
    candidate: (n, n_models) may be selected (ran for the series and is allowed for it)."""
    n, m = mae.shape
    order = np.array([preference.index(name) if name in preference else len(preference) for name in models])
    with np.errstate(invalid="ignore"):
        seen = ~np.isnan(by_cutoff)
        score = np.where(seen.any(axis=2), np.nansum(by_cutoff, axis=2) / np.maximum(seen.sum(axis=2), 1), np.nan)
    scored = candidate & ~np.isnan(score)
    chosen = np.full(n, models.index(fallback))
    reasons = [f"fallback: no scored backtest day, {fallback}"] * n
    labels = np.array(group, dtype=object)
    for name in dict.fromkeys(group):
        rows = np.flatnonzero(labels == name)
        ok = scored[rows]
        coverage = ok.mean(axis=0)
        mean = np.where(ok, score[rows], 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
        eligible = coverage >= GROUP_COVERAGE
        ranking = sorted(np.flatnonzero(eligible), key=lambda k: (mean[k], order[k]))
        own = _first_best(score[rows], ok, order)
        for pos, i in enumerate(rows):
            if own[pos] < 0:
                continue
            group_model = next((k for k in ranking if ok[pos, k]), own[pos])
            pick, mine = group_model, own[pos]
            cuts = seen[i, mine] & seen[i, group_model]
            beats = (
                mine != group_model
                and cuts.sum() >= 2
                and bool(np.all(by_cutoff[i, mine, cuts] < by_cutoff[i, group_model, cuts]))
                and score[i, mine] <= (1 - margin) * score[i, group_model]
            )
            if beats:
                pick = mine
                reasons[i] = (
                    f"series: {models[mine]} beat the group's {models[group_model]} on all {int(cuts.sum())} "
                    f"cut-offs (score {score[i, mine]:.3f} vs {score[i, group_model]:.3f})"
                )
            else:
                reasons[i] = (
                    f"group {name}: {models[group_model]} (mean score {mean[group_model]:.3f} over {len(rows)} series)"
                )
            chosen[i] = pick
    # No defined score (a flat history, or no demand in the backtest): the model closest to what happened.
    no_score = ~scored.any(axis=1)
    by_mae = _first_best(mae, candidate & ~np.isnan(mae), order)
    for i in np.flatnonzero(no_score & (by_mae >= 0)):
        chosen[i] = by_mae[i]
        reasons[i] = f"no scale: lowest backtest MAE, {models[by_mae[i]]}"
    return Choice(model=chosen, reason=reasons, group=list(group))
