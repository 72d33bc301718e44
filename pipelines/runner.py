"""Run the whole asset graph once, in this process, and summarise what it did (for `scm run`)."""

from __future__ import annotations

from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import dagster as dg

from pipelines.settings import ensure_dagster_home, paths


@dataclass
class RunSummary:
    success: bool
    run_id: str
    materialized: dict[str, dict] = field(default_factory=dict)  # asset key -> metadata values
    checks: list[tuple[str, str, bool, str]] = field(default_factory=list)  # asset, check, passed, text
    failures: list[str] = field(default_factory=list)
    log_file: Path | None = None

    def render(self) -> str:
        lines = [f"run {self.run_id}: {'succeeded' if self.success else 'FAILED'}"]
        feeds = {k: v for k, v in self.materialized.items() if k.startswith("raw/")}
        if feeds:
            lines.append(f"{'feed':<16}{'files':>7}{'rejected':>10}{'read':>12}{'loaded':>12}{'quarantined':>13}")
            for key, m in feeds.items():
                lines.append(
                    f"{key.removeprefix('raw/'):<16}{m.get('files_new', 0):>7}{m.get('files_rejected', 0):>10}"
                    f"{m.get('rows_read', 0):>12,}{m.get('rows_loaded', 0):>12,}{m.get('rows_quarantined', 0):>13,}"
                )
        built = Counter(k.split("/")[0] for k in self.materialized if not k.startswith("raw/"))
        if built:
            lines.append("built: " + ", ".join(f"{n} {schema}" for schema, n in built.items()))
        bad = [c for c in self.checks if not c[2]]
        lines.append(f"checks: {len(self.checks) - len(bad)} passed, {len(bad)} need a look")
        lines += [f"  {asset} {check}: {text}" for asset, check, _, text in bad]
        if self.log_file:
            lines.append(f"log: {self.log_file}")
        return "\n".join(lines)


def _instance() -> dg.DagsterInstance:
    # Runs are recorded under the data directory so that `dagster dev` shows them too.
    ensure_dagster_home()
    return dg.DagsterInstance.get()


def run_everything(verbose: bool = False, forecast: dict | None = None) -> RunSummary:
    """The whole graph. forecast: settings for the forecast step (ForecastSettings fields)."""
    ops = {"demand_forecast": {"config": forecast}} if forecast else {}
    return run_job("everything", verbose, ops)


def run_backfill(start: date, end: date, verbose: bool = False) -> RunSummary:
    """The `refresh` job with the incremental facts also rebuilding their rows dated start .. end."""
    dates = {"backfill_from": start.isoformat(), "backfill_to": end.isoformat()}
    return run_job("refresh", verbose, {"warehouse_models": {"config": dates}})


def run_job(name: str, verbose: bool = False, ops: dict | None = None) -> RunSummary:
    """Run one of the code location's jobs in this process; ops: per-step config."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def(name)
    level = "INFO" if verbose else "WARNING"
    run_config: dict = {"loggers": {"console": {"config": {"log_level": level}}}}
    if ops:
        run_config["ops"] = ops

    def execute():
        return job.execute_in_process(instance=_instance(), raise_on_error=False, run_config=run_config)

    log_file = None
    if verbose:
        result = execute()
    else:
        # dbt's own progress lines go to stdout; keep them in a log file instead of the terminal.
        log_dir = paths().data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
        with log_file.open("w") as out, redirect_stdout(out):
            result = execute()
    summary = RunSummary(success=result.success, run_id=result.run_id, log_file=log_file)
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        summary.materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            (
                evaluation.asset_key.to_user_string(),
                evaluation.check_name,
                evaluation.passed,
                evaluation.description or "",
            )
        )
    for event in result.all_events:
        if event.is_step_failure:
            summary.failures.append(f"{event.step_key}: {event.event_specific_data.error.message.strip()}")
    return summary
