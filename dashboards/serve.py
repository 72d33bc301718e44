"""The one way the dashboards are served (`scm dashboard`, the browser tests and the benchmark)."""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def streamlit_command(host: str, port: int) -> list[str]:
    """Streamlit on host:port, headless, without usage statistics or the developer toolbar (Deploy,
    rerun settings): the people reading these pages are not the ones changing them."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
