"""KPI targets: the defaults beside this module (targets.toml), overridden KPI by KPI by `targets.toml` in the
data directory. One place for them, so that the alerts and anything else that shows a target agree."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import paths

DEFAULTS = Path(__file__).with_name("targets.toml")


class TargetsError(Exception):
    """A targets file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Target:
    kpi: str
    min: float | None = None  # the value should be at least this
    max: float | None = None  # ... at most this

    def missed_by(self, value: float) -> bool:
        return (self.min is not None and value < self.min) or (self.max is not None and value > self.max)

    @property
    def bound(self) -> tuple[str, float]:
        """("min" or "max", the number): what the text and the JSON show (min first when a target has both)."""
        return ("min", self.min) if self.min is not None else ("max", self.max)  # type: ignore[return-value]


def override_path() -> Path:
    return paths().kpi_targets


def load_targets(override: Path | None = None) -> dict[str, Target]:
    """The targets in force: the defaults, then the data directory's file over them."""
    targets = _parse(DEFAULTS)
    override = override_path() if override is None else override
    if override.is_file():
        for kpi, target in _parse(override, allow_empty=True).items():
            if target is None:
                targets.pop(kpi, None)
            else:
                targets[kpi] = target
    return targets


def _parse(path: Path, allow_empty: bool = False) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TargetsError(f"{path}: {exc}") from None
    targets: dict[str, Target | None] = {}
    for kpi, table in data.items():
        if not isinstance(table, dict):
            raise TargetsError(f"{path}: {kpi} must be a table such as [{kpi}] with min = or max =")
        unknown = set(table) - {"min", "max"}
        if unknown:
            raise TargetsError(f"{path}: [{kpi}] has {', '.join(sorted(unknown))}; only min and max are read")
        bounds = {}
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TargetsError(f"{path}: [{kpi}] {key} must be a number, not {value!r}")
            bounds[key] = float(value)
        if not bounds and not allow_empty:
            raise TargetsError(f"{path}: [{kpi}] has neither min nor max")
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            raise TargetsError(f"{path}: [{kpi}] min is above max")
        targets[kpi] = Target(kpi, **bounds) if bounds else None
    return targets
