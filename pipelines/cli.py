"""`scm`: the project's command line (set up a data directory, check and map exports, generate demo feeds, run
the pipeline, query the published snapshot, send its alerts, open the dashboards and the dbt docs)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from pipelines.settings import Paths, paths

DEMO_SCALE = 0.1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Supply-chain analytics warehouse. Paths default under $SCM_DATA_DIR (./data)."""


@main.command()
@click.option(
    "--scale",
    type=float,
    default=DEMO_SCALE,
    show_default=True,
    help="1 = ~1,000 skus and ~1M order lines over two years; 0.01 = a handful of skus.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2024-01-01",
    show_default=True,
    help="First day whose files are written (later starts write increments of the same world).",
)
@click.option("--days", type=int, default=730, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--faults", is_flag=True, help="Also write bad files and rows, with faults_manifest.json.")
@click.option("--no-make", is_flag=True, help="A pure trader: no manufacturing, none of the Make feeds.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Default: the landing folder.")
def generate(
    scale: float, seed: int, start, days: int, fmt: str, faults: bool, no_make: bool, out: Path | None
) -> None:
    """Write demo feeds into the landing folder."""
    from pipelines.demo import generate as run_generator

    out = out or paths().landing
    summary = run_generator(
        out, scale=scale, seed=seed, start=start.date(), days=days, fmt=fmt, faults=faults, make=not no_make
    )
    for feed, files in summary.files_written.items():
        click.echo(f"{feed:<16} {files:>5} files {summary.rows_written[feed]:>10,} rows")
    if summary.manifest_path:
        click.echo(f"faults manifest: {summary.manifest_path}")
    click.echo(f"written to {out}")


@main.command()
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's step log.")
@click.option(
    "--job",
    type=click.Choice(["everything", "refresh", "forecast"]),
    default="everything",
    show_default=True,
    help="refresh: load and rebuild without refitting the forecast; forecast: "
    "refit and rebuild the planning marts only.",
)
def run(verbose: bool, job: str) -> None:
    """Run the pipeline once, in process, through Dagster (the whole asset graph by default).

    Exit status: 0 all passed (WARN checks may have failed), 1 the run failed, 3 it succeeded but an ERROR
    check needs a look."""
    from pipelines.progress import TerminalBar, set_sink
    from pipelines.runner import run_job

    set_sink(None if verbose else TerminalBar())
    try:
        summary = _unless_fault(lambda: run_job(job, verbose=verbose))
    finally:
        set_sink(None)
    _report(summary, "run")


@main.command()
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's step log.")
def backfill(start, end, verbose: bool) -> None:
    """Rebuild the facts dated FROM .. TO from all their raw versions, and everything downstream.

    Exit status as for `scm run`."""
    from pipelines.runner import run_backfill

    if end < start:
        click.echo("error: --to is before --from", err=True)
        sys.exit(2)
    _report(_unless_fault(lambda: run_backfill(start.date(), end.date(), verbose=verbose)), "backfill")


def _unless_fault(call):
    """call(), or, when a fault of the environment stops it before any step ran (a read-only data directory,
    a full disk under Dagster's run history), its one line on stderr and exit status 1."""
    from pipelines.errors import explain
    from pipelines.runner import EXIT_FAILED

    try:
        return call()
    except Exception as exc:
        fault = explain(exc)
        if fault is None:
            raise
        click.echo(f"error: {fault.message}", err=True)
        sys.exit(EXIT_FAILED)


def _report(summary, what: str) -> None:
    click.echo(summary.render())
    for line in summary.failures:
        click.echo(f"{what} failed at {line}", err=True)
    sys.exit(summary.exit_code)


@main.command()
@click.argument("query", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--max-rows",
    type=click.IntRange(min=0),
    default=None,
    help="Rows printed per result, 0 for all (default: 1000 for a table, every row for csv and json).",
)
def sql(query: str | None, fmt: str, max_rows: int | None) -> None:
    """Run a read-only QUERY against the published snapshot; without one, an interactive prompt (or the
    statements piped on stdin). Several statements print every result, in order.

    Readers cannot read or write files, load extensions or change settings; to export, redirect the
    output: `scm sql --format csv "select ..." > file.csv`."""
    from pipelines.query import DEFAULT_MAX_ROWS, QueryError, run

    if query is None:
        from pipelines.shell import repl

        failed = repl(max_rows=DEFAULT_MAX_ROWS if max_rows is None else max_rows or None)
        if failed and not sys.stdin.isatty():  # statements piped in: a script learns that one failed
            sys.exit(2)
        return
    limit = (DEFAULT_MAX_ROWS if fmt == "table" else None) if max_rows is None else max_rows or None
    # A cut table says so in its output; a cut csv or json says so on stderr, keeping the file clean.
    note = lambda line: click.echo(line, nl=False, err=fmt != "table")  # noqa: E731
    try:
        run(
            query,
            fmt,
            emit=lambda out: click.echo(out, nl=False),
            note=note,
            warn=lambda line: click.echo(f"warning: {line}", err=True),
            max_rows=limit,
        )
    except QueryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:  # the statement was cancelled first (query.execute)
        click.echo("cancelled", err=True)
        sys.exit(130)


@main.command()
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["stdout", "file", "webhook", "email"]),
    help="Send to this channel instead of the configured ones (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None, help="How stdout shows it.")
