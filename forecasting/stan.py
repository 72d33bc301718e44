"""Prophet's compiled Stan model, run as a CmdStan command line, quietly.

Prophet's backend runs this same binary (shipped in the prophet wheel) through cmdstanpy. Calling it
directly skips what cmdstanpy adds to every call: parsing the ~700 `trend` output columns into frames
(about a fifth of a fit) and logging each run at INFO on its own stderr handler, the log lines a run
must not print. The package is located without being imported: `import prophet` pulls in pandas and
logs an error about plotly, for nothing a worker needs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

QUIET_LOGGERS = ("cmdstanpy", "prophet")


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Silence cmdstanpy and prophet, their child loggers included (`disabled` does not inherit), around a
    batch, and restore them afterwards: a caller's own logging is left as it was. Nothing here goes
    through either package, so nothing should log; this keeps it so if a worker has them imported."""
    known = logging.root.manager.loggerDict
    names = [n for n in known if n.split(".")[0] in QUIET_LOGGERS] + list(QUIET_LOGGERS)
    loggers = [logging.getLogger(n) for n in dict.fromkeys(names)]
    before = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, before, strict=True):
            lg.disabled = was


class StanProgram:
    """One private temp dir of data, init and output files; one process per fit (CmdStan's way)."""

    def __init__(self, tol_rel_obj: float | None = None) -> None:
        self.tol_rel_obj = tol_rel_obj
        base = Path(importlib.util.find_spec("prophet").submodule_search_locations[0]) / "stan_model"
        self._exe = str(base / "prophet_model.bin")
        self._dir = tempfile.mkdtemp(prefix="forecast-stan-")

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def optimize(self, data: dict, init: dict) -> dict[str, np.ndarray]:
        """MAP estimate, with Prophet's settings: L-BFGS (Newton under 100 rows, and where L-BFGS fails)."""
        files = {
            name: os.path.join(self._dir, f"{name}.{ext}")
            for name, ext in (("data", "json"), ("init", "json"), ("output", "csv"))
        }
        _write_json(files["data"], data)
        _write_json(files["init"], init)
        algorithm = "newton" if data["T"] < 100 else "lbfgs"
        done = self._run(algorithm, files)
        if done.returncode != 0 and algorithm == "lbfgs":
            done = self._run("newton", files)
        if done.returncode != 0:
            raise RuntimeError(f"Stan optimisation failed: {done.stdout[-500:]!r}")
        header, values = _last_rows(files["output"])
        out: dict[str, list[float]] = {}
        for column, value in zip(header, values, strict=True):
            out.setdefault(column.split(".")[0], []).append(value)
        return {name: np.array(out[name]) for name in ("k", "m", "delta", "beta", "sigma_obs")}

    def _run(self, algorithm: str, files: dict[str, str]) -> subprocess.CompletedProcess:
        tol = [f"tol_rel_obj={self.tol_rel_obj:g}"] if self.tol_rel_obj and algorithm == "lbfgs" else []
        args = [
            self._exe,
            "optimize",
            f"algorithm={algorithm}",
            *tol,
            "iter=10000",
            "data",
            f"file={files['data']}",
            f"init={files['init']}",
            "output",
            f"file={files['output']}",
        ]
        return subprocess.run(args, capture_output=True, text=True, cwd=self._dir)


def _last_rows(path: str) -> tuple[list[str], list[float]]:
    """Header and values of a CmdStan optimisation csv (comment lines start with '#')."""
    with open(path) as f:
        rows = [line for line in f if line.strip() and not line.startswith("#")]
    return rows[0].strip().split(","), [float(v) for v in rows[-1].strip().split(",")]


try:  # ~10x faster than the stdlib writer below; both write every float so it reads back bit for bit
    import orjson

    def _write_json(path: str, values: dict) -> None:
        with open(path, "wb") as f:
            f.write(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY))

except ImportError:  # pragma: no cover - orjson comes with dagster-dbt

    def _json_value(v) -> str:
        if isinstance(v, np.ndarray):
            if v.ndim == 2:  # full precision: a fit is that sensitive to its data's last digits
                row = ",".join(["%.17g"] * v.shape[1])
                return "[" + ",".join("[" + row % tuple(r) + "]" for r in v.tolist()) + "]"
            return "[" + ",".join(map(repr, v.tolist())) + "]"
        return repr(v.item() if isinstance(v, np.generic) else v)

    def _write_json(path: str, values: dict) -> None:
        with open(path, "w") as f:
            f.write("{" + ",".join(f'"{k}":{_json_value(v)}' for k, v in values.items()) + "}")
