"""Demand forecasting per sku and warehouse: Prophet and numpy baselines, rolling-origin backtests,
per-series model selection. Plain Python on polars frames (no Dagster): the assets and the CLI wrap it.

    history = demand_history(order_lines, inventory, warehouses, as_of)
    run = run_forecast(history, ForecastConfig(), as_of=as_of, progress=print)
    run.forecasts, run.metrics, run.selection, run.params
"""

from .config import MODELS, ForecastConfig
from .history import demand_history
from .run import ForecastRun, run_forecast

__all__ = ["MODELS", "ForecastConfig", "ForecastRun", "demand_history", "run_forecast"]
