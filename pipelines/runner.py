"""Run the whole asset graph once, in this process, and summarise what it did (for `scm run`).

The summary decides the command's exit code (`RunSummary.exit_code`), so that a scheduler can alert on
it: 0 when everything passed or only WARN checks failed, 1 when the run failed, 3 when it succeeded but a
check of ERROR severity needs a look (a rejected file, a quarantined share over the limit: the severities
are decided where each check is, pipelines/checks.py and the dbt tests' configs). A failed step is named
with what failed: the fault sentence of pipelines/errors.py, a step's own failure message, or the
innermost error under Dagster's retry wrapper.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, NamedTuple

import dagster as dg

from pipelines import errors
from pipelines.settings import ensure_dagster_home, paths

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NEEDS_A_LOOK = 3  # succeeded, but an ERROR check failed


class CheckOutcome(NamedTuple):
    asset: str
    check: str
    passed: bool
    text: str
    severity: str = "ERROR"  # dg.AssetCheckSeverity's value: "ERROR" or "WARN"
    metadata: dict | None = None


@dataclass
class RunSummary:
    success: bool
    run_id: str
    materialized: dict[str, dict] = field(default_factory=dict)  # asset key -> metadata values
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line per distinct cause: "<steps>: <cause>"
    log_file: Path | None = None

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        # ERROR first: they are what the exit code is about.
        return sorted((c for c in self.checks if not c.passed), key=lambda c: c.severity != "ERROR")

    @property
    def exit_code(self) -> int:
        if not self.success:
            return EXIT_FAILED
        if any(c.severity == "ERROR" for c in self.failed_checks):
            return EXIT_NEEDS_A_LOOK
        return EXIT_OK

    def render(self) -> str:
        lines = [f"run {self.run_id}: {'succeeded' if self.success else 'FAILED'}"]
        feeds = {k: v for k, v in self.materialized.items() if k.startswith("raw/") and not _never_sent(k, v)}
        if feeds:
            lines.append(f"{'feed':<16}{'files':>7}{'rejected':>10}{'read':>12}{'loaded':>12}{'quarantined':>13}")
            for key, m in feeds.items():
                lines.append(
                    f"{key.removeprefix('raw/'):<16}{m.get('files_new', 0):>7}{m.get('files_rejected', 0):>10}"
                    f"{m.get('rows_read', 0):>12,}{m.get('rows_loaded', 0):>12,}{m.get('rows_quarantined', 0):>13,}"
                )
            # Entries of a feed folder that are not feed files, or not finished: each is in the ingest log with why.
            passed_over = [
                f"{key.removeprefix('raw/')} {n} {what}"
                for key, m in feeds.items()
                for what, n in (
                    ("skipped", m.get("files_skipped", 0)),
                    ("still being written", m.get("files_waiting", 0)),
                    ("waiting for their profile to be fixed", m.get("files_waiting_for_profile", 0)),
                )
                if n
            ]
            if passed_over:
                lines.append(f"not loaded: {', '.join(passed_over)} (meta.ingest_log says why)")
        built = Counter(k.split("/")[0] for k in self.materialized if not k.startswith("raw/"))
        if built:
            lines.append("built: " + ", ".join(f"{n} {schema}" for schema, n in built.items()))
        bad = self.failed_checks
        levels = Counter(c.severity for c in bad)
        detail = f" ({', '.join(f'{n} {level}' for level, n in sorted(levels.items()))})" if bad else ""
        lines.append(f"checks: {len(self.checks) - len(bad)} passed, {len(bad)} need a look{detail}")
        lines += [f"  {c.severity:<5} {c.asset} {c.check}: {c.text}" for c in bad]
        if self.log_file:
            lines.append(f"log: {self.log_file}")
        return "\n".join(lines)


def _never_sent(key: str, metadata: dict) -> bool:
    """An optional feed (a Make feed, for a business that only trades) with nothing in its folder: no line."""
    from pipelines.feeds.contract import FEEDS

    feed = FEEDS.get(key.removeprefix("raw/"))
    return feed is not None and feed.optional and not any(v for k, v in metadata.items() if k.startswith("files_"))


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
    from pipelines.assets.dbt_project import prepare_manifest

    prepare_manifest()  # an edited model is never built from a stale manifest; the definitions read it
    from pipelines.definitions import defs

    job = defs.resolve_job_def(name)
    run_config: dict = {"ops": ops} if ops else {}

    log_file = None
    if verbose:
        run_config["loggers"] = {"console": {"config": {"log_level": "INFO"}}}
        result = job.execute_in_process(instance=_instance(), raise_on_error=False, run_config=run_config)
    else:
        # dbt's own progress lines go to stdout; keep them in a log file instead of the terminal, with
        # Dagster's log (failures with their stack traces) beside them.
        log_dir = paths().logs
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
        with log_file.open("w") as out, redirect_stdout(out):
            quiet = job.with_logger_defs({"console": _console_logger(out)})
            run_config["loggers"] = {"console": {}}  # a job's logger runs only when the run config names it
            result = quiet.execute_in_process(instance=_instance(), raise_on_error=False, run_config=run_config)
    return summarise(result, log_file)


def summarise(result, log_file: Path | None = None) -> RunSummary:
    """The summary of an ExecuteInProcessResult."""
    summary = RunSummary(success=result.success, run_id=result.run_id, log_file=log_file)
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        summary.materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                passed=evaluation.passed,
                text=evaluation.description or "",
                severity=evaluation.severity.value,
                metadata={k: v.value for k, v in evaluation.metadata.items()},
            )
        )
    summary.failures = failure_lines(result.all_events)
    return summary


def failure_lines(events) -> list[str]:
    """One line per distinct cause of failure, naming the steps it stopped, in the order they failed."""
    causes: dict[str, list[str]] = {}
    for event in events:
        if event.is_step_failure:
            data = event.event_specific_data
            # A step that raised dg.Failure (every fault errors.py names) said what happened itself.
            described = data.user_failure_data.description if data.user_failure_data else None
            cause = errors.one_line(described, limit=1000) if described else errors.root_cause(data.error)
            causes.setdefault(cause, []).append(event.step_key.replace("__", "/"))
    if not causes:
        # The run stopped outside any step (a resource that could not start, say).
        for event in events:
            if event.is_run_failure and event.event_specific_data and event.event_specific_data.error:
                causes.setdefault(errors.root_cause(event.event_specific_data.error), []).append("the start")
    lines = []
    for cause, steps in causes.items():
        shown = ", ".join(steps[:3]) + (f" and {len(steps) - 3} more" if len(steps) > 3 else "")
        lines.append(f"{shown}: {cause}")
    return lines


def _console_logger(log: IO[str]) -> dg.LoggerDefinition:
    """Dagster's log for `scm run` without -v: warnings (a run waiting for the run lock, a feed's first
    bad rows) on stderr as they happen, one line each; everything from INFO, stack traces included, in the
    run's log. Errors are not printed as they happen: the summary names each failure once, in one line."""

    @dg.logger(description="scm run: warnings on the terminal, the whole log in the run's log file")
    def console(_init_context) -> logging.Logger:
        logger = logging.Logger("dagster", level=logging.INFO)
        terminal = logging.StreamHandler(sys.stderr)
        terminal.setLevel(logging.WARNING)
        terminal.addFilter(lambda record: record.levelno < logging.ERROR)
        terminal.setFormatter(_FirstLine(_LOG_FORMAT, _DATE_FORMAT))
        to_file = logging.StreamHandler(log)
        to_file.setFormatter(logging.Formatter(_LOG_FORMAT, _DATE_FORMAT))
        logger.addHandler(terminal)
        logger.addHandler(to_file)
        return logger

    return console


_LOG_FORMAT, _DATE_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s", "%Y-%m-%d %H:%M:%S %z"


class _FirstLine(logging.Formatter):
    """A record's first line, without the traceback a library attached to it (the run's log has it)."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).splitlines()[0]

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return ""
