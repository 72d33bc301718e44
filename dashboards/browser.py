"""Serve the dashboards and look at them in headless Chromium: what the browser test and the benchmark use.

`streamlit_server` runs `streamlit run dashboards/app.py` on a free loopback port until /_stcore/health answers.
`Chromium` starts Debian's chromium headless with a throwaway profile and drives one tab over the Chrome DevTools
Protocol (a websocket to localhost), because Streamlit draws the page in the browser from messages on its own
websocket: `chromium --dump-dom` would mostly see the empty shell before the script has run.

Only loopback URLs are opened; the browser runs with background networking, sync and component updates off.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from websockets.sync.client import connect as ws_connect

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

# A page has rendered when its title is there, no script run is under way, and the element tree has stopped
# changing (see `Chromium.wait_rendered`). Streamlit marks elements of the previous run as stale while it reruns.
_PAGE_STATE_JS = """(() => {
  const q = (s) => document.querySelectorAll(s);
  const h1 = document.querySelector('h1');
  return {
    title: h1 ? h1.innerText.trim() : null,
    metrics: Array.from(q('[data-testid="stMetric"]')).map(m => ({
      label: (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
      value: (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || ''})),
    exceptions: Array.from(q('[data-testid="stException"]')).map(e => e.innerText.slice(0, 500)),
    running: !!document.querySelector('[data-testid="stStatusWidget"] button') ||
             q('[data-stale="true"]').length > 0 || q('[data-testid="stSkeleton"]').length > 0,
    charts: q('[data-testid="stVegaLiteChart"]').length,
    drawn: q('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks').length,
    size: document.body ? document.body.innerText.length + q('*').length : 0,
  };
})()"""


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
    return shutil.which("chromium") or (("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
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


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log: Path, port: int | None = None, timeout: float = 60) -> Iterator[str]:
    """Serve the dashboards with `env` (SCM_DATA_DIR says which snapshot); yields the base URL."""
    port = port or free_port()
    cmd = streamlit_command("127.0.0.1", port)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


class Chromium:
    """One headless Chromium tab driven over the DevTools protocol."""

    # The first start on a fresh machine (binary and fonts not yet in the page cache) on busy cores is slow;
    # later starts are quick. The timeout is for the first.
    def __init__(self, profile: Path, width: int = 1440, height: int = 1600, timeout: float = 180):
        binary = chromium_path()
        if binary is None:
            raise FileNotFoundError("chromium is not installed: run `make browser`")
        profile.mkdir(parents=True, exist_ok=True)
        self._log = (profile / "chromium.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self.ws = None
        try:
            port = self._devtools_port(profile / "DevToolsActivePort", timeout)
            targets = json.loads(_wait_http(f"http://127.0.0.1:{port}/json/list", timeout, self.proc))
            page = next(t for t in targets if t["type"] == "page")
            self.ws = ws_connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout)
            self.send("Page.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, marker: Path, timeout: float) -> int:
        # With --remote-debugging-port=0 Chromium picks a free port and writes it to the profile.
        deadline = time.monotonic() + timeout
        while not (marker.exists() and marker.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self._last_log_line()}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"chromium did not open its DevTools port in {timeout:.0f} s: {self._last_log_line()}"
                )
            time.sleep(0.05)
        return int(marker.read_text().split()[0])

    def _last_log_line(self) -> str:
        self._log.flush()
        lines = Path(self._log.name).read_text(errors="replace").splitlines()
        return f"{lines[-1] if lines else '(no output)'} (log: {self._log.name})"

    def send(self, method: str, **params) -> dict:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == call_id:  # anything else is an event nobody asked for
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"javascript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"only loopback URLs are opened: {url}")
        self.send("Page.navigate", url=url)

    def page_state(self) -> dict:
        return self.evaluate(_PAGE_STATE_JS)

    def wait_for(self, predicate, timeout: float = 60, interval: float = 0.02) -> dict:
        """Poll the page state until `predicate(state)` holds; returns that state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.page_state()
            if predicate(state):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"page did not get there within {timeout:.0f} s: {state}")
            time.sleep(interval)

    def wait_rendered(self, timeout: float = 60, settle: float = 1.0) -> dict:
        """Wait until the page has a title, is not running, has drawn its charts, and has not changed for `settle`
        seconds (charts draw after the script has finished)."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            state = self.page_state()
            ready = state["title"] and not state["running"] and state["drawn"] >= state["charts"]
            key = (state["title"], state["size"], state["drawn"], len(state["metrics"]))
            if key != last:
                last, since = key, time.monotonic()
            elif ready and time.monotonic() - since >= settle:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"page did not settle within {timeout:.0f} s: {state}")
            time.sleep(0.1)

    def time_to_first(self, url: str, selector: str, timeout: float = 120) -> float:
        """Open `url` and return the milliseconds from the start of the navigation until an element matching the CSS
        `selector` is in the DOM (measured by the page's own clock)."""
        script = self.send("Page.addScriptToEvaluateOnNewDocument", source=_FIRST_SEEN_JS % json.dumps(selector))
        try:
            self.navigate(url)
            deadline = time.monotonic() + timeout
            while (seen := self.evaluate("window.__firstSeen === undefined ? null : window.__firstSeen")) is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{selector} did not appear on {url} within {timeout:.0f} s")
                time.sleep(0.02)
            return float(seen)
        finally:
            self.send("Page.removeScriptToEvaluateOnNewDocument", identifier=script["identifier"])

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close()
        _stop(self.proc)
        self._log.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def browser_env(data_dir: Path) -> dict[str, str]:
    """The environment a dashboard server on `data_dir` runs with."""
    return {**os.environ, "SCM_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}
