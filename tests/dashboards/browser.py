"""Serve the dashboards and look at them in headless Chromium through Playwright: what the browser test and the
dashboard benchmark use.

`streamlit_server` runs the dashboards the one way dashboards/serve.py defines (`streamlit_command`) on a free
loopback port until /_stcore/health answers. `launch_chromium` starts Debian's chromium (`make browser` installs
it) through Playwright by its executable path, as Streamlit's own end-to-end tests drive a browser: Playwright's own
browser builds are never downloaded. Streamlit draws a page in the browser from the messages of its websocket, so
`wait_rendered` waits for the app to say that its script run is over before anything is read.

Only loopback URLs are opened; the browser runs with background networking, sync and component updates off.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dashboards.serve import streamlit_command

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# The first start on a fresh machine (binary and fonts not yet in the page cache) on busy cores is slow; later
# starts are quick. The timeout is for the first.
LAUNCH_TIMEOUT_S = 180

# A page has rendered when the app is connected, its script run is over (the app's script-run state, which its
# status widget shows), its title is there, no element is stale (what a rerun marks) or a skeleton (what stands in
# before the first element), and every chart has drawn its marks (Vega draws after the run).
_RENDERED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const count = (s) => document.querySelectorAll(s).length;
  return !!app && app.dataset.testConnectionState === 'CONNECTED' && app.dataset.testScriptState === 'notRunning'
    && !!document.querySelector('h1')
    && count('[data-stale="true"]') === 0 && count('[data-testid="stSkeleton"]') === 0
    && count('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks')
       >= count('[data-testid="stVegaLiteChart"]');
}"""

_PAGE_STATE_JS = """() => {
  const all = (s) => Array.from(document.querySelectorAll(s));
  const h1 = document.querySelector('h1');
  const text = (e, s) => { const found = e.querySelector(s); return found ? found.innerText : ''; };
  return {
    title: h1 ? h1.innerText.trim() : null,
    metrics: all('[data-testid="stMetric"]').map(m => ({
      label: text(m, '[data-testid="stMetricLabel"]'), value: text(m, '[data-testid="stMetricValue"]')})),
    exceptions: all('[data-testid="stException"]').map(e => e.innerText.slice(0, 500)),
    // The charts' axis labels, legends and mark labels are SVG text, which innerText leaves out.
    text: [document.body ? document.body.innerText : '',
           ...all('[data-testid="stVegaLiteChart"] svg text').map(t => t.textContent)].join('\\n'),
  };
}"""

# Records, in the page itself, when the first element matching the selector appears: performance.now() counts from
# the start of the navigation, so polling latency does not enter the measurement.
_FIRST_SEEN_JS = """(() => {
  window.__firstSeen = null;
  const seen = () => {
    if (window.__firstSeen === null && document.querySelector(%s)) { window.__firstSeen = performance.now(); }
    return window.__firstSeen !== null;
  };
  if (!seen()) {
    const observer = new MutationObserver(() => { if (seen()) observer.disconnect(); });
    observer.observe(document, {subtree: true, childList: true});
  }
})();"""


def chromium_path() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def browser_env(data_dir: Path) -> dict[str, str]:
    """The environment a dashboard server on `data_dir` runs with."""
    return {**os.environ, "SCM_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log: Path, port: int | None = None, timeout: float = 60) -> Iterator[str]:
    """Serve the dashboards with `env` (SCM_DATA_DIR says which snapshot); yields the base URL."""
    port = port or free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            streamlit_command("127.0.0.1", port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


def launch_chromium(playwright: Playwright, timeout: float = LAUNCH_TIMEOUT_S) -> Browser:
    """Debian's chromium, headless, through Playwright; a one-line error naming what failed when it does not start."""
    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError("chromium is not installed: `make browser` installs Debian's")
    try:
        return playwright.chromium.launch(executable_path=binary, args=list(CHROMIUM_FLAGS), timeout=timeout * 1000)
    except PlaywrightError as exc:
        first_line = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise RuntimeError(
            f"chromium ({binary}) did not start (launch timeout {timeout:.0f} s): {first_line}"
        ) from None


def new_context(browser: Browser, width: int = 1440, height: int = 2000) -> BrowserContext:
    return browser.new_context(viewport={"width": width, "height": height})


def open_page(page: Page, url: str, timeout: float = 120) -> None:
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"only loopback URLs are opened: {url}")
    page.goto(url, timeout=timeout * 1000)


def wait_rendered(page: Page, timeout: float = 120) -> dict:
    """Wait until the page's Streamlit run is over and its charts are drawn (see `_RENDERED_JS`); returns its title,
    KPI tiles, exception boxes and rendered text."""
    try:
        page.wait_for_function(_RENDERED_JS, polling=50, timeout=timeout * 1000)
    except PlaywrightTimeoutError:
        state = page.evaluate(_PAGE_STATE_JS)
        raise TimeoutError(
            f"{page.url} did not finish rendering within {timeout:.0f} s: title {state['title']!r}, "
            f"exceptions {state['exceptions']}"
        ) from None
    return page.evaluate(_PAGE_STATE_JS)


def times_to_first(context: BrowserContext, url: str, selector: str, loads: int, timeout: float = 120) -> list[float]:
    """Open `url` `loads` times in one tab of `context` (a new Streamlit session each, the browser's cache kept) and
    return, for each, the milliseconds from the start of the navigation until an element matching the CSS `selector`
    is in the DOM (measured by the page's own clock)."""
    page = context.new_page()
    try:
        page.add_init_script(_FIRST_SEEN_JS % json.dumps(selector))
        times = []
        for _ in range(loads):
            open_page(page, url, timeout)
            seen = page.wait_for_function("window.__firstSeen", polling=20, timeout=timeout * 1000)
            times.append(float(seen.json_value()))
        return times
    finally:
        page.close()
