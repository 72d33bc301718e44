"""The one way the dashboards are served (`scm dashboard`, the browser tests and the benchmark).

`scm dashboard` starts this file by its path (`python dashboards/serve.py --host H --port P`), so the
pipeline's code never imports the dashboards'; the tests and the benchmark import `streamlit_command`.

`streamlit run dashboards/server.py`: that file is an `st.App` around app.py, which `streamlit run` finds
and serves with uvicorn (Streamlit's own Starlette server), so that every HTTP response can carry
`FRAME_HEADERS` through `FrameHeaders`: no other site may show the dashboards in a frame (a page of
another origin framing them could overlay what the reader sees and clicks). Every server option is given
on the command line as before; `streamlit run` applies them to the App too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SERVER = Path(__file__).resolve().with_name("server.py")

# Framing by the dashboards' own origin only: X-Frame-Options for browsers that predate CSP's
# frame-ancestors, which newer browsers obey instead.
FRAME_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
}


def streamlit_command(host: str, port: int) -> list[str]:
    """Streamlit on host:port, headless, without usage statistics or the developer toolbar (Deploy,
    rerun settings): the people reading these pages are not the ones changing them."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SERVER),
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


class FrameHeaders:
    """ASGI middleware setting FRAME_HEADERS on every HTTP response (a websocket has no response headers to
    set). A Content-Security-Policy already there keeps its other directives."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_frame_headers(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_frame_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """ASGI response headers with FRAME_HEADERS set (names compared without case, as HTTP does)."""
    policy = FRAME_HEADERS["Content-Security-Policy"].encode()
    out, has_csp = [], False
    for name, value in headers:
        if name.lower() == b"x-frame-options":
            continue
        if name.lower() == b"content-security-policy":
            # Its other directives stay; any frame-ancestors of its own gives way to ours.
            kept = [
                d.strip()
                for d in value.split(b";")
                if d.strip() and not d.strip().lower().startswith(b"frame-ancestors")
            ]
            value, has_csp = b"; ".join([*kept, policy]), True
        out.append((name, value))
    out.append((b"x-frame-options", FRAME_HEADERS["X-Frame-Options"].encode()))
    if not has_csp:
        out.append((b"content-security-policy", policy))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the dashboards (what `scm dashboard` runs).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args()
    command = streamlit_command(args.host, args.port)
    os.execv(command[0], command)  # Streamlit takes this process: Ctrl-C and the exit code are its own


if __name__ == "__main__":
    main()
