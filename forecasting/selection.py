"""Pick one model per series from its backtest.

- Candidates: every model that ran for the series, except seasonal naive on intermittent series (average
  demand interval above `intermittent_adi`, the Syntetos-Boylan cut-off). There it copies last week's
  sporadic sales onto the same weekdays, and wins a backtest only when the week before each cut-off
  happened to be empty (a zero forecast, WAPE exactly 1), which is luck rather than skill: on the demo
  data such picks had twice the held-out error. It is still scored, as the FVA reference.
- The lowest backtest WAPE among the candidates wins.
- Ties (equal WAPE, e.g. two models that both forecast the same) go to the model listed first in
  `preference` (simplest first), so an expensive model is chosen only when it is strictly better.
- Where WAPE is undefined because the backtest saw no demand at all (sum of actuals = 0), the lowest mean
  absolute error wins, i.e. the model that forecast closest to zero; ties again by preference.
- A series with no scored backtest day (history shorter than `min_train_days` before every cut-off, or
  censored throughout) gets `fallback_model`.
"""

from __future__ import annotations

import polars as pl

KEYS = ["sku", "warehouse_id"]


def select_models(
    metrics: pl.DataFrame, series: pl.DataFrame, preference: tuple[str, ...], fallback: str, tolerance: float = 0.0
) -> pl.DataFrame:
    """metrics: sku, warehouse_id, model, wape, mae, is_candidate (one row per series and model that ran);
    series: sku, warehouse_id of every series. -> sku, warehouse_id, model, wape, seasonal_naive_wape."""
    rank = pl.DataFrame({"model": list(preference), "_pref": list(range(len(preference)))})
    scored = (
        metrics.filter(pl.col("is_candidate") & pl.col("mae").is_not_null())
        .join(rank, on="model", how="left")
        .with_columns(
            # Series with any defined WAPE are ranked by it; series without, by MAE.
            pl.col("wape").is_not_null().any().over(KEYS).alias("_has_wape"),
        )
        .with_columns(pl.when(pl.col("_has_wape")).then(pl.col("wape")).otherwise(pl.col("mae")).alias("_key"))
        .filter(pl.col("_key").is_not_null())
        # Within `tolerance` of the best (relative; 1e-12 absolute for float noise) counts as a tie.
        .filter(pl.col("_key") <= pl.col("_key").min().over(KEYS) * (1 + tolerance) + 1e-12)
        .sort([*KEYS, "_pref"])
        .group_by(KEYS, maintain_order=True)
        .first()
        .select(*KEYS, "model")
    )
    snaive = metrics.filter(pl.col("model") == "seasonal_naive").select(
        *KEYS, pl.col("wape").alias("seasonal_naive_wape")
    )
    return (
        series.select(KEYS)
        .join(scored, on=KEYS, how="left")
        .with_columns(pl.col("model").fill_null(fallback))
        .join(metrics.select(*KEYS, "model", "wape"), on=[*KEYS, "model"], how="left")
        .join(snaive, on=KEYS, how="left")
        .select(*KEYS, "model", "wape", "seasonal_naive_wape")
        .sort(KEYS)
    )