@click.option("--limit", type=int, default=None, help="Items listed per section (default 20; totals are whole).")
def alerts(channels: tuple[str, ...], fmt: str | None, limit: int | None) -> None:
    """Send the digest of what needs a look in the published snapshot (stockouts within the lead time, late
    PO lines, KPIs off target, files the last run did not load) to the channels of alerts.toml (docs/alerts.md).

    Exit status: 0 sent to every channel, 1 a channel failed, 2 no snapshot yet or unusable settings."""
    import dataclasses

    from pipelines.alerts.channels import SettingsError, load_settings, send
    from pipelines.alerts.digest import read_digest
    from pipelines.alerts.targets import TargetsError, load_targets
    from pipelines.snapshot import NoSnapshot

    try:
        settings = load_settings()
        if fmt is not None:
            options = {**settings.options, "stdout": {**settings.of("stdout"), "format": fmt}}
            settings = dataclasses.replace(settings, options=options)
        if limit is not None:
            settings = dataclasses.replace(settings, limit=max(limit, 0))
        digest = read_digest(load_targets(), settings.limit, warn=lambda line: click.echo(f"warning: {line}", err=True))
    except (SettingsError, TargetsError, NoSnapshot) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    outcomes = send(digest, settings, channels or None)
    for outcome in outcomes:
        if not outcome.ok:
            click.echo(f"error: {outcome.line()}", err=True)
    sys.exit(1 if any(not o.ok for o in outcomes) else 0)


@main.command()
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback unless told otherwise.")
def dashboard(port: int, host: str) -> None:
    """Serve the Streamlit dashboards on the published snapshot."""
    import subprocess

    # By its path: the dashboards are a reader of the snapshot, not part of the pipeline's code.
    serve = Path(__file__).resolve().parents[1] / "dashboards" / "serve.py"
    click.echo(f"dashboards on http://{host}:{port}  (Ctrl-C stops)")
    cmd = [sys.executable, str(serve), "--host", host, "--port", str(port)]
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(subprocess.call(cmd))


@main.command()
@click.option("--port", type=int, default=8580, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Only generate the site and print where it is.")
def docs(port: int, host: str, no_serve: bool) -> None:
    """Generate the dbt docs site from the published snapshot and serve it."""
    from pipelines.dbt_docs import generate_docs, serve_docs
    from pipelines.snapshot import NoSnapshot

    try:
        site = generate_docs()
    except NoSnapshot as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"dbt docs generated in {site}")
    if not no_serve:
        click.echo(f"serving on http://{host}:{port}  (Ctrl-C stops)")
        serve_docs(site, host, port)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--feed", default=None, help="The feed the files are (default: the folder's name).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(path: Path | None, feed: str | None, fmt: str) -> None:
    """Read a file or folder with its profile and say what would load, be quarantined or rejected; loads nothing.

    PATH is a file, a feed folder, or a landing folder of feed folders (default: the landing folder). Exit
    status: 0 every file would load whole, 1 rows would be quarantined, 2 a file would be rejected or a profile
    is bad."""
    from pipelines.feeds.check import EXIT_REJECT, CheckError, check_path

    try:
        report = check_path(path or paths().landing, feed=feed, warehouse=paths().warehouse)
    except CheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_REJECT)
    click.echo(report.to_json() if fmt == "json" else report.render(), nl=fmt == "json")
    sys.exit(report.exit_code)


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def init(directory: Path | None) -> None:
    """Create a data directory (default: $SCM_DATA_DIR) with a landing folder and an example profile per feed."""
    from pipelines.feeds.scaffold import init_data_dir, next_steps

    data_dir = directory.resolve() if directory else paths().data_dir
    landing = Paths(data_dir).own_landing if directory else paths().landing
    result = init_data_dir(data_dir, landing)
    click.echo(next_steps(result, landing, default=data_dir == paths().data_dir), nl=False)


@main.group()
def profile() -> None:
    """Feed profiles: how your own exports map onto the contract."""


@profile.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--feed", required=True, help="The feed the file is.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the draft here (default: stdout).")
def suggest(file: Path, feed: str, out: Path | None) -> None:
    """Draft a profile for FILE: delimiter, decimal mark, encoding, date formats and column mapping, every
    guess marked for you to confirm."""
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.suggest import SuggestError, suggest_profile

    if feed not in FEEDS:
        click.echo(f"error: {feed!r} is not a feed (one of {', '.join(FEEDS)})", err=True)
        sys.exit(2)
    try:
        draft = suggest_profile(file, FEEDS[feed])
    except SuggestError as exc:
        click.echo(f"error: {file}: {exc}", err=True)
        sys.exit(2)
    if out is None:
        click.echo(draft.text, nl=False)
        return
    if out.exists():
        click.echo(f"error: {out} exists; not overwritten (remove it or pass another --out)", err=True)
        sys.exit(2)
    out.write_text(draft.text, encoding="utf-8")
    click.echo(f"draft profile written to {out}: confirm every line marked GUESS or TODO, then run scm check")


if __name__ == "__main__":
    main()
