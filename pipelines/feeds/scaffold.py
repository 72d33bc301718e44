"""`scm init`: a data directory with a landing folder per feed of the contract and, in each, an example
profile whose every key is commented out.

An all-comments `_profile.yml` is no profile: the folder loads contract-shaped files unchanged until the
user uncomments what their export needs. The example is written from the contract, so it names the feed's
own columns and code lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.feeds.contract import FEEDS, Feed
from pipelines.feeds.profile import PROFILE_FILE
from pipelines.settings import Paths


@dataclass
class InitResult:
    data_dir: Path
    created: list[Path] = field(default_factory=list)  # folders and profiles written
    kept: list[Path] = field(default_factory=list)  # profiles that existed and were left as they were


def example_profile(feed: Feed) -> str:
    """The commented example profile of one feed: every key shown, none in effect."""
    code_lists = [r for r in feed.all_rules() if r.kind == "in_set"]
    required = [c for c in feed.columns if not c.nullable]
    lines = [
        f"# Profile for the {feed.name} feed: how the files of this folder map onto the contract",
        "# (docs/feed-contract.md, 'Mapping your own exports'). Everything below is commented out, so files",
        "# with the contract's columns load unchanged. Uncomment what your export needs; `scm check` on this",
        "# folder shows what would load before anything does, and `scm profile suggest FILE --feed "
        f"{feed.name}` drafts one.",
        "#",
        "# A built-in profile for a well-known export instead of the keys below:",
        "# profile: NAME",
        "#",
        "# format: csv                # csv | parquet | xlsx",
        "# sheet: Sheet1              # xlsx only: the sheet to read",
        "# csv:",
        '#   delimiter: ";"',
        '#   decimal: ","',
        '#   thousands: "."',
        "#   encoding: cp1252         # utf-8 | utf-8-sig | cp1252 | latin-1 | utf-16",
        "#   skip_rows: 0             # lines above the header",
        "#",
        "# columns:                   # contract column: a source column, a constant, or DuckDB SQL over the row",
    ]
    for i, c in enumerate(feed.columns):
        optional = ", optional" if c.nullable else ""
        if i == 0:
            value = '"Source column name"'
        elif c.dtype == "date":
            value = '{sql: "try_strptime(\\"Source Date\\", \'%d.%m.%Y\')::date"}'
        else:
            value = '"..."'
        lines.append(f"#   {c.name}: {value}  # {c.dtype}{optional}")
    lines.append("#   # a constant for every row: {value: MAIN}; DuckDB SQL over the source row, its columns quoted:")
    lines.append("#   # {sql: \"case when \\\"Delivered\\\" is null then 'open' else 'delivered' end\"}")
    lines += ["#", "# values:                    # code lists: source value -> contract value, per column"]
    for rule in code_lists:
        lines.append(f"#   {rule.column}: {{SOURCE_CODE: {rule.values[0]}}}  # one of {', '.join(rule.values)}")
    if not code_lists:
        lines.append("#   column: {SOURCE_CODE: contract_value}")
    lines += ["#", "# defaults:                  # a value for a required column the export does not have"]
    lines.append(f"#   {required[-1].name if required else feed.columns[0].name}: ...")
    return "\n".join(lines) + "\n"


def init_data_dir(data_dir: Path, landing: Path | None = None) -> InitResult:
    """Create `data_dir` with `landing/<feed>/` and its example profile for every feed of the contract; an
    existing profile is never overwritten."""
    landing = landing or Paths(data_dir).own_landing
    result = InitResult(data_dir)
    for feed in FEEDS.values():
        folder = landing / feed.name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            result.created.append(folder)
        profile = folder / PROFILE_FILE
        if profile.exists():
            result.kept.append(profile)
            continue
        profile.write_text(example_profile(feed), encoding="utf-8")
        result.created.append(profile)
    return result


def next_steps(result: InitResult, landing: Path, default: bool) -> str:
    """What was made and what to do next; `default`: the data directory is the one scm uses now."""
    lines = [f"data directory {result.data_dir}"]
    lines += [f"  created {p}" for p in result.created]
    lines += [f"  kept {p} (it exists; not overwritten)" for p in result.kept]
    lines += [
        "",
        "next:",
        f"  1. put each system's exports in its feed's folder under {landing} (orders/, products/, ...)",
        "  2. if a file does not have the contract's columns, draft a profile for it:",
        "       scm profile suggest FILE --feed FEED --out <folder>/_profile.yml   (then confirm every guess)",
        f"  3. see what would load, without loading anything:  scm check {landing}",
        "  4. load and build everything:  scm run   (then scm dashboard)",
    ]
    if not default:
        lines.append(f"  (scm uses $SCM_DATA_DIR, else ./data: first  export SCM_DATA_DIR={result.data_dir})")
    return "\n".join(lines) + "\n"
