"""Dashboard benchmark: the latency of every query the pages run, and the Overview's time to first paint.

    .venv/bin/python benchmarks/dashboard.py --data-dir /path/to/data [--repeat 20] [--loads 5] [--no-browser]

--data-dir is a data directory with a published snapshot (build a scale-1 one with
`SCM_LANDING_DIR=<scale-1 landing> SCM_DATA_DIR=<dir> scm run`).

Queries: each query function of dashboards/queries*.py that a page calls, with the default filters (the last 12
complete months, everything else "all") and with one filtered variant (a category, a warehouse and, where the
query has one, a channel; or a three-month range), run `--repeat` times each. The functions are called without
their st.cache_data layer (what a new snapshot or a new filter costs), on one open read-only connection to the
snapshot, as the app keeps one. Bar: p95 <= 150 ms for every query.

First paint: `streamlit run dashboards/app.py` on the data directory, the Overview opened in headless Chromium, and
the time from the start of the navigation until the first KPI value is in the DOM, by the page's own clock. The
first load after the server starts (cold: Python imports, empty caches) is reported apart from the later loads
(a new browser session each, caches warm). Reported, not judged.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

P95_BAR_MS = 150.0
FIRST_KPI = '[data-testid="stMetricValue"]'


def _cases(path: str) -> list[tuple[str, str, str, object, tuple]]:
    """(page, query, variant, function, args) for every query a page runs, each distinct call once."""
    from dashboards import queries as q
    from dashboards import queries_customers as qc
    from dashboards import queries_replenishment as qr
    from dashboards.filters import default_months

    options = q.filter_options.__wrapped__(path)
    first, last = default_months(options["months"], options["as_of_date"])
    recent = options["months"][max(0, options["months"].index(last) - 2)]
    category, warehouse = options["categories"][0], options["warehouses"][0][0]
    # A filtered variant that selects something: a channel the warehouse sells through.
    channel = next(
        (
            c
            for c in options["channels"]
            if q.fulfilment_monthly.__wrapped__(path, first, last, category, warehouse, c).height
        ),
        options["channels"][0],
    )
    filtered = f"{category}/{warehouse}"
    series = q.forecast_series.__wrapped__(path, None, None).row(0, named=True)
    others = q.forecast_series.__wrapped__(path, category, warehouse).filter(
        (pl.col("sku") != series["sku"]) | (pl.col("warehouse_id") != series["warehouse_id"])
    )
    series_filtered = others.row(0, named=True) if others.height else series

    def both(fn, default: tuple, narrowed: tuple, label: str = filtered) -> list:
        return [(fn, "default", default), (fn, label, narrowed)]

    pages = {
        "frame": [(q.filter_options, "default", (path,)), (q.snapshot_meta, "default", (path,))],
        "overview": [
            *both(
                q.kpi_monthly,
                (path, q.HEADLINE_KPIS, first, last),
                (path, q.HEADLINE_KPIS, recent, last),
                f"{recent:%b %y}-{last:%b %y}",
            ),
            (q.forecast_wape, "default", (path,)),
            (qr.replenishment_exceptions, "default", (path, None, None)),
            (q.open_purchase_orders, "default", (path, None, None)),
        ],
        "fulfilment": [
            *both(
                q.fulfilment_monthly,
                (path, first, last, None, None, None),
                (path, first, last, category, warehouse, channel),
                f"{filtered}/{channel}",
            ),
            *both(
                q.fulfilment_breakdown,
                (path, first, last, None, None, None),
                (path, first, last, category, warehouse, channel),
                f"{filtered}/{channel}",
            ),
        ],
        "inventory": [
            *both(q.inventory_monthly, (path, first, last, None, None), (path, first, last, category, warehouse)),
            *both(q.stock_daily, (path, first, last, None, None), (path, first, last, category, warehouse)),
            *both(q.inventory_position, (path, None, None), (path, category, warehouse)),
            *both(q.stock_by_cover, (path, None, None), (path, category, warehouse)),
            *both(q.excess_stock, (path, None, None), (path, category, warehouse)),
        ],
        "suppliers": [
            *both(
                q.kpi_monthly,
                (path, q.SOURCE_KPIS, first, last),
                (path, q.SOURCE_KPIS, recent, last),
                f"{recent:%b %y}-{last:%b %y}",
            ),
            (q.supplier_scorecard, "default", (path,)),
            *both(q.supplier_lead_times, (path, first, last, None, None), (path, first, last, category, warehouse)),
            (q.open_purchase_orders, filtered, (path, category, warehouse)),
        ],
        "returns": [
            *both(q.return_rates_monthly, (path, first, last, None), (path, first, last, category), category),
            *both(q.returns_breakdown, (path, first, last, None), (path, first, last, category), category),
            *both(q.return_rates_by_category, (path, first, last, None), (path, first, last, category), category),
            *both(q.returns_by_supplier, (path, first, last, None), (path, first, last, category), category),
        ],
        "forecast": [
            *both(q.forecast_accuracy, (path, None, None), (path, category, warehouse)),
            *both(q.forecast_series, (path, None, None), (path, category, warehouse)),
            *both(
                q.demand_history,
                (path, series["sku"], series["warehouse_id"], 91),
                (path, series_filtered["sku"], series_filtered["warehouse_id"], 91),
            ),
            *both(
                q.series_forecast,
                (path, series["sku"], series["warehouse_id"]),
                (path, series_filtered["sku"], series_filtered["warehouse_id"]),
            ),
        ],
        "replenishment": [
            *both(qr.replenishment_totals, (path, None, None), (path, category, warehouse)),
            *both(qr.replenishment, (path, None, None), (path, category, warehouse)),
            (qr.replenishment_exceptions, filtered, (path, category, warehouse)),
        ],
        "customers": [
            (qc.finance_monthly, "default", (path, first, last)),
            (qc.finance_range, "default", (path, first, last)),
            *both(qc.customers_monthly, (path, first, last, None), (path, recent, last, channel), channel),
            (qc.rfm_segments, "default", (path,)),
        ],
    }
    seen, cases = set(), []
    for page, calls in pages.items():
        for fn, variant, args in calls:
            key = (fn.__name__, repr(args))
            if key not in seen:
                seen.add(key)
                cases.append((page, fn.__name__, variant, fn.__wrapped__, args))
    return cases


def bench_queries(path: str, repeat: int) -> bool:
    import streamlit.logger

    # The query functions are called outside a running app, which Streamlit's caches warn about once each.
    streamlit.logger.set_log_level("error")
    from dashboards import queries as q

    q._database(path)  # the app's one open connection per snapshot, opened before timing as it is in the app
    cases = _cases(path)
    print(f"{'page':<14}{'query':<26}{'variant':<36}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}  rows")
    ok = True
    for page, name, variant, fn, args in cases:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn(*args)
            samples.append((time.perf_counter() - start) * 1000)
        p50, p95 = np.percentile(samples, [50, 95])
        rows = getattr(result, "height", 1)
        passed = p95 <= P95_BAR_MS
        ok &= passed
        print(
            f"{page:<14}{name:<26}{variant[:35]:<36}{p50:>8.1f}{p95:>8.1f}{max(samples):>8.1f}  {rows:<6}"
            f"{'PASS' if passed else 'FAIL'}"
        )
    print(f"queries: {len(cases)} x {repeat} runs; bar p95 <= {P95_BAR_MS:.0f} ms each -> {'PASS' if ok else 'FAIL'}")
    return ok


def bench_first_paint(data_dir: Path, loads: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.dashboards.browser import browser_env, launch_chromium, new_context, streamlit_server, times_to_first

    with tempfile.TemporaryDirectory(prefix="scm-dash-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        with streamlit_server(browser_env(data_dir), work / "streamlit.log") as url, sync_playwright() as playwright:
            print(f"streamlit server healthy after {time.perf_counter() - started:.1f} s")
            browser = launch_chromium(playwright)
            try:
                times = times_to_first(new_context(browser, height=1600), f"{url}/overview", FIRST_KPI, loads)
            finally:
                browser.close()
    warm = times[1:]
    print(
        f"Overview, first KPI in the DOM: cold {times[0]:.0f} ms (first load after the server started)"
        + (
            f"; warm median {np.median(warm):.0f} ms, min {min(warm):.0f}, max {max(warm):.0f} over {len(warm)} loads"
            if warm
            else ""
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("SCM_DATA_DIR", ROOT / "data")))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--loads", type=int, default=5, help="page loads for the first-paint measurement")
    parser.add_argument("--no-browser", action="store_true", help="queries only")
    args = parser.parse_args()

    data_dir = args.data_dir.resolve()
    os.environ["SCM_DATA_DIR"] = str(data_dir)
    from pipelines import snapshot

    path = snapshot.current_path()
    if path is None:
        print(f"no snapshot in {data_dir}: run `scm run` there first", file=sys.stderr)
        return 2
    with snapshot.connect() as con:
        info = snapshot.info(con)
    print(
        f"snapshot {path.name} ({path.stat().st_size / 2**20:.0f} MiB), as of {info.as_of_date}, run "
        f"{info.run_id[:8]}; {date.today()}, {os.cpu_count()} CPUs"
    )
    ok = bench_queries(str(path), args.repeat)
    if not args.no_browser:
        bench_first_paint(data_dir, args.loads)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
